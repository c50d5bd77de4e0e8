"""The released ReXNet classifiers as an mmpretrain head (needs mmpretrain)."""
from typing import Optional, Tuple, Union

import torch
from mmpretrain.models.heads import ClsHead

from .classifier import ReleasedClassifier, classifier_widths


class ReXNetClsHead(ReleasedClassifier, ClsHead):
    """Classifier of the released ReXNets, on globally pooled features
    (:mod:`rexnet_mm.models.classifier`): V1 and rexnetr dropout -> linear;
    lite linear -> BN -> ReLU6 -> dropout -> linear.

    Args:
        num_classes (int): number of classes.
        in_channels (int, optional): channels of the pooled feature (the head
            conv), when ``arch`` is not given.
        mid_channels (int, optional): hidden width (lite: 1024), when
            ``arch`` is not given. None: no hidden layer.
        dropout_rate (float): dropout before the last linear. Default 0.2.
        deploy (bool): build the fused form :meth:`switch_to_deploy` leaves
            (the lite head's BN folded into its hidden linear). Default False.
        arch (str | dict, optional): the backbone's arch: ``in_channels`` and
            ``mid_channels`` then come from its schedule (give neither). What
            the configs use.
    """

    def __init__(self, num_classes: int, in_channels: Optional[int] = None,
                 mid_channels: Optional[int] = None, dropout_rate: float = 0.2,
                 deploy: bool = False, arch: Optional[Union[str, dict]] = None,
                 init_cfg=dict(type='Normal', layer='Linear', std=0.01), **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        if arch is not None:
            if in_channels is not None or mid_channels is not None:
                raise ValueError(
                    f'ReXNetClsHead: give arch ({arch!r}) or in_channels/mid_channels, not both '
                    f'(got in_channels={in_channels!r}, mid_channels={mid_channels!r}): the arch '
                    'sets both widths')
            in_channels, mid_channels = classifier_widths(arch)
        elif in_channels is None:
            raise ValueError('ReXNetClsHead needs arch (the backbone\'s, e.g. arch=\'1.0x\') '
                             'or in_channels')
        self.arch = arch
        self._build_classifier(in_channels, num_classes, mid_channels, dropout_rate, deploy)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self._hidden_features(feats[-1])

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self._logits(feats[-1])
