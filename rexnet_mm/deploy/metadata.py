"""The metadata an exported ``.onnx`` file carries, read as untrusted data.

``tools/deployment/export_onnx.py`` stores what inference needs beside the
graph, as JSON under the key ``rexnet_mm``. A downloaded file is the expected
input, so nothing in it is trusted: :func:`validate_meta` checks every key
against the schema below before any of it is used, and the test pipeline is
built by :func:`rexnet_mm.deploy.pipeline.build_pipeline` from an allow-list of the transforms the
exporter writes, each looked up by its exact name in the toolkit's own
transform registry and constructed with checked JSON arguments. No registry
fallback (mmengine 0.10.7 imports any dotted ``type``), no ``_scope_``, no
import, no other code runs. Anything else is refused with a
:class:`MetadataError` of one line naming the key, the value and what is
allowed.
"""
import json
import math
from typing import Any, Dict, List

from .errors import MetadataError

META_KEY = 'rexnet_mm'
MAX_META_BYTES = 1 << 20     # the JSON text
MAX_SIDE = 8192              # image sides in the pipeline and static graph inputs
MAX_DETS = 10000
MAX_CLASSES = 100000
MAX_CLASS_NAME = 200


def _fail(where: str, key: str, value: Any, allowed: str):
    text = repr(value)
    text = text if len(text) <= 80 else text[:77] + '...'
    raise MetadataError(f'{where}: metadata {key!r} is {text}; allowed: {allowed}. The file was '
                        f'not written by tools/deployment/export_onnx.py or was altered; '
                        f'nothing in it was run')


# ------------------------------------------------------------------ value checks
# Each check takes the value and returns it (possibly converted: lists of a
# size become tuples) or returns _BAD.
_BAD = object()


def _bool(v):
    return v if isinstance(v, bool) else _BAD


def _int_in(lo, hi):
    def check(v):
        return v if isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi else _BAD
    check.allowed = f'an integer in [{lo}, {hi}]'
    return check


def _float_in(lo, hi):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return _BAD
        return float(v) if lo <= v <= hi else _BAD
    check.allowed = f'a finite number in [{lo}, {hi}]'
    return check


def _one_of(*values):
    def check(v):
        return v if isinstance(v, str) and v in values else _BAD
    check.allowed = f'one of {", ".join(map(repr, values))}'
    return check


def _none(v):
    return None if v is None else _BAD


def _or_none(check):
    def either(v):
        return None if v is None else check(v)
    either.allowed = f'null or {check.allowed}'
    return either


def _size(v):
    """An image size: an int, or a list of 1-2 ints (as a tuple), in [1, MAX_SIDE]."""
    side = _int_in(1, MAX_SIDE)
    if isinstance(v, list) and 1 <= len(v) <= 2 and all(side(x) is not _BAD for x in v):
        return tuple(v)
    return side(v)


def _scale_factor(v):
    f = _float_in(1e-3, 100)
    if isinstance(v, list) and len(v) == 2 and all(f(x) is not _BAD for x in v):
        return tuple(float(x) for x in v)
    return f(v)


def _names(v):
    """A list of short identifiers (meta keys), as a tuple."""
    if isinstance(v, list) and len(v) <= 64 and all(
            isinstance(x, str) and x.isidentifier() and len(x) <= 64 for x in v):
        return tuple(v)
    return _BAD


_bool.allowed = 'true or false'
_none.allowed = 'null'
_size.allowed = f'an integer or a list of 1-2 integers in [1, {MAX_SIDE}]'
_scale_factor.allowed = 'a number or a list of 2 numbers in [0.001, 100]'
_names.allowed = 'a list of at most 64 identifiers'

_INTERP = _one_of('nearest', 'bilinear', 'bicubic', 'area', 'lanczos')
_BACKEND = _one_of('cv2', 'pillow')
_LOAD = {'to_float32': _bool, 'ignore_empty': _bool, 'backend_args': _none,
         'color_type': _one_of('color', 'grayscale', 'unchanged', 'color_ignore_orientation'),
         'imdecode_backend': _one_of('cv2', 'pillow', 'turbojpeg', 'tifffile')}
_RESIZE = {'scale': _size, 'scale_factor': _scale_factor, 'keep_ratio': _bool,
           'clip_object_border': _bool, 'backend': _BACKEND, 'interpolation': _INTERP}

# kind -> (toolkit, {transform type: {argument: check}}): what the exporter
# writes from the configs' test pipelines
TRANSFORMS: Dict[str, tuple] = {
    'classifier': ('mmpretrain', {
        'LoadImageFromFile': _LOAD,
        'ResizeEdge': {'scale': _int_in(1, MAX_SIDE), 'backend': _BACKEND,
                       'interpolation': _INTERP,
                       'edge': _one_of('short', 'long', 'width', 'height')},
        'Resize': _RESIZE,
        'CenterCrop': {'crop_size': _size, 'auto_pad': _bool, 'clip_object_border': _bool},
        'PackInputs': {'meta_keys': _names, 'algorithm_keys': _names,
                       'input_key': _one_of('img')},
    }),
    'detector': ('mmdet', {
        'LoadImageFromFile': _LOAD,
        'Resize': _RESIZE,
        'FixShapeResize': {'width': _int_in(1, MAX_SIDE), 'height': _int_in(1, MAX_SIDE),
                           'keep_ratio': _bool, 'clip_object_border': _bool,
                           'backend': _BACKEND, 'interpolation': _INTERP},
        'LoadAnnotations': {k: _bool for k in ('with_bbox', 'with_label', 'with_mask',
                                               'with_seg', 'poly2mask', 'with_keypoints',
                                               'reduce_zero_label')},
        'PackDetInputs': {'meta_keys': _names},
    }),
}


def _classes(v):
    """Printable class names (no control characters: they would reach the
    terminal and the drawn images)."""
    if not isinstance(v, list) or len(v) > MAX_CLASSES:
        return _BAD
    for name in v:
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_CLASS_NAME or \
                not name.isprintable():
            return _BAD
    return v


_classes.allowed = (f'a list of at most {MAX_CLASSES} printable strings of 1-{MAX_CLASS_NAME} '
                    f'characters (no control characters)')


def _triple(positive):
    def check(v):
        if not (isinstance(v, list) and len(v) == 3):
            return _BAD
        for x in v:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or \
                    not math.isfinite(x) or abs(x) > 1e6 or (positive and x <= 0):
                return _BAD
        return [float(x) for x in v]
    check.allowed = ('3 finite positive numbers' if positive else '3 finite numbers') + \
        ' (one per channel)'
    return check


def _text(v):
    return v if isinstance(v, str) and len(v) <= 1000 and v.isprintable() else _BAD


def _outputs(v):
    if isinstance(v, list) and 1 <= len(v) <= 64 and all(
            isinstance(x, str) and x.isidentifier() for x in v):
        return v
    return _BAD


_text.allowed = 'a printable string of at most 1000 characters'
_outputs.allowed = 'a list of 1-64 output names'

KINDS = ('classifier', 'detector', 'backbone')
_COMMON = {
    'kind': _one_of(*KINDS), 'outputs': _outputs, 'config': _text, 'checkpoint': _text,
    'deploy': _bool, 'preprocess': _bool, 'softmax': _bool, 'input_layout': _text,
    'classes': _classes, 'test_pipeline': None,  # checked by _pipeline
}
_NORM = {'mean': _triple(False), 'std': _triple(True), 'to_rgb': _bool}
_DETECTOR = {'detector': _one_of('ssd', 'retinanet', 'faster_rcnn', 'mask_rcnn'),
             'max_dets': _int_in(1, MAX_DETS), 'score_thr': _float_in(0, 1),
             'pad_size_divisor': _int_in(1, 1024), 'mask_thr_binary': _float_in(0, 1)}
_REQUIRED = {'classifier': ('kind', 'preprocess', 'softmax', 'test_pipeline', 'mean', 'std',
                            'to_rgb'),
             'detector': ('kind', 'preprocess', 'test_pipeline', 'mean', 'std', 'to_rgb',
                          'detector', 'classes'),
             'backbone': ('kind', )}


def parse_meta(text: str, where: str) -> dict:
    """The JSON text of the metadata, parsed and validated."""
    if not isinstance(text, str) or len(text.encode('utf-8', 'replace')) > MAX_META_BYTES:
        raise MetadataError(f'{where}: metadata {META_KEY!r} is over {MAX_META_BYTES} bytes; '
                            f'the exporter writes a few kilobytes')
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise MetadataError(f'{where}: metadata {META_KEY!r} is not valid JSON '
                            f'({type(e).__name__}: {str(e)[:100]})') from None
    return validate_meta(meta, where)


def validate_meta(meta: Any, where: str) -> dict:
    """``meta`` checked key by key against what the exporter writes; returns
    a new dict of checked values (the test pipeline as ``(type, kwargs)``
    pairs under ``test_pipeline``)."""
    if not isinstance(meta, dict):
        _fail(where, META_KEY, meta, 'a JSON object')
    kind = meta.get('kind')
    if _one_of(*KINDS)(kind) is _BAD:
        _fail(where, 'kind', kind, _one_of(*KINDS).allowed)
    schema = dict(_COMMON)
    if kind != 'backbone':
        schema.update(_NORM)
    if kind == 'detector':
        schema.update(_DETECTOR)
    if kind == 'backbone':  # the config's normalisation, or null (a segmentor's)
        schema.update({k: _or_none(check) for k, check in _NORM.items()})
    unknown = sorted(set(meta) - set(schema))
    if unknown:
        _fail(where, unknown[0], meta[unknown[0]], f'none; the keys are {", ".join(schema)}')
    missing = [k for k in _REQUIRED[kind] if k not in meta]
    if missing:
        raise MetadataError(f'{where}: metadata lacks {", ".join(map(repr, missing))}, which an '
                            f'exported {kind} needs; re-export it with '
                            f'tools/deployment/export_onnx.py')
    out = {}
    for key, value in meta.items():
        if key == 'test_pipeline':
            out[key] = _pipeline(value, kind, where)
            continue
        checked = schema[key](value)
        if checked is _BAD:
            _fail(where, key, value, schema[key].allowed)
        out[key] = checked
    out.setdefault('classes', [])
    if kind == 'detector' and not out['classes']:
        _fail(where, 'classes', meta['classes'], 'a non-empty list for a detector (its labels '
              'index it)')
    return out


def _pipeline(value, kind, where) -> List[tuple]:
    if kind == 'backbone':
        if not isinstance(value, list) or len(value) > 32:
            _fail(where, 'test_pipeline', value, 'a list')
        return []  # a backbone file is not run by the runtime
    toolkit, allowed = TRANSFORMS[kind]
    if not isinstance(value, list) or len(value) > 16:
        _fail(where, 'test_pipeline', value, 'a list of at most 16 transforms')
    steps = []
    for i, t in enumerate(value):
        key = f'test_pipeline[{i}]'
        if not isinstance(t, dict):
            _fail(where, key, t, 'a JSON object with a "type"')
        name = t.get('type')
        if name not in allowed:  # also: dotted names, _scope_ (as a type), anything else
            _fail(where, f'{key}.type', name, f'one of {", ".join(allowed)} ({toolkit})')
        args = {}
        for arg, v in t.items():
            if arg == 'type':
                continue
            check = allowed[name].get(arg)
            if check is None:
                _fail(where, f'{key}.{arg}', v,
                      f'the arguments of {name}: {", ".join(allowed[name]) or "none"}')
            checked = check(v)
            if checked is _BAD:
                _fail(where, f'{key}.{arg}', v, check.allowed)
            args[arg] = checked
        steps.append((name, args))
    return steps
