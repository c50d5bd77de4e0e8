"""Model building and complexity counting on dummy input (no dataset), shared
by tools/analysis/get_flops.py, benchmark.py and channel_search.py."""
from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn

from .models.channels import build_schedule


class ReXNetClassifier(nn.Module):
    """The released classification model: backbone, global pool and the
    release's classifier (V1: linear; lite: 1024 hidden with BN and ReLU6)."""

    def __init__(self, arch: Union[str, dict] = '1.0x', num_classes: int = 1000):
        super().__init__()
        from .models import ReXNet
        self.backbone = ReXNet(arch, out_indices=(6, ))
        sched = build_schedule(arch)
        pen = sched.head_channels
        if sched.lite:
            self.head = nn.Sequential(nn.Linear(pen, 1024), nn.BatchNorm1d(1024),
                                      nn.ReLU6(inplace=True), nn.Dropout(0.2),
                                      nn.Linear(1024, num_classes))
        else:
            self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(pen, num_classes))

    def forward(self, x):
        return self.head(self.backbone(x)[0].mean((2, 3)))


def parse_shape(shape: Sequence[int]) -> Tuple[int, int]:
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    raise ValueError(f'shape must be one number (square) or H W, but got {list(shape)}')


def dummy_det_samples(batch: int, h: int, w: int, num_gt: int = 0, num_classes: int = 5,
                      device='cpu', seed: int = 0):
    """DetDataSamples with the image meta a detector needs (and random boxes)."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    g = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(batch):
        s = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                                        batch_input_shape=(h, w), scale_factor=(1., 1.)))
        if num_gt:
            xy = torch.rand(num_gt, 2, generator=g) * torch.tensor([w, h]) * 0.6
            wh = torch.rand(num_gt, 2, generator=g) * torch.tensor([w, h]) * 0.3 + 16
            s.gt_instances = InstanceData(
                bboxes=torch.cat([xy, xy + wh], 1).to(device),
                labels=torch.randint(0, num_classes, (num_gt, ), generator=g).to(device))
        samples.append(s)
    return samples


def dummy_seg_samples(batch: int, h: int, w: int, num_classes: int = 0, device='cpu',
                      seed: int = 0):
    """SegDataSamples with the image meta a segmentor needs (and, with
    ``num_classes``, random label maps)."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(batch):
        s = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        if num_classes:
            s.gt_sem_seg = PixelData(
                data=torch.randint(0, num_classes, (1, h, w), generator=g).to(device))
        samples.append(s)
    return samples


def build_from_config(config, no_pretrained: bool = True):
    """Build the model of an mmdet / mmpretrain / mmseg config (weights not
    loaded: with ``no_pretrained``, neither the backbone's ``Pretrained``
    init_cfg nor a segmentor's ``pretrained`` is used)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from . import register_all
    from .utils.run_cfg import resolve_config
    cfg = Config.fromfile(resolve_config(config)) if isinstance(config, str) else config
    scope = cfg.get('default_scope', 'mmdet')
    init_default_scope(scope)
    register_all()
    if no_pretrained:
        backbone = cfg.model.get('backbone', {})
        if isinstance(backbone.get('init_cfg'), dict) and \
                backbone['init_cfg'].get('type') == 'Pretrained':
            backbone['init_cfg'] = None
        if cfg.model.get('pretrained') is not None:  # mmseg's EncoderDecoder
            cfg.model['pretrained'] = None
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    elif scope == 'mmpretrain':
        from mmpretrain.registry import MODELS
    else:
        from mmseg.registry import MODELS
    model = MODELS.build(cfg.model)
    init_weights_quietly(model)
    return model, scope


def init_weights_quietly(model):
    """``model.init_weights()`` without mmengine's INFO record per parameter."""
    import logging

    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model


class _TensorForward(nn.Module):
    """Wrap a toolkit model so a tracer sees forward(inputs) -> tensors."""

    def __init__(self, model, scope, h, w):
        super().__init__()
        self.model = model
        self.scope = scope
        self.samples = dummy_det_samples(1, h, w) if scope == 'mmdet' else None

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
