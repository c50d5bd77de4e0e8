"""The post-processing of mmdet 3.3 written with ops that export to standard
ONNX: class-aware NMS through mmdet's coordinate offset
(NonMaxSuppression), the delta box coder, top-k with a dynamic count, and
the RoI extractor with ``torchvision.ops.roi_align`` (RoiAlign)."""
import math
from typing import List

import torch


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor,
                iou_threshold: float) -> torch.Tensor:
    """mmdet's ``batched_nms``: NMS within each ``idxs`` group, through the
    coordinate offset mmdet itself uses; returns the kept indices sorted by
    score (descending), as ONNX NonMaxSuppression gives them."""
    from torchvision.ops import nms

    # boxes.max() of no boxes is undefined in ONNX: take it with a 0 appended
    max_coordinate = torch.cat([boxes.reshape(-1), boxes.new_zeros(1)]).max()
    offsets = idxs.to(boxes) * (max_coordinate + 1)
    return nms(boxes + offsets[:, None], scores, iou_threshold)


def nms_iou(nms_cfg) -> float:
    if nms_cfg.get('type', 'nms') != 'nms':
        raise ValueError(f"only nms_cfg type 'nms' exports, but the config has "
                         f"{nms_cfg.get('type')!r}")
    return float(nms_cfg['iou_threshold'])


def topk(scores: torch.Tensor, k: int):
    """The ``k`` highest of a 1-D tensor (all of them, sorted, when it has
    fewer or ``k`` <= 0): mmdet's ``sort()[:k]``. The count is a tensor, so a
    graph exported with dynamic height and width keeps it dynamic."""
    n = torch._shape_as_tensor(scores)[0]
    return scores.topk(torch.clamp(n, max=k) if k > 0 else n)


def decode(coder, anchors: torch.Tensor, deltas: torch.Tensor,
           img_shape: torch.Tensor) -> torch.Tensor:
    """mmdet's ``delta2bbox`` of a ``DeltaXYWHBBoxCoder`` for [n, 4] anchors
    and deltas, clipped to ``img_shape`` (a tensor: (h, w)). mmdet's own
    ``decode`` switches to an ONNX branch that mmdet 3.3 no longer ships."""
    d = deltas * deltas.new_tensor(coder.stds) + deltas.new_tensor(coder.means)
    dxy, dwh = d[:, :2], d[:, 2:]
    pxy = (anchors[:, :2] + anchors[:, 2:]) * 0.5
    pwh = anchors[:, 2:] - anchors[:, :2]
    dxy_wh = pwh * dxy
    max_ratio = abs(math.log(16 / 1000))  # mmdet's wh_ratio_clip
    if coder.add_ctr_clamp:
        dxy_wh = dxy_wh.clamp(min=-coder.ctr_clamp, max=coder.ctr_clamp)
        dwh = dwh.clamp(max=max_ratio)
    else:
        dwh = dwh.clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + dxy_wh
    gwh = pwh * dwh.exp()
    boxes = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], 1)
    if coder.clip_border:
        hi = img_shape.to(boxes)[[1, 0, 1, 0]]  # w, h, w, h
        boxes = torch.min(boxes.clamp(min=0), hi)
    return boxes


def positive_size(boxes: torch.Tensor, min_size: float) -> torch.Tensor:
    return ((boxes[:, 2] - boxes[:, 0]) > min_size) & ((boxes[:, 3] - boxes[:, 1]) > min_size)


def roi_feats(extractor, feats: List[torch.Tensor], rois: torch.Tensor) -> torch.Tensor:
    """mmdet's ``SingleRoIExtractor`` with ``torchvision.ops.roi_align``: each
    RoI pooled once, from the level its scale maps to (the RoIs of each level
    gathered, pooled, and put back in order)."""
    from torchvision.ops import roi_align
    layers = extractor.roi_layers

    def pool(i, r):
        layer = layers[i]
        return roi_align(feats[i], r, layer.output_size, layer.spatial_scale,
                         layer.sampling_ratio, layer.aligned)

    if len(layers) == 1:
        return pool(0, rois)
    scale = torch.sqrt((rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2]))
    lvls = torch.floor(torch.log2(scale / extractor.finest_scale + 1e-6))
    lvls = lvls.clamp(min=0, max=len(layers) - 1)
    idxs, outs = [], []
    for i in range(len(layers)):
        idx = torch.nonzero(lvls == i).reshape(-1)
        idxs.append(idx)
        outs.append(pool(i, rois[idx]))
    order = torch.argsort(torch.cat(idxs))  # level-major -> the RoIs' own order
    return torch.cat(outs)[order]
