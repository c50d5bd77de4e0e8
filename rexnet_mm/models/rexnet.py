"""ReXNet backbone (Han et al., "Rethinking Channel Dimensions for Efficient
Model Design", CVPR 2021) for OpenMMLab: V1 0.9x-3.0x, lite 1.0x-2.0x and
timm's rexnetr 1.0x-3.0x."""
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from .blocks import LinearBottleneck, SEWithNorm
from .channels import NUM_OUTPUTS, NUM_STAGES, build_schedule, out_strides, stage_strides
from .layers import fuse_conv_module, is_exporting, is_tracing
from .weights import load_strict, pretrained_last


def _check_args(out_indices, frozen_stages, drop_path_rate, memory_format) -> tuple:
    """ReXNet's arguments checked (the schedule checks ``arch``); returns
    ``out_indices`` as a tuple."""
    if isinstance(out_indices, int):
        out_indices = (out_indices, )
    if (not isinstance(out_indices, (list, tuple)) or not out_indices
            or any(isinstance(i, bool) or not isinstance(i, int)
                   or not 0 <= i < NUM_OUTPUTS for i in out_indices)):
        raise ValueError(f'out_indices must be a non-empty sequence of ints in '
                         f'range(0, {NUM_OUTPUTS}), but got {out_indices!r}')
    if len(set(out_indices)) != len(out_indices):
        raise ValueError(f'out_indices must not repeat an index, but got {out_indices!r}')
    if (isinstance(frozen_stages, bool) or not isinstance(frozen_stages, int)
            or not -1 <= frozen_stages <= NUM_STAGES):
        raise ValueError(f'frozen_stages must be an int in range(-1, {NUM_STAGES + 1}), '
                         f'but got {frozen_stages!r}')
    if not isinstance(drop_path_rate, (int, float)) or not 0 <= drop_path_rate < 1:
        raise ValueError(f'drop_path_rate must be in [0, 1), but got {drop_path_rate!r}')
    if memory_format not in ('auto', 'channels_last', 'contiguous'):
        raise ValueError(f"memory_format must be 'auto', 'channels_last' or 'contiguous', "
                         f'but got {memory_format!r}')
    return tuple(out_indices)


class ReXNet(BaseModule):
    """ReXNet backbone.

    Args:
        arch (str | dict): a named variant (``ARCH_SETTINGS``): V1 '0.9x',
            '1.0x', '1.3x', '1.5x', '2.0x', '2.2x', '3.0x'; 'lite-1.0x',
            'lite-1.3x', 'lite-1.5x', 'lite-2.0x'; timm's rounded rexnetr
            'r-1.0x', 'r-1.3x', 'r-1.5x', 'r-2.0x', 'r-3.0x'. Or a dict with any
            of the keys of
            ``rexnet_mm.models.channels.ARCH_DEFAULTS`` (width_mult, depth_mult,
            lite, use_se, se_ratio, divisor, widths, ...). Default '1.0x'.
        out_indices (Sequence[int]): which outputs to return, in this order:
            0-5 the six stages (strides 2, 4, 8, 16, 16, 32), 6 the head conv
            (stride 32). No index may repeat. Default (6, ).
        frozen_stages (int): -1 freezes nothing; k >= 0 freezes the stem and
            the first k stages (parameters and BN statistics). Default -1.
        conv_cfg (dict, optional): conv layer config. Default None (Conv2d).
        norm_cfg (dict): norm layer config. Default dict(type='BN').
        act_cfg (dict, optional): activation of the stem, the expansion convs
            and the head conv. None means the arch's own: SiLU for V1, ReLU6
            for lite. Default None.
        dw_act_cfg (dict): activation of every block after its depthwise
            conv (and its SE, where it has one), before the projection: ReLU6
            in the release, V1 and lite alike (the SE's inner activation is
            its own, ReLU). Default dict(type='ReLU6').
        norm_eval (bool): keep BN layers in eval mode during training.
        with_cp (bool): gradient checkpointing per block (saves memory).
        drop_path_rate (float): stochastic depth, rising linearly over blocks
            to this value (applied on residual blocks). Default 0.
        deploy (bool): build the fused inference form that
            :meth:`switch_to_deploy` leaves (every BN folded into the conv
            before it), to load a checkpoint written by
            tools/model_converters/reparameterize_model.py. It cannot train.
            Default False.
        output_stride (int): 32 (as released), 16 or 8. Below 32 the later
            strided depthwise convs run at stride 1 and dilate instead (16:
            stage 6 by 2; 8: stages 4-5 by 2, stage 6 by 4), for dense
            prediction (DeepLabV3+). Weights are unchanged. Default 32.
        memory_format (str): layout the layers run in: 'channels_last',
            'contiguous' (NCHW) or 'auto' (channels_last on CPU, where oneDNN's
            depthwise convolutions are much faster in it; NCHW elsewhere and
            in ONNX / torch.export graphs, whose runtime picks its own
            layout). Outputs are always contiguous NCHW. Default 'auto'.
        init_cfg (dict | list[dict], optional): e.g. ``dict(type='Pretrained',
            checkpoint='checkpoints/rexnet_1.0x.pth')`` (or
            ``type='ReXNetPretrained'``), alone or in a list. The checkpoint
            is an official ReXNetV1 / lite or timm file (converted on the
            fly) or a rexnet_mm one (``prefix`` optional), loaded strictly
            after the other initialisers. Default: Kaiming convs, unit BNs.
    """

    def __init__(self,
                 arch: Union[str, dict] = '1.0x',
                 out_indices: Sequence[int] = (6, ),
                 frozen_stages: int = -1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: Optional[dict] = None,
                 dw_act_cfg: dict = dict(type='ReLU6'),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 drop_path_rate: float = 0.,
                 memory_format: str = 'auto',
                 output_stride: int = 32,
                 deploy: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None):
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu'),
                dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
            ]
        super().__init__(pretrained_last(init_cfg))
        self.arch = arch
        self.schedule = build_schedule(arch)
        out_indices = _check_args(out_indices, frozen_stages, drop_path_rate, memory_format)
        self.memory_format = memory_format
        self.output_stride = output_stride
        strides = stage_strides(output_stride)  # validates output_stride
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        if act_cfg is None:
            act_cfg = dict(type='ReLU6') if self.schedule.lite else dict(type='SiLU')
        sched = self.schedule

        self.stem = ConvModule(3, sched.stem_channels, 3, stride=2, padding=1,
                               conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        # Only what max(out_indices) needs is built (and run): an unused head
        # conv would leave DDP with parameters that get no gradient.
        self.num_layers = max(self.out_indices) + 1
        self.layers = []
        brick = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
                     dw_act_cfg=dw_act_cfg, with_cp=with_cp)
        for s in range(min(self.num_layers, NUM_STAGES)):
            name = f'layer{s + 1}'
            self.add_module(name, self._make_stage(s, strides[s], drop_path_rate, brick))
            self.layers.append(name)
        if self.num_layers > NUM_STAGES:
            self.conv_head = ConvModule(sched.blocks[-1].out_channels, sched.head_channels, 1,
                                        conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
            self.layers.append('conv_head')
        self._se_norms = [getattr(m, m.norm_name) for m in self.modules()
                          if isinstance(m, SEWithNorm)]
        self.deploy = False
        if deploy:
            self._fuse(numbers=False)
        self._freeze_stages()

    def _make_stage(self, s: int, stride_dilation, drop_path_rate: float,
                    brick: dict) -> nn.Sequential:
        """Stage ``s``'s blocks; drop-path grows linearly over all blocks."""
        stride, dilation = stride_dilation
        n = len(self.schedule.blocks)
        blocks = []
        for k, spec in enumerate(self.schedule.blocks):
            if spec.stage == s:
                blocks.append(LinearBottleneck(
                    spec, drop_path_rate=drop_path_rate * k / max(n - 1, 1),
                    stride=stride if not blocks else 1, dilation=dilation, **brick))
        return nn.Sequential(*blocks)

    @property
    def out_channels(self):
        """Channels of each returned output, in the order of out_indices."""
        return [self.schedule.out_channels[i] for i in self.out_indices]

    @property
    def out_strides(self):
        """Strides of each returned output, in the order of out_indices."""
        strides = out_strides(self.output_stride)
        return [strides[i] for i in self.out_indices]

    def _channels_last(self, x) -> bool:
        if self.memory_format == 'auto':
            return x.device.type == 'cpu' and not is_exporting()
        return self.memory_format == 'channels_last'

    # ------------------------------------------------------------- deploy
    def _fuse(self, numbers: bool) -> None:
        for m in self.modules():
            if isinstance(m, ConvModule):
                fuse_conv_module(m, numbers)
            elif isinstance(m, SEWithNorm):
                m.fuse(numbers)
        self._se_norms = []
        self.deploy = True

    def switch_to_deploy(self) -> None:
        """Fold every BatchNorm into the conv before it (stem, expansion,
        depthwise, projection and head convs, and the SE's conv1), for
        inference: the eval outputs stay the same. Call it in eval mode; the
        fused model cannot train (its forward refuses training mode with
        autograd on), but ``train()`` / ``eval()`` stay callable."""
        if self.deploy:
            return
        if self.training:
            raise RuntimeError(
                f'ReXNet(arch={self.arch!r}).switch_to_deploy() folds the BN running '
                f'statistics: call model.eval() first (it is in training mode)')
        self._fuse(numbers=True)

    def _check_input(self, x):
        if not (isinstance(x, torch.Tensor) and x.dim() == 4 and x.is_floating_point()
                and x.shape[1] == self.stem.conv.in_channels):
            what = (f'{x.dtype} tensor of shape {tuple(x.shape)}' if isinstance(x, torch.Tensor)
                    else type(x).__name__)
            raise ValueError(f'ReXNet(arch={self.arch!r}) expects a floating-point tensor of '
                             f'shape (N, {self.stem.conv.in_channels}, H, W), but got {what}')
        if self.training and x.shape[0] == 1 and any(
                type(m) is nn.BatchNorm2d and m.training for m in self._se_norms):
            raise ValueError(
                f'ReXNet(arch={self.arch!r}) is training its BatchNorm statistics on a batch '
                f'of 1 image: the BN inside each SE block sees one value per channel (a '
                f'pooled 1x1 map) and cannot normalise it. Use at least 2 images per '
                f'process, or keep BN statistics fixed (norm_eval=True), or share them across '
                f'processes (norm_cfg=dict(type="SyncBN") with several processes).')

    def forward(self, x):
        if self.deploy and self.training and torch.is_grad_enabled():
            raise RuntimeError(
                f'ReXNet(arch={self.arch!r}) is fused for deployment (BN folded into the '
                f'convs) and cannot train: build it with deploy=False and load the unfused '
                f'checkpoint to train, or call model.eval() / torch.no_grad() to infer')
        if not is_tracing():  # shape checks would be baked into a graph as constants
            self._check_input(x)
        channels_last = self._channels_last(x)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.stem(x)
        outs = {}
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                # NCHW for the neck / head (and mmcv's ops, which index NCHW)
                outs[i] = x.contiguous() if channels_last else x
        return tuple(outs[i] for i in self.out_indices)

    def _freeze_stages(self):
        if self.frozen_stages < 0:
            return
        modules = [self.stem] + [getattr(self, f'layer{s}')
                                 for s in range(1, self.frozen_stages + 1)
                                 if hasattr(self, f'layer{s}')]
        for m in modules:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    # ------------------------------------------------------------ weights
    def load_state_dict_checked(self, state: Dict[str, torch.Tensor], source: str = 'state dict'):
        """Load strictly: every tensor of this model must be present with its
        shape, and every tensor of ``state`` must belong to this arch. The only
        keys skipped are those of layers not built (beyond max(out_indices))."""
        unbuilt = tuple(f'layer{s + 1}.' for s in range(self.num_layers, NUM_STAGES))
        if self.num_layers <= NUM_STAGES:
            unbuilt += ('conv_head.', )
        load_strict(self, state, source, skip=unbuilt,
                    name=f'ReXNet(arch={self.arch!r}) (out channels '
                         f'{list(self.schedule.out_channels)})')
