"""Faster R-CNN and Mask R-CNN: RPNHead proposals, then a StandardRoIHead's
ConvFC bbox head on RoiAlign features (and an FCNMaskHead on those of the
final boxes)."""
import torch

from .base import HeadAdapter, register_adapter
from .dense import level_candidates
from .ops import (batched_nms, decode, drop_small, gather_rows, keep_top, nms_iou, roi_feats,
                  threshold, topk)


def _two_stage(model) -> bool:
    from mmdet.models.dense_heads import RPNHead
    from mmdet.models.detectors import TwoStageDetector
    from mmdet.models.roi_heads import StandardRoIHead
    from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
    return (isinstance(model, TwoStageDetector) and type(model.rpn_head) is RPNHead
            and type(model.roi_head) is StandardRoIHead
            and isinstance(model.roi_head.bbox_head, ConvFCBBoxHead)
            and type(model.roi_head.bbox_roi_extractor) is SingleRoIExtractor
            and not model.roi_head.bbox_head.reg_class_agnostic)


@register_adapter
class FasterRCNNAdapter(HeadAdapter):
    name = 'faster_rcnn'
    supports = ('Faster R-CNN (RPNHead + StandardRoIHead with a Shared2FC/ConvFC bbox '
                'head)')

    @classmethod
    def matches(cls, model) -> bool:
        return _two_stage(model) and not model.roi_head.with_mask

    def final_cfg(self):
        return self.model.test_cfg.rcnn

    def coded_heads(self):
        return [self.model.rpn_head, self.model.roi_head.bbox_head]

    def predict(self, feats, img_shape, cfg):
        proposals, valid = self._rpn(feats, img_shape)
        return self._rcnn(feats, proposals, valid, img_shape, cfg) + ([], )

    def _rpn(self, feats, img_shape):
        """Each image's proposals [B, P, 4] and which are real [B, P]."""
        head, cfg = self.model.rpn_head, self.model.test_cfg.rpn
        nms_pre = cfg.get('nms_pre', -1)
        boxes, scores, levels = [], [], []
        for level, (s, d, pri) in enumerate(level_candidates(head, feats)):
            s = s.flatten(1).sigmoid()
            if nms_pre > 0:  # (all of them when fewer: NMS sorts them anyway)
                s, idx = topk(s, nms_pre)
                d, pri = gather_rows(d, idx), pri[idx]
            boxes.append(decode(head.bbox_coder, pri, d, img_shape))
            scores.append(s)
            levels.append(torch.full_like(s, level, dtype=torch.long))
        boxes, scores, levels = torch.cat(boxes, 1), torch.cat(scores, 1), torch.cat(levels, 1)
        if cfg.get('min_bbox_size', -1) >= 0:
            scores = drop_small(scores, boxes, cfg.min_bbox_size)
        kept = batched_nms(boxes, scores, levels, nms_iou(cfg.nms))
        idx, valid = keep_top(kept, scores, cfg.max_per_img)
        return gather_rows(boxes, idx), valid

    def _rcnn(self, feats, proposals, valid, img_shape, cfg):
        roi_head = self.model.roi_head
        head = roi_head.bbox_head
        batch, num_classes = proposals.shape[0], head.num_classes
        n_in = roi_head.bbox_roi_extractor.num_inputs
        cls_score, bbox_pred = head(roi_feats(roi_head.bbox_roi_extractor, feats[:n_in],
                                              rois_of(proposals)))
        # (roi, class) pairs, roi-major, as mmdet's multiclass_nms flattens them
        scores = cls_score.softmax(-1)[:, :-1].reshape(batch, -1, num_classes)
        scores = threshold(torch.where(valid[..., None], scores, torch.zeros_like(scores)),
                           cfg['score_thr']).flatten(1)
        labels = torch.arange(num_classes).expand_as(scores.reshape(batch, -1, num_classes))
        deltas = bbox_pred.reshape(batch, -1, head.bbox_coder.encode_size)
        anchors = proposals[:, :, None].expand(-1, -1, num_classes, 4).reshape(batch, -1, 4)
        boxes = decode(head.bbox_coder, anchors, deltas, img_shape)
        labels = labels.flatten(1)
        kept = batched_nms(boxes, scores, labels, nms_iou(cfg['nms']))
        idx, valid = keep_top(kept, scores, cfg['max_per_img'])
        return gather_rows(boxes, idx), scores.gather(1, idx), labels.gather(1, idx), valid


def rois_of(boxes):
    """[B, n, 4] boxes -> [B * n, 5] RoIs (image index first)."""
    index = torch.arange(boxes.shape[0]).to(boxes)[:, None, None].expand(-1, boxes.shape[1], 1)
    return torch.cat([index, boxes], -1).reshape(-1, 5)


@register_adapter
class MaskRCNNAdapter(FasterRCNNAdapter):
    name = 'mask_rcnn'
    supports = 'Mask R-CNN (the same + FCNMaskHead)'
    extra_outputs = ('masks', )

    @classmethod
    def matches(cls, model) -> bool:
        from mmdet.models.roi_heads.mask_heads import FCNMaskHead
        from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
        return (_two_stage(model) and model.roi_head.with_mask
                and type(model.roi_head.mask_head) is FCNMaskHead
                and type(model.roi_head.mask_roi_extractor) is SingleRoIExtractor
                and not model.roi_head.mask_head.class_agnostic)

    def predict(self, feats, img_shape, cfg):
        boxes, scores, labels, valid, _ = super().predict(feats, img_shape, cfg)
        return boxes, scores, labels, valid, [self._mask(feats, boxes, labels, valid)]

    def _mask(self, feats, boxes, labels, valid):
        """Each detection's mask logits of its class [B, k, 28, 28]: the mask
        head runs on the valid rows only (-inf in the others)."""
        roi_head = self.model.roi_head
        rows = torch.nonzero(valid.flatten()).reshape(-1)
        n_in = roi_head.mask_roi_extractor.num_inputs
        logits = roi_head.mask_head(roi_feats(roi_head.mask_roi_extractor, feats[:n_in],
                                              rois_of(boxes)[rows]))
        label = labels.flatten()[rows]
        index = label[:, None, None, None].expand(-1, 1, *logits.shape[2:])
        masks = logits.gather(1, index)[:, 0]  # each detection's class
        out = valid.flatten().to(masks)[:, None, None].expand(-1, *masks.shape[1:])
        out = torch.full_like(out, -float('inf')).index_put((rows, ), masks)
        return out.reshape(*valid.shape, *masks.shape[1:])
