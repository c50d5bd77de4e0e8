"""The runtime for models written by tools/deployment/export_onnx.py, in
onnxruntime or OpenVINO (:mod:`.backends`).

The exporter stores what inference needs beside the graph, as JSON in the
ONNX file's metadata (key ``rexnet_mm``): the model kind, the outputs, the
config's test pipeline and normalisation, whether the graph normalises
(``--preprocess``) and the class names. So the ``.onnx`` file alone runs.
That metadata is untrusted: it is validated against a schema and the
pipeline built from an allow-list (:mod:`.metadata`) before any use.
Errors are :class:`~.errors.DeployError`: one line, never an exit.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..utils.images import MAX_PIXELS, check_image
from .backends import open_engine, require
from .errors import DeployError, MetadataError
from .metadata import MAX_SIDE, META_KEY, parse_meta
from .pipeline import build_pipeline


def read_meta(path: str) -> dict:
    """The validated metadata of the file at ``path`` (see :mod:`.metadata`),
    read with onnx's protobuf parser, whichever runtime runs the graph."""
    require('onnx')
    import onnx
    try:
        props = {p.key: p.value
                 for p in onnx.load(path, load_external_data=False).metadata_props}
    except Exception as e:  # not an ONNX file
        raise DeployError(f'{path} is not an ONNX file ({type(e).__name__})') from None
    if META_KEY not in props:
        raise MetadataError(f'{path} has no {META_KEY!r} metadata: it was not written by '
                            f'tools/deployment/export_onnx.py, so its preprocessing is unknown')
    return parse_meta(props[META_KEY], path)


def _check_input_shapes(engine, path):
    """Static sizes of the graph's inputs must be sane: they size the
    buffers this runtime allocates."""
    for i in engine.inputs:
        for axis, d in enumerate(i.shape):
            if isinstance(d, int) and not 1 <= d <= (1024 if axis == 0 else MAX_SIDE):
                raise MetadataError(f'{path}: input {i.name!r} has static shape {i.shape}; '
                                    f'allowed: a batch of 1-1024 and sides of 1-{MAX_SIDE}')


class ExportedModel:
    """A file export_onnx.py wrote, compiled by one runtime: ``engine`` (a
    :class:`~.backends.Engine` of ``backend``: 'onnxruntime' or 'openvino'),
    ``meta`` (its metadata), ``classes``. A subclass takes files of its
    ``kind`` and stops with one line naming the kind otherwise."""
    kind = ''
    KINDS: Dict[str, type] = {}  # kind -> runtime class (each subclass registers)

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        ExportedModel.KINDS[cls.kind] = cls

    def __init__(self, path: str, threads: Optional[int] = None, *,
                 backend: str = 'onnxruntime', max_pixels: int = MAX_PIXELS,
                 precision: str = 'fp32', _opened=None):
        self.path = path
        self.max_pixels = max_pixels
        self.engine, self.meta = _opened or _open(path, threads, backend, precision)
        if self.meta['kind'] != self.kind:
            raise DeployError(f'{path} is an exported {self.meta["kind"]}, not a {self.kind}')
        self.classes: List[str] = list(self.meta['classes'])
        self._pipelines = {}

    @property
    def pipeline(self):
        """The file's test pipeline (validated, see :mod:`.metadata`),
        without annotation loading, built once."""
        return self._pipeline(('LoadAnnotations', ))

    def _pipeline(self, skip):
        if skip not in self._pipelines:
            self._pipelines[skip] = build_pipeline(self.meta, skip)
        return self._pipelines[skip]

    def load(self, image) -> dict:
        """One image (a path or an HxWx3 BGR array) through the pipeline; a
        path is checked first (an image file, at most ``max_pixels``)."""
        if isinstance(image, str):
            check_image(image, max_pixels=self.max_pixels, decode=False)
            return self.pipeline(dict(img_path=image))
        if not (isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3):
            raise DeployError(f'an image is a path or an HxWx3 BGR array, but got '
                              f'{type(image).__name__}'
                              f'{getattr(image, "shape", "")}')
        # as mmdet's inferencer: an array skips the file loading
        return self._pipeline(('LoadAnnotations', 'LoadImageFromFile'))(
            dict(img=image, img_shape=image.shape[:2], ori_shape=image.shape[:2]))

    def __call__(self, images, **kw):
        """One image (a path or an array) -> one result; a list -> a list."""
        single = isinstance(images, (str, np.ndarray))
        results = self.predict_all([images] if single else list(images), **kw)
        return results[0] if single else results


def _open(path, threads, backend, precision='fp32'):
    meta = read_meta(path)  # refused before a runtime compiles anything
    engine = open_engine(path, backend, threads, precision)
    _check_input_shapes(engine, path)
    return engine, meta


def load_exported(path: str, threads: Optional[int] = None, backend: str = 'onnxruntime',
                  max_pixels: int = MAX_PIXELS, precision: str = 'fp32') -> ExportedModel:
    """The runtime for the kind of model ``path`` holds: an
    :class:`OnnxClassifier` or an :class:`~.runtime_det.OnnxDetector`, in
    ``backend`` (``precision`` 'bf16': OpenVINO's, see
    :func:`~.backends.check_precision`)."""
    sess, meta = _open(path, threads, backend, precision)
    runtimes = ExportedModel.KINDS
    if meta['kind'] not in runtimes:
        raise DeployError(f'{path} is an exported {meta["kind"]}; the runtime takes '
                          f'{" and ".join(runtimes)} files')
    return runtimes[meta['kind']](path, max_pixels=max_pixels, backend=backend,
                                  _opened=(sess, meta))


def graph_input(data: dict, norm: dict, in_graph: bool) -> np.ndarray:
    """One image as the test pipeline leaves it (``data``), as an exported
    classifier takes it (no batch axis): HxWx3 uint8 when the graph
    normalises (``in_graph``), else normalised float32 3xHxW with ``norm``'s
    mean, std and to_rgb."""
    img = data['inputs'].numpy()  # 3xHxW uint8, BGR
    if in_graph:
        return np.ascontiguousarray(img.transpose(1, 2, 0))
    return np.ascontiguousarray(normalise(img, norm))


def normalise(img: np.ndarray, norm: dict) -> np.ndarray:
    """A 3xHxW BGR image -> float32, with ``norm``'s to_rgb, mean and std
    (the exported model's data preprocessor, from its metadata)."""
    x = np.asarray(img, np.float32)
    if norm['to_rgb']:
        x = x[::-1]
    mean = np.asarray(norm['mean'], np.float32)[:, None, None]
    std = np.asarray(norm['std'], np.float32)[:, None, None]
    return (x - mean) / std


class OnnxClassifier(ExportedModel):
    """An exported mmpretrain classifier in onnxruntime or OpenVINO, with its
    config's test pipeline (resize, crop) and normalisation.

        clf = OnnxClassifier('rexnet.onnx')  # backend='openvino' for OpenVINO
        clf('a.jpg')            # {'pred_label', 'pred_score', 'pred_class', 'pred_scores'}
        clf(['a.jpg', 'b.jpg'])  # a list of those
    """
    kind = 'classifier'

    def __init__(self, path: str, threads: Optional[int] = None, **kw):
        super().__init__(path, threads, **kw)
        self.input = self.engine.input

    def preprocess(self, image) -> np.ndarray:
        """One image (a path or an HxWx3 array in BGR) -> the graph's input
        for it (without the batch axis)."""
        return graph_input(self.load(image), self.meta, self.meta['preprocess'])

    def run(self, batch: np.ndarray) -> np.ndarray:
        """The graph's raw output (logits, or scores if exported with
        --softmax) for a preprocessed batch."""
        return self.engine.run({self.input.name: batch})[0]

    def predict_all(self, images: Sequence) -> List[Dict]:
        """Images (paths or HxWx3 BGR arrays) -> one result dict each."""
        results = []
        fixed_batch = self.input.shape[0] if isinstance(self.input.shape[0], int) else None
        static = [d if isinstance(d, int) else None for d in self.input.shape]
        for image in images:
            x = self.preprocess(image)[None]
            wrong = [i for i in range(1, x.ndim) if static[i] is not None and
                     static[i] != x.shape[i]]
            if wrong:
                raise DeployError(f"{image if isinstance(image, str) else 'an image'}: the "
                                  f"model's preprocessing makes an input of shape "
                                  f'{list(x.shape)}, but {self.path} takes '
                                  f'{list(self.input.shape)}; export it with --dynamic')
            if fixed_batch and fixed_batch > 1:  # a static batch: fill it
                x = np.repeat(x, fixed_batch, axis=0)
            out = self.run(x)[0].astype(np.float64)
            scores = out if self.meta['softmax'] else np.exp(out - out.max()) / np.exp(
                out - out.max()).sum()
            label = int(scores.argmax())
            results.append(dict(pred_label=label, pred_score=float(scores[label]),
                                pred_class=self.classes[label] if label < len(self.classes)
                                else str(label), pred_scores=scores))
        return results
