"""The test path shared by single-stage anchor heads (mmdet's
``BaseDenseHead.predict_by_feat``): per level, the class scores (sigmoid,
or softmax without the background), the top ``nms_pre`` (anchor, class)
pairs above ``score_thr``, their boxes decoded; then class-aware NMS."""
import torch

from .base import HeadAdapter
from .ops import batched_nms, decode, nms_iou, positive_size, topk


def dense_predict(head, feats, img_shape: torch.Tensor, cfg: dict):
    cls_scores, bbox_preds = head(feats)
    priors = head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores],
                                              dtype=cls_scores[0].dtype,
                                              device=cls_scores[0].device)
    num_classes = head.num_classes
    nms_pre = cfg.get('nms_pre', -1)
    boxes, scores, labels = [], [], []
    for cls, reg, pri in zip(cls_scores, bbox_preds, priors):
        s = cls[0].permute(1, 2, 0).reshape(-1, head.cls_out_channels)
        s = s.sigmoid() if head.use_sigmoid_cls else s.softmax(-1)[:, :-1]
        d = reg[0].permute(1, 2, 0).reshape(-1, head.bbox_coder.encode_size)
        # top-k then threshold keeps what mmdet's threshold then top-k keeps
        top, idx = topk(s.reshape(-1), nms_pre)
        anchor = torch.div(idx, num_classes, rounding_mode='floor')
        keep = top > cfg.get('score_thr', 0)
        anchor, top, idx = anchor[keep], top[keep], idx[keep]
        boxes.append(decode(head.bbox_coder, pri[anchor], d[anchor], img_shape))
        scores.append(top)
        labels.append(idx - anchor * num_classes)
    boxes, scores, labels = torch.cat(boxes), torch.cat(scores), torch.cat(labels)
    if cfg.get('min_bbox_size', -1) >= 0:
        valid = positive_size(boxes, cfg['min_bbox_size'])
        boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
    keep = batched_nms(boxes, scores, labels, nms_iou(cfg['nms']))[:cfg['max_per_img']]
    return boxes[keep], scores[keep], labels[keep], []


class DenseAdapter(HeadAdapter):
    """A SingleStageDetector whose ``bbox_head`` is exactly mmdet's
    ``head_name`` (a dense_heads class), run by :func:`dense_predict`."""
    head_name = ''

    @classmethod
    def matches(cls, model) -> bool:
        from mmdet.models import dense_heads
        from mmdet.models.detectors import SingleStageDetector
        return (isinstance(model, SingleStageDetector)
                and type(model.bbox_head) is getattr(dense_heads, cls.head_name))

    def predict(self, feats, img_shape, cfg):
        return dense_predict(self.model.bbox_head, feats, img_shape, cfg)
