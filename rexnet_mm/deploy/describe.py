"""What an exported file says about its model (its metadata): the
normalisation, the class names, the test pipeline and default input size,
validated as a reader of the file validates them."""
import json
import os.path as osp
from typing import Tuple

from .errors import DeployError
from .metadata import validate_meta


def norm_of(model) -> dict:
    """The data preprocessor's mean, std and channel swap."""
    pre = model.data_preprocessor
    if getattr(pre, '_enable_normalize', False):
        mean, std = pre.mean.flatten().tolist(), pre.std.flatten().tolist()
    else:
        mean, std = [0., 0., 0.], [1., 1., 1.]
    to_rgb = bool(getattr(pre, 'to_rgb', getattr(pre, '_channel_conversion', False)))
    return dict(mean=mean, std=std, to_rgb=to_rgb)


def class_names(cfg, checkpoint: str) -> list:
    """The checkpoint's dataset_meta classes, else the test dataset's."""
    from ..runner.checks import read_checkpoint
    meta = read_checkpoint(checkpoint).get('meta') or {}
    classes = (meta.get('dataset_meta') or {}).get('classes')
    if classes:
        return list(classes)
    ds = (cfg.get('test_dataloader') or {}).get('dataset', {})
    classes = (ds.get('metainfo') or {}).get('classes')
    if not classes and ds.get('type'):
        if cfg.default_scope == 'mmdet':
            from mmdet.registry import DATASETS
        else:
            from mmpretrain.registry import DATASETS
        cls = DATASETS.get(ds['type'])
        classes = getattr(cls, 'METAINFO', {}).get('classes') if cls else None
    return list(classes or [])


def test_pipeline(cfg) -> list:
    """The config's test pipeline as the file records it: plain dicts, without
    the ``_scope_`` of the config's own toolkit (the runtime takes the
    toolkit from the file's kind and refuses any ``_scope_``)."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    return [{k: v for k, v in t.items() if not (k == '_scope_' and v == cfg.default_scope)}
            for t in loader.get('dataset', {}).get('pipeline', [])]


def default_shape(pipeline) -> Tuple[int, int]:
    """A classifier's input (H, W): the test pipeline's centre crop, else 224."""
    for t in pipeline:
        size = t.get('crop_size') if t.get('type') == 'CenterCrop' else None
        if size:
            return (size, size) if isinstance(size, int) else (size[1], size[0])
    return 224, 224


def file_meta(opts, config: str, checkpoint: str, kind: str, names, pipeline,
              classes, norm, extra: dict) -> Tuple[dict, dict]:
    """The file's metadata as written and as a reader validates it; a
    DeployError when the runtime would refuse it (nothing is written)."""
    detector = kind == 'detector'
    layout = 'NCHW float32 BGR 0-255' if detector and opts.preprocess else \
        'NHWC uint8' if opts.preprocess else 'NCHW float32'
    meta = dict(kind=kind, outputs=names, config=osp.basename(config),
                checkpoint=osp.basename(checkpoint), deploy=opts.deploy,
                preprocess=opts.preprocess, softmax=opts.softmax, input_layout=layout,
                test_pipeline=pipeline, classes=classes,
                **(norm or dict(mean=None, std=None, to_rgb=None)), **extra)
    meta = json.loads(json.dumps(meta))  # as a reader of the file sees it
    try:
        return meta, validate_meta(meta, config)
    except ValueError as e:
        raise DeployError(f'cannot export {config} with its test pipeline and classes as they '
                          f'are: {e}') from None
