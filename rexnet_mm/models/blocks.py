"""ReXNet's bricks: the SE block with a BN inside, and the linear bottleneck
with its partial residual. Every width comes from the schedule
(:mod:`rexnet_mm.models.channels`)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule

from .channels import BlockSpec
from .layers import fold_bn, inplace_act_cfg, is_tracing


class SEWithNorm(BaseModule):
    """ReXNet's squeeze-and-excitation: pool -> conv(bias) -> BN -> act ->
    conv(bias) -> sigmoid -> scale. Note the BN inside (as released).

    Args:
        channels (int): channels of the block's depthwise output.
        mid_channels (int, optional): width in the middle; None means
            ``channels // ratio`` (the block passes its schedule's width).
        ratio (int): reduction, used when ``mid_channels`` is None. Default 12.
        norm_cfg (dict): the norm after the first conv. Default BN.
        act_cfg (dict): the activation after it, as mmpretrain's ``SELayer``
            takes. Default ReLU (the release's).
    """

    def __init__(self, channels: int, mid_channels: Optional[int] = None, ratio: int = 12,
                 norm_cfg: dict = dict(type='BN'), act_cfg: dict = dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(init_cfg)
        if mid_channels is None:
            mid = channels // ratio
            if mid < 1:
                raise ValueError(f'SEWithNorm: ratio={ratio} leaves no channel in the SE of a '
                                 f'{channels}-channel block; use a smaller ratio')
        elif isinstance(mid_channels, bool) or not isinstance(mid_channels, int) or \
                mid_channels < 1:
            raise ValueError(f'SEWithNorm: mid_channels must be a positive int, but got '
                             f'{mid_channels!r}')
        else:
            mid = mid_channels
        self.conv1 = nn.Conv2d(channels, mid, 1, bias=True)
        self.norm_name, norm = build_norm_layer(norm_cfg, mid)
        self.add_module(self.norm_name, norm)
        self.act = build_activation_layer(inplace_act_cfg(act_cfg))  # on the BN output
        self.conv2 = nn.Conv2d(mid, channels, 1, bias=True)

    def fuse(self, numbers: bool = True) -> None:
        """Fold the BN into conv1 (deploy)."""
        norm = getattr(self, self.norm_name)
        if isinstance(norm, nn.Identity):
            return
        if numbers:
            w, b = fold_bn(self.conv1.weight, self.conv1.bias, norm)
            self.conv1.weight.data.copy_(w)
            self.conv1.bias.data.copy_(b)
        setattr(self, self.norm_name, nn.Identity())

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = self.act(getattr(self, self.norm_name)(self.conv1(s)))
        s = self.conv2(s).sigmoid()
        # eager without autograd: nothing needs x again, so scale it in place
        # (no new feature-map allocation on the inference path)
        if torch.is_grad_enabled() or is_tracing():
            return x * s
        return x.mul_(s)


class LinearBottleneck(BaseModule):
    """ReXNet's block: [1x1 expand, act] -> 3x3 depthwise, BN -> [SE] -> ReLU6
    -> 1x1 project, BN; with stride 1 and in <= out a partial residual adds the
    input to the first ``in`` output channels. Every width comes from
    ``spec`` (the schedule's :class:`BlockSpec`)."""

    def __init__(self, spec: BlockSpec, *, conv_cfg=None, norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='SiLU'), dw_act_cfg: dict = dict(type='ReLU6'),
                 drop_path_rate: float = 0., with_cp: bool = False,
                 stride: Optional[int] = None, dilation: int = 1, init_cfg=None):
        super().__init__(init_cfg)
        # the residual follows the released block, also where output_stride
        # turned its stride into a dilation
        stride = spec.stride if stride is None else stride
        self.in_channels = spec.in_channels
        self.out_channels = spec.out_channels
        self.use_shortcut = spec.stride == 1 and spec.in_channels <= spec.out_channels
        self.with_cp = with_cp
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        mid = spec.mid_channels
        if spec.expand_ratio != 1:
            self.conv_exp = ConvModule(spec.in_channels, mid, 1, act_cfg=act_cfg, **common)
        else:
            self.conv_exp = None
        self.conv_dw = ConvModule(mid, mid, 3, stride=stride, padding=dilation,
                                  dilation=dilation, groups=mid, act_cfg=None, **common)
        self.se = SEWithNorm(mid, mid_channels=spec.se_channels,
                             norm_cfg=norm_cfg) if spec.use_se else None
        # in place: its input (BN or SE output) is not needed by autograd
        self.act_dw = build_activation_layer(inplace_act_cfg(dw_act_cfg))
        self.conv_pwl = ConvModule(mid, spec.out_channels, 1, act_cfg=None, **common)
        self.drop_path = DropPath(drop_path_rate) if (
            drop_path_rate > 0 and self.use_shortcut) else nn.Identity()

    def _forward(self, x):
        out = x if self.conv_exp is None else self.conv_exp(x)
        out = self.conv_dw(out)
        if self.se is not None:
            out = self.se(out)
        out = self.conv_pwl(self.act_dw(out))
        if self.use_shortcut:
            out = self.drop_path(out)
            c = self.in_channels
            if is_tracing():  # the functional form (graphs, ONNX)
                if c == self.out_channels:
                    return out + x
                return torch.cat([out[:, :c] + x, out[:, c:]], 1)
            # eager: in place, as released (cheaper than a concat of two slices)
            out[:, :c] += x
        return out

    def forward(self, x):
        if self.with_cp and self.training and torch.is_grad_enabled():
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)
