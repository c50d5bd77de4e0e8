"""The released ReXNet classifiers as an mmpretrain head (needs mmpretrain)."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmpretrain.models.heads import ClsHead


class ReXNetClsHead(ClsHead):
    """Classifier of the released ReXNets, on globally pooled features.

    V1 (``mid_channels=None``): dropout -> linear.
    lite (``mid_channels=1024``): linear -> BN -> ReLU6 -> dropout -> linear.
    The official 1x1-conv classifiers convert to these linears exactly.

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the pooled feature (the head conv).
        mid_channels (int, optional): hidden width of the lite head.
        dropout_rate (float): dropout before the last linear. Default 0.2.
        deploy (bool): build the fused form :meth:`switch_to_deploy` leaves
            (the lite head's BN folded into its hidden linear). Default False.
    """

    def __init__(self, num_classes: int, in_channels: int, mid_channels: Optional[int] = None,
                 dropout_rate: float = 0.2, deploy: bool = False,
                 init_cfg=dict(type='Normal', layer='Linear', std=0.01), **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        for name, v in (('num_classes', num_classes), ('in_channels', in_channels)):
            if not isinstance(v, int) or v <= 0:
                raise ValueError(f'{name} must be a positive int, but got {v!r}')
        if not 0 <= dropout_rate < 1:
            raise ValueError(f'dropout_rate must be in [0, 1), but got {dropout_rate!r}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.mid_channels = mid_channels
        if mid_channels is not None:
            self.hidden = nn.Sequential(
                nn.Linear(in_channels, mid_channels), nn.BatchNorm1d(mid_channels),
                nn.ReLU6(inplace=True))
            last_in = mid_channels
        else:
            self.hidden = None
            last_in = in_channels
        self.dropout = nn.Dropout(dropout_rate)
        self.fc = nn.Linear(last_in, num_classes)
        self.deploy = False
        if deploy:
            self._fuse(numbers=False)

    def _fuse(self, numbers: bool) -> None:
        if self.hidden is not None and isinstance(self.hidden[1], nn.BatchNorm1d):
            if numbers:
                from .rexnet import fold_bn
                w, b = fold_bn(self.hidden[0].weight, self.hidden[0].bias, self.hidden[1])
                self.hidden[0].weight.data.copy_(w)
                self.hidden[0].bias.data.copy_(b)
            self.hidden[1] = nn.Identity()
        self.deploy = True

    def switch_to_deploy(self) -> None:
        """Fold the lite head's BN into its hidden linear (eval outputs
        unchanged); the V1 head has nothing to fold. Call it in eval mode."""
        if self.deploy:
            return
        if self.training:
            raise RuntimeError('ReXNetClsHead.switch_to_deploy() folds the BN running '
                               'statistics: call model.eval() first (it is in training mode)')
        self._fuse(numbers=True)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        if self.deploy and self.training and torch.is_grad_enabled():
            raise RuntimeError('ReXNetClsHead is fused for deployment and cannot train: build '
                               'it with deploy=False and load the unfused checkpoint')
        x = feats[-1]
        if self.hidden is not None:
            x = self.hidden(x)
        return x

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.fc(self.dropout(self.pre_logits(feats)))
