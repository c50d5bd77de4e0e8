"""The released ReXNet classifier on globally pooled features, defined once.

- V1 and rexnetr: dropout -> linear.
- lite: linear to ``Schedule.cls_mid_channels`` (1024) -> BN -> ReLU6 ->
  dropout -> linear.

The official 1x1-conv classifiers convert to these linears exactly. Torch only:
mmpretrain's :class:`~rexnet_mm.models.heads.ReXNetClsHead`, the plain
:class:`ReXNetClassifierHead`, the checkpoint converter and the complexity
counting all build it from here.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn

from .channels import build_schedule
from .layers import fold_bn


def classifier_widths(arch: Union[str, dict]) -> Tuple[int, Optional[int]]:
    """(in_channels, mid_channels) of the released classifier of ``arch``."""
    sched = build_schedule(arch)
    return sched.head_channels, sched.cls_mid_channels


class ReleasedClassifier:
    """Mixin for an ``nn.Module``: the layers ``hidden`` (lite only; None for
    V1), ``dropout`` and ``fc`` (these names are the checkpoint keys), and
    the BN fold of :meth:`switch_to_deploy`."""

    def _build_classifier(self, in_channels: int, num_classes: int,
                          mid_channels: Optional[int], dropout_rate: float,
                          deploy: bool = False) -> None:
        for name, v in (('num_classes', num_classes), ('in_channels', in_channels),
                        ('mid_channels', mid_channels)):
            if v is None and name == 'mid_channels':
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f'{name} must be a positive int, but got {v!r}')
        if not isinstance(dropout_rate, (int, float)) or not 0 <= dropout_rate < 1:
            raise ValueError(f'dropout_rate must be in [0, 1), but got {dropout_rate!r}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.mid_channels = mid_channels
        if mid_channels is not None:
            self.hidden = nn.Sequential(
                nn.Linear(in_channels, mid_channels), nn.BatchNorm1d(mid_channels),
                nn.ReLU6(inplace=True))
        else:
            self.hidden = None
        self.dropout = nn.Dropout(dropout_rate)
        self.fc = nn.Linear(mid_channels or in_channels, num_classes)
        self.deploy = False
        if deploy:
            self._fuse(numbers=False)

    def _fuse(self, numbers: bool) -> None:
        if self.hidden is not None and isinstance(self.hidden[1], nn.BatchNorm1d):
            if numbers:
                w, b = fold_bn(self.hidden[0].weight, self.hidden[0].bias, self.hidden[1])
                self.hidden[0].weight.data.copy_(w)
                self.hidden[0].bias.data.copy_(b)
            self.hidden[1] = nn.Identity()
        self.deploy = True

    def switch_to_deploy(self) -> None:
        """Fold the lite classifier's BN into its hidden linear (eval outputs
        unchanged); V1 has nothing to fold. Call it in eval mode."""
        if self.deploy:
            return
        if self.training:
            raise RuntimeError(f'{type(self).__name__}.switch_to_deploy() folds the BN running '
                               'statistics: call model.eval() first (it is in training mode)')
        self._fuse(numbers=True)

    def _hidden_features(self, x: torch.Tensor) -> torch.Tensor:
        if self.deploy and self.training and torch.is_grad_enabled():
            raise RuntimeError(f'{type(self).__name__} is fused for deployment and cannot '
                               'train: build it with deploy=False and load the unfused '
                               'checkpoint')
        return x if self.hidden is None else self.hidden(x)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self._hidden_features(x)))


class ReXNetClassifierHead(ReleasedClassifier, nn.Module):
    """The released classifier as a plain module: pooled features [N, C] ->
    logits. ``ReXNetClassifierHead.from_arch('lite-1.0x', 1000)`` takes the
    widths from the schedule."""

    def __init__(self, in_channels: int, num_classes: int,
                 mid_channels: Optional[int] = None, dropout_rate: float = 0.2,
                 deploy: bool = False):
        super().__init__()
        self._build_classifier(in_channels, num_classes, mid_channels, dropout_rate, deploy)

    @classmethod
    def from_arch(cls, arch: Union[str, dict], num_classes: int = 1000, **kwargs):
        in_channels, mid_channels = classifier_widths(arch)
        return cls(in_channels, num_classes, mid_channels, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._logits(x)
