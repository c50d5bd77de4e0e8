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

    def __init__(self, path: str, threads: Optional[int] = None, *,
                 backend: str = 'onnxruntime', max_pixels: int = MAX_PIXELS, _opened=None):
        self.path = path
        self.max_pixels = max_pixels
        self.engine, self.meta = _opened or _open(path, threads, backend)
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


def _open(path, threads, backend):
    meta = read_meta(path)  # refused before a runtime compiles anything
    engine = open_engine(path, backend, threads)
    _check_input_shapes(engine, path)
    return engine, meta


def load_exported(path: str, threads: Optional[int] = None, backend: str = 'onnxruntime',
                  max_pixels: int = MAX_PIXELS) -> ExportedModel:
    """The runtime for the kind of model ``path`` holds: an
    :class:`OnnxClassifier` or an :class:`OnnxDetector`, in ``backend``."""
    sess, meta = _open(path, threads, backend)
    runtimes = {cls.kind: cls for cls in (OnnxClassifier, OnnxDetector)}
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


class OnnxDetector(ExportedModel):
    """An exported mmdet detector (SSD/SSDLite, RetinaNet, Faster R-CNN, Mask
    R-CNN) in onnxruntime or OpenVINO, returning mmdet ``DetDataSample``s, so
    mmdet's metrics and visualiser take them. The graph holds the test path up
    to NMS for a batch (see :mod:`rexnet_mm.deploy.detector`); here: the
    config's test pipeline (resize), normalisation unless the graph does it,
    padding as mmdet pads a batch, and after the graph the rescale to each
    original image and, for Mask R-CNN, pasting the 28x28 masks into it
    (mmdet's ``_do_paste_mask``, threshold ``mask_thr_binary``).

        det = OnnxDetector('faster_rcnn.onnx')
        det('a.jpg').pred_instances  # bboxes, scores, labels (, masks)
        det(['a.jpg', 'b.jpg'], batch_size=2)  # a list, run two at a time

    ``batch_size``: images per run, default the file's static batch (1 for a
    file with a dynamic batch axis, as mmdet's inferencer); a file with a
    static batch takes exactly that many (the last run is filled up).
    """

    kind = 'detector'

    def __init__(self, path: str, threads: Optional[int] = None, **kw):
        super().__init__(path, threads, **kw)
        self.inputs = {i.name: i for i in self.engine.inputs}
        self.output_names = self.engine.output_names

    @property
    def batch(self) -> Optional[int]:
        """The graph's static batch size (None where the axis is dynamic)."""
        b = self.inputs['img'].shape[0]
        return b if isinstance(b, int) else None

    @property
    def static_size(self) -> Optional[tuple]:
        """The graph's static (H, W), or None where they are dynamic."""
        hw = self.inputs['img'].shape[2:]
        return tuple(hw) if all(isinstance(d, int) for d in hw) else None

    def check_fits(self, metainfos, name='an image') -> None:
        """A DeployError unless every image fits the graph's static size."""
        static = self.static_size
        for meta in metainfos if static else ():
            h, w = meta['img_shape'][:2]
            if h > static[0] or w > static[1]:
                raise DeployError(
                    f'{name}: the test pipeline makes this image {h}x{w}, larger than the '
                    f'{static[0]}x{static[1]} {self.path} takes; export without --shape (the '
                    f'default takes every size the pipeline makes) or with --shape {h} {w}')

    def graph_inputs(self, imgs, metainfos) -> dict:
        """Resized 3xhxw BGR uint8 images -> the graph's feed: ``img`` [B, 3,
        H, W] normalised (unless the graph does it) and zero-padded at the
        bottom and right, to the graph's static size or as mmdet's data
        preprocessor pads a batch (to its largest image, rounded up to the
        config's pad_size_divisor); ``img_shape`` [B, 2] the unpadded sizes."""
        self.check_fits(metainfos)
        xs = [np.asarray(i, np.float32) if self.meta['preprocess'] else normalise(i, self.meta)
              for i in imgs]
        if self.static_size:
            H, W = self.static_size
        else:
            d = int(self.meta.get('pad_size_divisor') or 1)
            H = -(-max(x.shape[1] for x in xs) // d) * d
            W = -(-max(x.shape[2] for x in xs) // d) * d
        out = np.zeros((len(xs), 3, H, W), np.float32)
        for i, x in enumerate(xs):
            out[i, :, :x.shape[1], :x.shape[2]] = x
        shapes = np.asarray([m['img_shape'][:2] for m in metainfos], np.float32)
        if len(self.inputs['img_shape'].shape) == 1:  # a file of version 0.x: [2]
            shapes = shapes[0]
        return {'img': out, 'img_shape': shapes}

    def run_batch(self, imgs, metainfos) -> list:
        """The graph's outputs for a batch, one dict of arrays per image (a
        static batch filled up with copies of the last image)."""
        n = len(imgs)
        if self.batch and n != self.batch:
            if n > self.batch:
                raise DeployError(f'{self.path} takes batches of {self.batch}, not {n}')
            imgs = list(imgs) + [imgs[-1]] * (self.batch - n)
            metainfos = list(metainfos) + [metainfos[-1]] * (self.batch - n)
        out = self.engine.run(self.graph_inputs(imgs, metainfos))
        return [{k: v[i] for k, v in zip(self.output_names, out)} for i in range(n)]

    def predict_batch(self, imgs, metainfos) -> list:
        """Images as the test pipeline leaves them (3xhxw BGR uint8) and their
        metainfo (img_shape, ori_shape, scale_factor), run as one batch ->
        DetDataSamples with ``pred_instances`` in original-image coordinates."""
        return [self.to_sample(out, meta)
                for out, meta in zip(self.run_batch(imgs, metainfos), metainfos)]

    def predict(self, img, metainfo: dict):
        """One image (see :meth:`predict_batch`) -> a DetDataSample."""
        return self.predict_batch([img], [metainfo])[0]

    def to_sample(self, out: dict, metainfo: dict):
        """One image's rows of the outputs (``dets`` [N, 5], ``labels`` [N]:
        its count is the number of labels >= 0, the first rows) -> a
        DetDataSample."""
        import torch
        from mmdet.structures import DetDataSample
        from mmengine.structures import InstanceData
        keep = out['labels'] >= 0
        labels = out['labels'][keep]
        if labels.size and labels.max() >= len(self.classes):
            raise MetadataError(f'{self.path} returned label {int(labels.max())}, but its '
                                f'metadata names {len(self.classes)} classes; the file was '
                                f'altered or exported with the wrong classes')
        dets = torch.from_numpy(out['dets'][keep])
        sx, sy = metainfo.get('scale_factor', (1., 1.))
        boxes = dets[:, :4] / dets.new_tensor([sx, sy, sx, sy])
        inst = InstanceData(bboxes=boxes, scores=dets[:, 4],
                            labels=torch.from_numpy(labels).long())
        if 'masks' in out:
            inst.masks = self.paste_masks(torch.from_numpy(out['masks'][keep]), boxes,
                                          metainfo['ori_shape'][:2])
        sample = DetDataSample(metainfo=metainfo)
        sample.pred_instances = inst
        return sample

    def paste_masks(self, logits, boxes, ori_shape):
        """28x28 mask logits of each detection -> boolean masks of the original
        image (mmdet's FCNMaskHead post-processing)."""
        import torch
        from mmdet.models.roi_heads.mask_heads.fcn_mask_head import _do_paste_mask
        h, w = int(ori_shape[0]), int(ori_shape[1])
        if len(logits) == 0:
            return torch.zeros(0, h, w, dtype=torch.bool)
        masks, _ = _do_paste_mask(logits.sigmoid()[:, None], boxes, h, w, skip_empty=False)
        return masks >= self.meta['mask_thr_binary']

    def predict_all(self, images: Sequence, batch_size: Optional[int] = None) -> list:
        """Images (paths or HxWx3 BGR arrays) -> DetDataSamples, run
        ``batch_size`` at a time (default: the file's batch, else 1)."""
        size = batch_size or self.batch or 1
        if self.batch and size != self.batch:
            raise DeployError(f'{self.path} takes batches of {self.batch}; batch_size '
                              f'{size} is not allowed')
        results = []
        for i in range(0, len(images), size):
            data = [self.load(image) for image in images[i:i + size]]
            results += self.predict_batch([d['inputs'].numpy() for d in data],
                                          [d['data_samples'].metainfo for d in data])
        return results
