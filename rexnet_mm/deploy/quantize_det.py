"""int8 detectors: the classifier recipe (:mod:`.quantize`) on a file
written by the detector export, with its post-processing kept in float.

What is quantized is found from the graph itself: the exporter names every
node after the module that made it (``/backbone/...``, ``/neck/...``,
``/rpn_head/...``, ``/roi_head``'s ``/bbox_head/...``), and the post-processing
(score activations, top-k, box decoding, thresholds, NMS, RoiAlign, the
outputs' padding) is written by the adapters outside any module, at the
graph's top level. So:

- backbone and neck: every op the runtime's recipe quantizes (its default
  ``exclude`` applies, as for classifiers);
- heads: their convolutions only (:data:`WEIGHTED`; the RoI bbox head's fully
  connected layers stay float, by measurement);
- the top level: nothing, not even calibrated.

``--max-error`` is in a detector's terms: the share of the fp32 file's
confident detections (score >= :data:`CONFIDENT`) on the held-out images
that the int8 file misses (no detection of the same label with IoU >= 0.5),
steered by one half of them and checked on the other, as for classifiers.
"""
from typing import List, Optional, Sequence

import numpy as np

from .errors import DeployError
from .qdq_recipe import QuantOptions
from .qdq_report import graph_nodes
from .quantize import finish_recipe, held_out, held_words, split_held

FEATURES = ('backbone', 'neck')  # module scopes quantized whole
# what the heads quantize: their convolutions. The RoI bbox head's fully connected
# layers (Gemm) stay float: in int8 they cost the demo Faster R-CNN bbox mAP for
# little speed (docs/deploy.md)
WEIGHTED = ('Conv', 'ConvTranspose')
CONFIDENT = 0.3
TWO_STAGE = ('faster_rcnn', 'mask_rcnn')
MISSED = 'held-out share of confident fp32 detections missed'


def detector_region(path: str) -> List[str]:
    """The nodes of an exported detector that int8 may take (see above)."""
    region = []
    for n in graph_nodes(path):
        parts = n.name.split('/')  # '/neck/fpn_convs.0/conv/Conv': ['', 'neck', ...]
        if len(parts) < 3 or not n.name.startswith('/'):
            continue  # the top level: post-processing
        if parts[1] in FEATURES or n.op_type in WEIGHTED:
            region.append(n.name)
    if not any(n.startswith('/backbone/') for n in region):
        raise DeployError(f'{path}: no /backbone/ nodes; was it written by '
                          f'tools/deployment/export_onnx.py?')
    return region


def missed_share(refs, gots, min_score: float = CONFIDENT, min_iou: float = 0.5) -> float:
    """Of the reference detections scoring >= ``min_score`` (DetDataSamples),
    the share without a detection of the same label at IoU >= ``min_iou``
    in ``gots``."""
    from mmdet.structures.bbox import bbox_overlaps
    missed = total = 0
    for ref, got in zip(refs, gots):
        ref, got = ref.pred_instances, got.pred_instances
        keep = ref.scores >= min_score
        boxes, labels = ref.bboxes[keep], ref.labels[keep]
        total += len(boxes)
        if len(boxes) == 0:
            continue
        if len(got) == 0:
            missed += len(boxes)
            continue
        iou = bbox_overlaps(boxes.float(), got.bboxes.float())
        hit = ((iou >= min_iou) & (labels[:, None] == got.labels[None])).any(1)
        missed += int((~hit).sum())
    return missed / total if total else 0.


def quantize_detector(src: str, dst: str, images: Sequence[str], opts: QuantOptions,
                      report: Optional[str] = None, max_error: Optional[float] = None,
                      holdout: float = 0.25, max_tries: int = 20,
                      max_pixels: Optional[int] = None, log=print) -> dict:
    """The int8 recipe on an exported detector: calibration feeds from its own
    pipeline (one image per run, a static batch filled with copies);
    ``max_error``: :data:`MISSED` (:func:`quantize_to_budget`); ``report``:
    the SQNR table. Nothing is written unless all succeeds. Returns
    {'error': the share missed on the check images or None, 'rows': the
    report}."""
    from .runtime_det import OnnxDetector
    kw = dict(max_pixels=max_pixels) if max_pixels else {}
    det = OnnxDetector(src, **kw)
    if opts.method != 'minmax' and det.meta['detector'] in TWO_STAGE:
        raise DeployError(f'--method {opts.method}: onnxruntime\'s histogram calibration stacks '
                          f'each tensor over the images, but the RoI heads of {src} (a '
                          f'{det.meta["detector"]}) have as many rows as proposals or '
                          f'detections; use --method minmax')
    opts.region = detector_region(src)
    held = held_out(len(images), holdout if max_error else 0)
    calib, hold = [], []
    for i, path in enumerate(images):
        data = det.load(path)
        img, meta = data['inputs'].numpy(), data['data_samples'].metainfo
        (hold if i in held else calib).append((img, meta))
        if (i + 1) % 16 == 0 or i + 1 == len(images):
            log(f'[quantize]   preprocessed {i + 1}/{len(images)} images')

    # histogram calibration (percentile, entropy) stacks each tensor over the
    # feeds: then one size for all (the largest, padded as mmdet pads a batch)
    size = None
    if opts.method != 'minmax':
        sizes = [det.graph_inputs([img], [meta])['img'].shape[2:] for img, meta in calib + hold]
        size = tuple(max(s[i] for s in sizes) for i in (0, 1))

    def feed(img, meta):
        n = det.batch or 1
        x = det.graph_inputs([img] * n, [meta] * n)
        return pad_to(x, size) if size else x
    feeds = [feed(*c) for c in calib]
    log(f'[quantize] detector: {len(opts.region)} nodes of the backbone, neck and heads may '
        f'be int8, post-processing float; calibrating on {len(calib)} images '
        f'({opts.summary()})' + held_words(hold))
    fp32 = det if opts.backend == 'onnxruntime' or not hold else OnnxDetector(
        src, backend=opts.backend, **kw)
    halves = dict(zip(('search', 'check'), split_held([(h, fp32.predict(*h)) for h in hold])))

    def evaluate(path, half):
        q = OnnxDetector(path, backend=opts.backend, **kw)
        return missed_share([r for _, r in halves[half]],
                            [q.predict(*h) for h, _ in halves[half]])
    return finish_recipe(src, dst, feeds, [feed(*h) for h in split_held(hold)[0]], opts,
                         evaluate, max_error, max_tries, report, feeds[:4], log, measure=MISSED,
                         logits=False)


def pad_to(feed: dict, size) -> dict:
    """``feed``'s image batch zero-padded at the bottom and right to ``size``
    (H, W), as mmdet pads a batch (the graph zeroes what it pads itself)."""
    img = feed['img']
    out = np.zeros(img.shape[:2] + tuple(size), img.dtype)
    out[:, :, :img.shape[2], :img.shape[3]] = img
    return dict(feed, img=out)
