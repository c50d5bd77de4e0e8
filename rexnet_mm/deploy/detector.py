"""The test path of the ReXNet detectors as one traceable module, for ONNX.

:class:`DetectorExport` wraps a built mmdet detector (SSD/SSDLite, Faster
R-CNN, Mask R-CNN) and runs what ``model.predict`` runs, written with ops
that export to standard ONNX: the detector's own backbone, neck and heads,
its prior generator and box coder, then the post-processing of mmdet 3.3
re-expressed with ``torchvision.ops.nms`` (ONNX NonMaxSuppression, class-
aware through mmdet's coordinate offset) and ``torchvision.ops.roi_align``
(ONNX RoiAlign, half_pixel for mmcv's ``aligned=True``). Nothing in mmdet is
patched. Boxes come out in the coordinates of the graph's input; the
runtime (:class:`rexnet_mm.deploy.runtime.OnnxDetector`) divides them by the
resize factor and pastes the masks, as ``rescale=True`` does.

Inputs: ``img`` [1, 3, H, W] (normalised, or with ``preprocess`` the BGR
0-255 image) padded at the bottom and right, and ``img_shape`` [2] (the
unpadded height and width, float). Outputs: ``dets`` [1, N, 5] (x1, y1, x2,
y2, score), ``labels`` [1, N] (-1 where there is no detection) and, for
Mask R-CNN, ``masks`` [1, N, 28, 28] (mask logits of each detection's class).
"""
import math
from typing import List, Optional

import torch
import torch.nn as nn


def detector_kind(model) -> str:
    """'ssd', 'faster_rcnn' or 'mask_rcnn'; a ValueError that names what is
    supported for anything else (RetinaNet, DCN, cascades, ...)."""
    from mmdet.models.dense_heads import RPNHead, SSDHead
    from mmdet.models.detectors import SingleStageDetector, TwoStageDetector
    from mmdet.models.roi_heads import StandardRoIHead
    from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead
    from mmdet.models.roi_heads.mask_heads import FCNMaskHead
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
    name = type(model).__name__
    kind = None
    if isinstance(model, SingleStageDetector) and type(model.bbox_head) is SSDHead:
        kind = 'ssd'
    elif (isinstance(model, TwoStageDetector) and type(model.rpn_head) is RPNHead
          and type(model.roi_head) is StandardRoIHead
          and isinstance(model.roi_head.bbox_head, ConvFCBBoxHead)
          and type(model.roi_head.bbox_roi_extractor) is SingleRoIExtractor
          and not model.roi_head.bbox_head.reg_class_agnostic):
        kind = 'faster_rcnn'
        if model.roi_head.with_mask:
            ok = (type(model.roi_head.mask_head) is FCNMaskHead
                  and type(model.roi_head.mask_roi_extractor) is SingleRoIExtractor
                  and not model.roi_head.mask_head.class_agnostic)
            kind = 'mask_rcnn' if ok else None
    if kind is not None:
        from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
        if kind == 'ssd':
            heads = [model.bbox_head]
        else:
            heads = [model.rpn_head, model.roi_head.bbox_head]
        if any(type(h.bbox_coder) is not DeltaXYWHBBoxCoder for h in heads):
            kind, why = None, 'its box coder is not DeltaXYWHBBoxCoder'
    if kind is not None:
        dcn = [n for n, m in model.named_modules() if 'DeformConv' in type(m).__name__
               or 'ModulatedDeform' in type(m).__name__]
        if dcn:
            kind = None
            why = f'it has deformable convolutions ({dcn[0]}), which standard ONNX lacks'
    else:
        heads = [type(getattr(model, h)).__name__ for h in ('bbox_head', 'rpn_head', 'roi_head')
                 if getattr(model, h, None) is not None]
        why = f'a {name} with {", ".join(heads) or "no known head"}'
    if kind is None:
        raise ValueError(
            f'export_onnx.py cannot export this detector: {why}. Supported: SSD/SSDLite '
            '(SingleStageDetector + SSDHead), Faster R-CNN (RPNHead + StandardRoIHead with a '
            'Shared2FC/ConvFC bbox head) and Mask R-CNN (the same + FCNMaskHead), without DCN')
    return kind


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


def _nms_iou(nms_cfg) -> float:
    if nms_cfg.get('type', 'nms') != 'nms':
        raise ValueError(f"only nms_cfg type 'nms' exports, but the config has "
                         f"{nms_cfg.get('type')!r}")
    return float(nms_cfg['iou_threshold'])


def _topk(scores: torch.Tensor, k: int):
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


def _positive_size(boxes: torch.Tensor, min_size: float) -> torch.Tensor:
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


class DetectorExport(nn.Module):
    """An mmdet detector's test path as tensors in, tensors out (see the
    module docstring). ``max_dets``: N, the fixed number of output rows
    (default: the config's ``max_per_img``); ``score_thr``: overrides the
    config's final score threshold; ``preprocess``: the graph normalises
    (mean, std, BGR->RGB of the data preprocessor) and zeroes the padding."""

    def __init__(self, model, max_dets: Optional[int] = None, score_thr: Optional[float] = None,
                 preprocess: bool = False):
        super().__init__()
        self.kind = detector_kind(model)
        self.model = model
        cfg = model.test_cfg if self.kind == 'ssd' else model.test_cfg.rcnn
        self.final_cfg = dict(cfg)
        if score_thr is not None:
            self.final_cfg['score_thr'] = float(score_thr)
        self.max_dets = int(max_dets or cfg.max_per_img)
        self.preprocess = preprocess
        pre = model.data_preprocessor
        self.register_buffer('mean', pre.mean.detach().clone().reshape(1, 3, 1, 1), False)
        self.register_buffer('std', pre.std.detach().clone().reshape(1, 3, 1, 1), False)
        self.bgr_to_rgb = bool(getattr(pre, '_channel_conversion', False))
        self.output_names = ['dets', 'labels'] + (['masks'] if self.kind == 'mask_rcnn' else [])

    # --------------------------------------------------------------- heads
    def _ssd(self, feats, img_shape):
        head, cfg = self.model.bbox_head, self.final_cfg
        cls_scores, bbox_preds = head(feats)
        priors = head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores],
                                                  dtype=cls_scores[0].dtype,
                                                  device=cls_scores[0].device)
        num_classes = head.num_classes
        nms_pre = cfg.get('nms_pre', -1)
        boxes, scores, labels = [], [], []
        for cls, reg, pri in zip(cls_scores, bbox_preds, priors):
            s = cls[0].permute(1, 2, 0).reshape(-1, num_classes + 1).softmax(-1)[:, :-1]
            d = reg[0].permute(1, 2, 0).reshape(-1, head.bbox_coder.encode_size)
            top, idx = _topk(s.reshape(-1), nms_pre)
            anchor = torch.div(idx, num_classes, rounding_mode='floor')
            keep = top > cfg.get('score_thr', 0)
            anchor, top, idx = anchor[keep], top[keep], idx[keep]
            boxes.append(decode(head.bbox_coder, pri[anchor], d[anchor], img_shape))
            scores.append(top)
            labels.append(idx - anchor * num_classes)
        boxes, scores, labels = torch.cat(boxes), torch.cat(scores), torch.cat(labels)
        return self._final_nms(boxes, scores, labels, cfg)

    def _final_nms(self, boxes, scores, labels, cfg):
        if cfg.get('min_bbox_size', -1) >= 0:
            valid = _positive_size(boxes, cfg['min_bbox_size'])
            boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
        keep = batched_nms(boxes, scores, labels, _nms_iou(cfg['nms']))[:cfg['max_per_img']]
        return boxes[keep], scores[keep], labels[keep]

    def _rpn(self, feats, img_shape):
        head, cfg = self.model.rpn_head, self.model.test_cfg.rpn
        cls_scores, bbox_preds = head(feats)
        priors = head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores],
                                                  dtype=cls_scores[0].dtype,
                                                  device=cls_scores[0].device)
        nms_pre = cfg.get('nms_pre', -1)
        boxes, scores, levels = [], [], []
        for level, (cls, reg, pri) in enumerate(zip(cls_scores, bbox_preds, priors)):
            s = cls[0].permute(1, 2, 0).reshape(-1).sigmoid()
            d = reg[0].permute(1, 2, 0).reshape(-1, head.bbox_coder.encode_size)
            if nms_pre > 0:  # (all of them when fewer: NMS sorts them anyway)
                s, idx = _topk(s, nms_pre)
                d, pri = d[idx], pri[idx]
            boxes.append(decode(head.bbox_coder, pri, d, img_shape))
            scores.append(s)
            levels.append(torch.full_like(s, level, dtype=torch.long))
        boxes, scores, levels = torch.cat(boxes), torch.cat(scores), torch.cat(levels)
        if cfg.get('min_bbox_size', -1) >= 0:
            valid = _positive_size(boxes, cfg.min_bbox_size)
            boxes, scores, levels = boxes[valid], scores[valid], levels[valid]
        keep = batched_nms(boxes, scores, levels, _nms_iou(cfg.nms))[:cfg.max_per_img]
        return boxes[keep]

    def _rcnn(self, feats, proposals, img_shape):
        roi_head, cfg = self.model.roi_head, self.final_cfg
        head = roi_head.bbox_head
        rois = torch.cat([torch.zeros_like(proposals[:, :1]), proposals], 1)
        n_in = roi_head.bbox_roi_extractor.num_inputs
        cls_score, bbox_pred = head(roi_feats(roi_head.bbox_roi_extractor, feats[:n_in], rois))
        num_classes = head.num_classes
        # (roi, class) pairs, roi-major, as mmdet's multiclass_nms flattens them
        scores = cls_score.softmax(-1)[:, :-1]
        labels = torch.arange(num_classes).expand_as(scores).reshape(-1)
        scores = scores.reshape(-1)
        deltas = bbox_pred.reshape(-1, head.bbox_coder.encode_size)
        anchors = proposals[:, None].expand(-1, num_classes, 4).reshape(-1, 4)
        boxes = decode(head.bbox_coder, anchors, deltas, img_shape)
        keep = scores > cfg['score_thr']
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        keep = batched_nms(boxes, scores, labels, _nms_iou(cfg['nms']))[:cfg['max_per_img']]
        return boxes[keep], scores[keep], labels[keep]

    def _mask(self, feats, boxes, labels):
        roi_head = self.model.roi_head
        rois = torch.cat([torch.zeros_like(boxes[:, :1]), boxes], 1)
        n_in = roi_head.mask_roi_extractor.num_inputs
        logits = roi_head.mask_head(roi_feats(roi_head.mask_roi_extractor, feats[:n_in], rois))
        index = labels[:, None, None, None].expand(-1, 1, *logits.shape[2:])
        return logits.gather(1, index)[:, 0]  # each detection's class

    # --------------------------------------------------------------- forward
    def _normalise(self, img, img_shape):
        if self.bgr_to_rgb:
            img = img.flip(1)
        x = (img - self.mean) / self.std
        h, w = img.shape[-2:]
        rows = torch.arange(h, device=img.device).to(img_shape) < img_shape[0]
        cols = torch.arange(w, device=img.device).to(img_shape) < img_shape[1]
        return x * (rows[:, None] & cols[None, :]).to(x)  # mmdet pads after normalising

    def _pad(self, t, fill):
        """[n, ...] -> [1, N, ...]: the first N rows, filled up with ``fill``."""
        pad = t.new_full((self.max_dets, ) + tuple(t.shape[1:]), fill)
        return torch.cat([t, pad])[:self.max_dets][None]

    def forward(self, img: torch.Tensor, img_shape: torch.Tensor):
        x = self._normalise(img, img_shape) if self.preprocess else img
        feats = self.model.extract_feat(x)
        if self.kind == 'ssd':
            boxes, scores, labels = self._ssd(feats, img_shape)
        else:
            proposals = self._rpn(feats, img_shape)
            boxes, scores, labels = self._rcnn(feats, proposals, img_shape)
        dets = torch.cat([boxes, scores[:, None]], 1)
        out = [self._pad(dets, 0.), self._pad(labels, -1)]
        if self.kind == 'mask_rcnn':
            out.append(self._pad(self._mask(feats, boxes, labels), -math.inf))
        return tuple(out)
