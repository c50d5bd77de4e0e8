"""The test path of the ReXNet detectors as one traceable module, for ONNX.

:class:`DetectorExport` wraps a built mmdet detector (SSD/SSDLite, RetinaNet,
Faster R-CNN, Mask R-CNN) and runs what ``model.predict`` runs, written with ops
that export to standard ONNX: the detector's own backbone, neck and heads,
its prior generator and box coder, then the post-processing of mmdet 3.3
re-expressed with ``torchvision.ops.nms`` (ONNX NonMaxSuppression, class-
aware through mmdet's coordinate offset) and ``torchvision.ops.roi_align``
(ONNX RoiAlign, half_pixel for mmcv's ``aligned=True``). Nothing in mmdet is
patched. Boxes come out in the coordinates of the graph's input; the
runtime (:class:`rexnet_mm.deploy.runtime_det.OnnxDetector`) divides them by the
resize factor and pastes the masks, as ``rescale=True`` does.

Inputs: ``img`` [B, 3, H, W] (normalised, or with ``preprocess`` the BGR
0-255 images) padded at the bottom and right as mmdet pads a batch, and
``img_shape`` [B, 2] (each image's unpadded height and width, float).
Outputs: ``dets`` [B, N, 5] (x1, y1, x2, y2, score), ``labels`` [B, N] and,
for Mask R-CNN, ``masks`` [B, N, 28, 28] (mask logits of each detection's
class). Each image's detections come first, best first; its count is its
number of labels >= 0 (-1 fills the other rows, with zero dets and -inf
masks). Every image of a batch is post-processed on its own (one batched
NonMaxSuppression, per-image top-k), so the batch axis can be dynamic.
"""
# isort: off
# the adapters register in this order (the error for an unsupported model lists them so)
from . import ssd  # noqa: F401,E402
from . import retinanet  # noqa: F401,E402
from . import rcnn  # noqa: F401,E402
# isort: on
from .base import ADAPTERS, HeadAdapter, adapter_for, detector_kind, register_adapter  # noqa: E402
from .export import DetectorExport  # noqa: E402
from .ops import batched_nms, decode, roi_feats  # noqa: E402

__all__ = ['ADAPTERS', 'DetectorExport', 'HeadAdapter', 'adapter_for', 'batched_nms', 'decode',
           'detector_kind', 'register_adapter', 'roi_feats']
