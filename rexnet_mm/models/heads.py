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
    """

    def __init__(self, num_classes: int, in_channels: int, mid_channels: Optional[int] = None,
                 dropout_rate: float = 0.2,
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

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        x = feats[-1]
        if self.hidden is not None:
            x = self.hidden(x)
        return x

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.fc(self.dropout(self.pre_logits(feats)))
