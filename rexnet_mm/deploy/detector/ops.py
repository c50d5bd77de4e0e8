"""The post-processing of mmdet 3.3 for a batch, written with ops that export
to standard ONNX: per-image class-aware NMS through mmdet's coordinate offset
(one batched NonMaxSuppression), the delta box coder, top-k with a dynamic
count, and the RoI extractor with ``torchvision.ops.roi_align`` (RoiAlign).

Candidates are dense, ``[B, M]`` per image: where mmdet drops a candidate
(under the score threshold, too small) these set its score to ``INVALID``,
which NMS skips; the kept ones are then the top of a per-image score table,
so every image of a batch keeps its own detections and the batch size can be
a dynamic axis."""
import math
from typing import List

import torch

INVALID = -1.  # the score of a dropped candidate (scores are probabilities)


class _BatchedNMS(torch.autograd.Function):
    """NMS within each image of ``boxes`` [B, M, 4] / ``scores`` [B, M]
    (candidates scoring ``INVALID`` skipped): the kept (image, candidate)
    pairs [K, 2]. Exported as one ONNX NonMaxSuppression with a batch axis."""

    @staticmethod
    def forward(ctx, boxes, scores, iou_threshold: float):
        from torchvision.ops import nms
        kept = []
        for b in range(boxes.shape[0]):
            idx = torch.nonzero(scores[b] > INVALID / 2).reshape(-1)
            keep = idx[nms(boxes[b, idx], scores[b, idx], iou_threshold)]
            kept.append(torch.stack([torch.full_like(keep, b), keep], 1))
        return torch.cat(kept) if kept else boxes.new_zeros((0, 2), dtype=torch.long)

    @staticmethod
    def symbolic(g, boxes, scores, iou_threshold: float):
        const = lambda v, dtype: g.op('Constant', value_t=torch.tensor([v], dtype=dtype))  # noqa
        selected = g.op('NonMaxSuppression', boxes,
                        g.op('Unsqueeze', scores, const(1, torch.long)),
                        const(2**31 - 1, torch.long), const(iou_threshold, torch.float),
                        const(INVALID / 2, torch.float))
        # [K, 3] (image, class = 0, candidate) -> [K, 2]
        return g.op('Gather', selected, g.op('Constant', value_t=torch.tensor([0, 2])), axis_i=1)


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor,
                iou_threshold: float) -> torch.Tensor:
    """mmdet's ``batched_nms`` in every image of a batch: NMS within each
    ``idxs`` group (class or level) through the coordinate offset mmdet uses,
    the largest coordinate taken over the image's valid candidates.
    ``boxes`` [B, M, 4], ``scores`` and ``idxs`` [B, M]; the kept (image,
    candidate) pairs [K, 2]."""
    valid = (scores > INVALID / 2)[..., None]
    # (a 0 in each max: an image without candidates has a defined maximum)
    max_coordinate = torch.where(valid, boxes, torch.zeros_like(boxes)).flatten(1).amax(1)
    offsets = idxs.to(boxes) * (max_coordinate[:, None] + 1)
    return _BatchedNMS.apply(boxes + offsets[..., None], scores, float(iou_threshold))


def keep_top(kept: torch.Tensor, scores: torch.Tensor, k: int):
    """The ``k`` best of each image's kept candidates (``kept`` from
    :func:`batched_nms`), best first, as mmdet's ``keep[:max_per_img]``:
    (indices [B, k'] into the candidates, valid [B, k']) with k' = min(k, M);
    a row past an image's count is not valid."""
    table = torch.full_like(scores, INVALID)
    table = table.index_put((kept[:, 0], kept[:, 1]), scores[kept[:, 0], kept[:, 1]])
    top, idx = topk(table, k)
    return idx, top > INVALID / 2


def nms_iou(nms_cfg) -> float:
    if nms_cfg.get('type', 'nms') != 'nms':
        raise ValueError(f"only nms_cfg type 'nms' exports, but the config has "
                         f"{nms_cfg.get('type')!r}")
    return float(nms_cfg['iou_threshold'])


def topk(scores: torch.Tensor, k: int):
    """The ``k`` highest along the last axis (all of them, sorted, when there
    are fewer or ``k`` <= 0): mmdet's ``sort()[:k]``. The count is a tensor,
    so a graph exported with dynamic height and width keeps it dynamic."""
    n = torch._shape_as_tensor(scores)[-1]
    return scores.topk(torch.clamp(n, max=k) if k > 0 else n, dim=-1)


def gather_rows(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``t`` [B, M, ...] at ``idx`` [B, k] -> [B, k, ...] (per image)."""
    index = idx.reshape(idx.shape + (1, ) * (t.dim() - 2)).expand(
        *idx.shape, *t.shape[2:])
    return t.gather(1, index)


def decode(coder, anchors: torch.Tensor, deltas: torch.Tensor,
           img_shape: torch.Tensor) -> torch.Tensor:
    """mmdet's ``delta2bbox`` of a ``DeltaXYWHBBoxCoder`` for [B, n, 4]
    anchors and deltas, clipped to each image's ``img_shape`` [B, 2] (h, w).
    mmdet's own ``decode`` switches to an ONNX branch that mmdet 3.3 no
    longer ships."""
    d = deltas * deltas.new_tensor(coder.stds) + deltas.new_tensor(coder.means)
    dxy, dwh = d[..., :2], d[..., 2:]
    pxy = (anchors[..., :2] + anchors[..., 2:]) * 0.5
    pwh = anchors[..., 2:] - anchors[..., :2]
    dxy_wh = pwh * dxy
    max_ratio = abs(math.log(16 / 1000))  # mmdet's wh_ratio_clip
    if coder.add_ctr_clamp:
        dxy_wh = dxy_wh.clamp(min=-coder.ctr_clamp, max=coder.ctr_clamp)
        dwh = dwh.clamp(max=max_ratio)
    else:
        dwh = dwh.clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + dxy_wh
    gwh = pwh * dwh.exp()
    boxes = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], -1)
    if coder.clip_border:
        hi = img_shape.to(boxes)[:, None, [1, 0, 1, 0]]  # w, h, w, h
        boxes = torch.min(boxes.clamp(min=0), hi)
    return boxes


def drop_small(scores: torch.Tensor, boxes: torch.Tensor, min_size: float) -> torch.Tensor:
    """``scores`` with the boxes not wider and taller than ``min_size``
    dropped (mmdet's ``min_bbox_size``)."""
    ok = ((boxes[..., 2] - boxes[..., 0]) > min_size) & ((boxes[..., 3] - boxes[..., 1]) >
                                                         min_size)
    return torch.where(ok, scores, torch.full_like(scores, INVALID))


def threshold(scores: torch.Tensor, thr: float) -> torch.Tensor:
    """``scores`` with those not over ``thr`` dropped (mmdet: ``> score_thr``)."""
    return torch.where(scores > thr, scores, torch.full_like(scores, INVALID))


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
