"""Complexity counting on dummy input (no dataset): the released classifier
without mmpretrain and mmengine's FLOP counter, for tools/analysis/get_flops.py
and benchmark.py."""
from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn


class ReXNetClassifier(nn.Module):
    """The released classification model without mmpretrain: backbone,
    global pool and the release's classifier (:mod:`rexnet_mm.models.classifier`).
    Its state dict has the keys of an mmpretrain ReXNet checkpoint."""

    def __init__(self, arch: Union[str, dict] = '1.0x', num_classes: int = 1000):
        super().__init__()
        from ..models import ReXNet
        from ..models.classifier import ReXNetClassifierHead
        self.backbone = ReXNet(arch, out_indices=(6, ))
        self.head = ReXNetClassifierHead.from_arch(arch, num_classes)

    def forward(self, x):
        return self.head(self.backbone(x)[0].mean((2, 3)))


def parse_shape(shape: Sequence[int]) -> Tuple[int, int]:
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    raise ValueError(f'shape must be one number (square) or H W, but got {list(shape)}')


class _TensorForward(nn.Module):
    """Wrap a toolkit model so a tracer sees forward(inputs) -> tensors."""

    def __init__(self, model, scope, h, w):
        super().__init__()
        self.model = model
        self.scope = scope
        self.samples = None
        if scope == 'mmdet':
            from ..runner.build import demo_det_batch
            self.samples = demo_det_batch(model, 1, h, w, training=False)['data_samples']

    def forward(self, x):
        if self.scope == 'mmdet':
            return self.model._forward(x, self.samples)
        return self.model(x, mode='tensor')


# Counted as zero, as in the paper's FLOPs: normalisation, pooling, resizing.
_ZERO_COST_OPS = ('aten::batch_norm', 'aten::group_norm', 'aten::layer_norm',
                  'aten::instance_norm', 'aten::adaptive_avg_pool2d', 'aten::mean',
                  'aten::upsample_nearest2d', 'aten::upsample_bilinear2d')


def _zero(inputs, outputs):
    return 0


def count_complexity(model: nn.Module, h: int, w: int, scope: str = None):
    """(FLOPs, params) on a dummy 1x3xHxW input with mmengine's tracer.

    FLOPs are the multiply-adds of convolutions and linear layers, the
    convention of the paper (ReXNet-1.0x: 0.40 G at 224); normalisation,
    pooling and resizing count zero, and so do ops without a counter (RoIAlign,
    NMS). Params count every parameter."""
    from mmengine.analysis import FlopAnalyzer
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    if scope is not None:
        model = _TensorForward(model, scope, h, w)
    with torch.no_grad():
        analyzer = FlopAnalyzer(model, inputs=(torch.randn(1, 3, h, w), ))
        # a zero handle (set_op_handle(op, None) keeps the default handle)
        analyzer.set_op_handle(**{op: _zero for op in _ZERO_COST_OPS})
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        flops = analyzer.total()
    return flops, params
