"""The paper's channel-configuration search space (section 4).

Block widths follow c_i = a * f(i) + b over the block index i, with f linear
or piecewise linear; candidates are kept when their parameters and FLOPs
(multiply-adds at a given input size) fit the budgets. Counting is analytic,
from the channel schedule (:mod:`rexnet_mm.models.channels`), so thousands of
candidates are checked in seconds; ``tests/test_tools/test_analysis.py`` pins the counts
to the released models' exact parameter numbers.
"""
import functools
import itertools
import math
from typing import Dict, Iterable, List, Optional, Sequence

from ..models.channels import Schedule, build_schedule, stage_depths


def _out_size(n: int, stride: int) -> int:
    return n if stride == 1 else math.ceil(n / 2)


def schedule_complexity(sched: Schedule, size: int = 224, num_classes: int = 1000):
    """(MACs, params) of the classification model of ``sched`` (backbone, pooling
    and the release's classifier). Convs, linears and the SE's 1x1 convs count as
    multiply-adds; BN, activations and pooling count as zero (the convention of
    the paper's FLOPs)."""
    params = macs = 0
    bn = lambda c: 2 * c  # noqa: E731  (weight, bias)
    h = w = _out_size(size, 2)
    params += 27 * sched.stem_channels + bn(sched.stem_channels)
    macs += 27 * sched.stem_channels * h * w
    for b in sched.blocks:
        mid = b.mid_channels
        if b.expand_ratio != 1:
            params += b.in_channels * mid + bn(mid)
            macs += b.in_channels * mid * h * w
        h, w = _out_size(h, b.stride), _out_size(w, b.stride)
        params += 9 * mid + bn(mid)
        macs += 9 * mid * h * w
        if b.use_se:
            r = b.se_channels
            params += (mid * r + r) + bn(r) + (r * mid + mid)
            macs += 2 * mid * r
        params += mid * b.out_channels + bn(b.out_channels)
        macs += mid * b.out_channels * h * w
    last, pen = sched.blocks[-1].out_channels, sched.head_channels
    params += last * pen + bn(pen)
    macs += last * pen * h * w
    head_macs, head_params = classifier_complexity(pen, sched.cls_mid_channels, num_classes)
    return macs + head_macs, params + head_params


@functools.lru_cache(maxsize=None)
def classifier_complexity(in_channels: int, mid_channels: Optional[int], num_classes: int):
    """(MACs, params) of the released classifier (:mod:`rexnet_mm.models.classifier`),
    counted on the module itself, built on the meta device."""
    import torch
    import torch.nn as nn

    from ..models.classifier import ReXNetClassifierHead
    with torch.device('meta'):
        head = ReXNetClassifierHead(in_channels, num_classes, mid_channels)
    params = sum(p.numel() for p in head.parameters())
    macs = sum(m.in_features * m.out_features for m in head.modules()
               if isinstance(m, nn.Linear))
    return macs, params


def piecewise(n: int, knee: Optional[float]) -> List[float]:
    """f(i) on [0, 1] over n blocks: linear (knee None), or linear up to the
    block fraction ``knee`` and flat after it."""
    xs = [i / max(n - 1, 1) for i in range(n)]
    if knee is None:
        return xs
    return [min(x, knee) / knee for x in xs]


def candidates(params_budget: float, flops_budget: float, size: int = 224,
               num_classes: int = 1000, a_values: Iterable[float] = range(40, 401, 20),
               b_values: Iterable[float] = range(8, 49, 8),
               knees: Sequence[Optional[float]] = (None, 0.5, 0.75),
               depth_mults: Sequence[float] = (0.75, 1.0, 1.25), use_se: bool = True
               ) -> List[Dict]:
    """Enumerate c_i = a * f(i) + b (non-decreasing), keep what fits the budgets.

    Each row holds the ``arch`` dict that builds the candidate, its params and
    MACs and how it was made."""
    rows = []
    for depth_mult, knee, a, b in itertools.product(depth_mults, knees, a_values, b_values):
        n = sum(stage_depths(depth_mult))
        widths = [max(1, int(round(a * f + b))) for f in piecewise(n, knee)]
        arch = dict(depth_mult=depth_mult, widths=widths, use_se=use_se)
        macs, params = schedule_complexity(build_schedule(arch), size, num_classes)
        if params <= params_budget and macs <= flops_budget:
            rows.append(dict(arch=arch, a=a, b=b, knee=knee, depth_mult=depth_mult,
                             params=params, flops=macs))
    return rows
