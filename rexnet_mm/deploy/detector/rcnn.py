"""Faster R-CNN and Mask R-CNN: RPNHead proposals, then a StandardRoIHead's
ConvFC bbox head on RoiAlign features (and an FCNMaskHead on those of the
final boxes)."""
import torch

from .base import HeadAdapter, register_adapter
from .ops import batched_nms, decode, nms_iou, positive_size, roi_feats, topk


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
        proposals = self._rpn(feats, img_shape)
        return self._rcnn(feats, proposals, img_shape, cfg) + ([], )

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
                s, idx = topk(s, nms_pre)
                d, pri = d[idx], pri[idx]
            boxes.append(decode(head.bbox_coder, pri, d, img_shape))
            scores.append(s)
            levels.append(torch.full_like(s, level, dtype=torch.long))
        boxes, scores, levels = torch.cat(boxes), torch.cat(scores), torch.cat(levels)
        if cfg.get('min_bbox_size', -1) >= 0:
            valid = positive_size(boxes, cfg.min_bbox_size)
            boxes, scores, levels = boxes[valid], scores[valid], levels[valid]
        keep = batched_nms(boxes, scores, levels, nms_iou(cfg.nms))[:cfg.max_per_img]
        return boxes[keep]

    def _rcnn(self, feats, proposals, img_shape, cfg):
        roi_head = self.model.roi_head
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
        keep = batched_nms(boxes, scores, labels, nms_iou(cfg['nms']))[:cfg['max_per_img']]
        return boxes[keep], scores[keep], labels[keep]


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
        boxes, scores, labels, _ = super().predict(feats, img_shape, cfg)
        return boxes, scores, labels, [self._mask(feats, boxes, labels)]

    def _mask(self, feats, boxes, labels):
        roi_head = self.model.roi_head
        rois = torch.cat([torch.zeros_like(boxes[:, :1]), boxes], 1)
        n_in = roi_head.mask_roi_extractor.num_inputs
        logits = roi_head.mask_head(roi_feats(roi_head.mask_roi_extractor, feats[:n_in], rois))
        index = labels[:, None, None, None].expand(-1, 1, *logits.shape[2:])
        return logits.gather(1, index)[:, 0]  # each detection's class
