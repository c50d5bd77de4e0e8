"""Small pieces the ReXNet modules share: graph-capture flags, BN folding and
the activations that may run in place."""
import contextlib
from typing import List, Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch.nn.modules.batchnorm import _BatchNorm


def _never() -> bool:
    return False


# torch.compiler (2.1+) and its is_exporting (2.6+) are absent on older torch
_is_compiling = getattr(getattr(torch, 'compiler', None), 'is_compiling', _never)
_is_torch_exporting = getattr(getattr(torch, 'compiler', None), 'is_exporting', _never)
_functional = [False]


def is_tracing() -> bool:
    """True while a graph is being captured: torch.jit tracing, ONNX export
    (either exporter), torch.export or torch.compile, and inside
    :func:`functional_forms`. The forward then uses functional forms of its
    in-place inference tricks, which graphs capture as plain ops (ONNX: Add +
    Concat rather than ScatterND)."""
    return (_functional[0] or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
            or _is_compiling() or _is_torch_exporting())


def is_exporting() -> bool:
    """True while exporting to ONNX or with torch.export (NCHW graphs: the
    runtime picks its own layout)."""
    return torch.onnx.is_in_onnx_export() or _is_torch_exporting()


@contextlib.contextmanager
def functional_forms():
    """Run eager forwards as a graph would capture them (no in-place residual
    or SE scaling): what benchmark.py's ``functional`` mode times."""
    before = _functional[0]
    _functional[0] = True
    try:
        yield
    finally:
        _functional[0] = before


# Activations whose input autograd does not need again where ReXNet puts them
# (after a BN, or after the SE scaling), so they may overwrite it.
INPLACE_ACTS = ('ReLU', 'ReLU6', 'LeakyReLU', 'ELU', 'SiLU', 'Hardswish')


def inplace_act_cfg(act_cfg: dict) -> dict:
    """A copy of ``act_cfg`` with ``inplace=True`` where the type allows it
    and the config does not say otherwise."""
    act_cfg = dict(act_cfg)
    if act_cfg['type'] in INPLACE_ACTS:
        act_cfg.setdefault('inplace', True)
    return act_cfg


@torch.no_grad()
def fold_bn(weight: torch.Tensor, bias: Optional[torch.Tensor], bn: _BatchNorm):
    """(weight, bias) of a conv or linear layer followed by ``bn`` in eval mode,
    folded into one layer (computed in float64)."""
    w64 = weight.double()
    var, mean = bn.running_var.double(), bn.running_mean.double()
    gamma = bn.weight.double() if bn.weight is not None else torch.ones_like(var)
    beta = bn.bias.double() if bn.bias is not None else torch.zeros_like(var)
    scale = gamma / torch.sqrt(var + bn.eps)
    b = bias.double() if bias is not None else torch.zeros_like(var)
    shape = (-1, ) + (1, ) * (weight.dim() - 1)
    return ((w64 * scale.reshape(shape)).to(weight.dtype),
            ((b - mean) * scale + beta).to(weight.dtype))


def fuse_conv_module(cm: ConvModule, numbers: bool = True) -> None:
    """Fold a ConvModule's BN into its conv (bias added); the BN is removed.
    ``numbers=False`` only reshapes it (to load a fused checkpoint)."""
    if not cm.with_norm:
        return
    conv = cm.conv
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                      conv.padding, conv.dilation, conv.groups, bias=True,
                      padding_mode=conv.padding_mode, device=conv.weight.device,
                      dtype=conv.weight.dtype)
    if numbers:
        w, b = fold_bn(conv.weight, conv.bias, cm.norm)
        fused.weight.data.copy_(w)
        fused.bias.data.copy_(b)
    cm.conv = fused
    delattr(cm, cm.norm_name)
    cm.with_norm = False


def fuse_model(model: nn.Module) -> List[str]:
    """Fold the BatchNorms of every module of ``model`` that can
    (``switch_to_deploy``: the ReXNet backbone, ReXNetClsHead); call it in
    eval mode. Returns their names ('' for ``model`` itself)."""
    fusable = [(name, m) for name, m in model.named_modules() if hasattr(m, 'switch_to_deploy')]
    for _, m in fusable:
        m.switch_to_deploy()
    return [name for name, _ in fusable]
