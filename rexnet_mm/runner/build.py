"""Build a toolkit model from a config, with its inputs, for the tools and the
tests: no dataset and, unless asked, no pretrained weights."""
import torch


def demo_det_batch(model, batch: int, h: int, w: int, num_gt: int = 3, num_classes: int = 5,
                   with_mask: bool = False, training: bool = True):
    """A preprocessed mmdet batch (``dict(inputs, data_samples)``) of random
    HxW images with ``num_gt`` random boxes each (and masks), from
    ``mmdet.testing.demo_mm_inputs`` through the model's data preprocessor."""
    from mmdet.testing import demo_mm_inputs
    packed = demo_mm_inputs(batch, (3, h, w), num_items=[num_gt] * batch,
                            num_classes=num_classes, with_mask=with_mask)
    for s in packed['data_samples']:
        s.set_metainfo(dict(scale_factor=(1., 1.)))  # demo_mm_inputs says 1.1, 1.2
    return model.data_preprocessor(packed, training)


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

    from ..models.weights import PRETRAINED_TYPES
    from ..registry import register_all
    from .config import resolve_config
    cfg = Config.fromfile(resolve_config(config)) if isinstance(config, str) else config
    scope = cfg.get('default_scope', 'mmdet')
    init_default_scope(scope)
    register_all()
    if no_pretrained:
        backbone = cfg.model.get('backbone', {})
        init = backbone.get('init_cfg')
        if isinstance(init, dict) and init.get('type') in PRETRAINED_TYPES:
            backbone['init_cfg'] = None
        elif isinstance(init, (list, tuple)):  # (the strict loader takes lists too)
            backbone['init_cfg'] = [c for c in init
                                    if c.get('type') not in PRETRAINED_TYPES] or None
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
