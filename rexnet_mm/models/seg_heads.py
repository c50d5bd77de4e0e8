"""A decode head for mmseg configs with ReXNet (needs mmsegmentation)."""
from typing import Optional, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.decode_heads import LRASPPHead
from torch.nn.modules.utils import _pair

Window = Optional[Union[int, Tuple[int, int]]]


class ClippedAvgPool2d(nn.Module):
    """Average pooling whose window is clipped to the input's size; with
    ``kernel_size=None`` a global average."""

    def __init__(self, kernel_size: Window, stride: Window = None):
        super().__init__()
        for name, v in (('pool_kernel', kernel_size), ('pool_stride', stride)):
            if v is not None and any(isinstance(k, bool) or not isinstance(k, int) or k <= 0
                                     for k in _pair(v)):
                raise ValueError(f'{name} must be None, a positive int or a pair of them, '
                                 f'but got {v!r}')
        self.kernel_size = None if kernel_size is None else _pair(kernel_size)
        self.stride = self.kernel_size if stride is None else _pair(stride)

    def forward(self, x):
        if self.kernel_size is None:
            return F.adaptive_avg_pool2d(x, 1)
        h, w = x.shape[2:]
        kernel = (min(self.kernel_size[0], h), min(self.kernel_size[1], w))
        return F.avg_pool2d(x, kernel, self.stride)

    def extra_repr(self):
        return f'kernel_size={self.kernel_size}, stride={self.stride}'


class SizedLRASPPHead(LRASPPHead):
    """mmseg's LR-ASPP head with its image-pooling window as arguments.

    mmseg's ``LRASPPHead`` hard-codes ``AvgPool2d(49, stride=(16, 20))``:
    MobileNetV3's numbers for a 64x128 feature map (a 1024x2048 image at
    output stride 16), which give 1x4 windows there. Here the window is
    ``pool_kernel``/``pool_stride``, which a config derives from its crop size
    and the backbone's output stride; a window larger than the feature map
    (a small or odd-sized input) is clipped to it instead of failing, and
    ``pool_kernel=None`` pools globally. Everything else, weights included,
    is ``LRASPPHead``'s.

    Args:
        pool_kernel (int | tuple[int, int], optional): pooling window (H, W).
            Default (49, 49), mmseg's.
        pool_stride (int | tuple[int, int], optional): its stride; None: the
            window. Default (16, 20), mmseg's.
    """

    def __init__(self, pool_kernel: Window = (49, 49), pool_stride: Window = (16, 20), **kwargs):
        super().__init__(**kwargs)
        self.image_pool[0] = ClippedAvgPool2d(pool_kernel, pool_stride)
