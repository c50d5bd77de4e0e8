"""The test path shared by single-stage anchor heads (mmdet's
``BaseDenseHead.predict_by_feat``), for every image of a batch: per level,
the class scores (sigmoid, or softmax without the background), the top
``nms_pre`` (anchor, class) pairs above ``score_thr``, their boxes decoded;
then class-aware NMS and the best ``max_per_img``."""
import torch

from .base import HeadAdapter
from .ops import batched_nms, decode, drop_small, gather_rows, keep_top, nms_iou, threshold, topk


def level_candidates(head, feats):
    """Per level: (scores [B, A, C], box deltas [B, A, 4], priors [A, 4])."""
    cls_scores, bbox_preds = head(feats)
    priors = head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores],
                                              dtype=cls_scores[0].dtype,
                                              device=cls_scores[0].device)
    batch = cls_scores[0].shape[0]
    for cls, reg, pri in zip(cls_scores, bbox_preds, priors):
        s = cls.permute(0, 2, 3, 1).reshape(batch, -1, head.cls_out_channels)
        d = reg.permute(0, 2, 3, 1).reshape(batch, -1, head.bbox_coder.encode_size)
        yield s, d, pri


def dense_predict(head, feats, img_shape: torch.Tensor, cfg: dict):
    """(boxes [B, k, 4], scores [B, k], labels [B, k], valid [B, k], [])."""
    num_classes = head.num_classes
    nms_pre = cfg.get('nms_pre', -1)
    boxes, scores, labels = [], [], []
    for s, d, pri in level_candidates(head, feats):
        s = s.sigmoid() if head.use_sigmoid_cls else s.softmax(-1)[..., :-1]
        # top-k then threshold keeps what mmdet's threshold then top-k keeps
        top, idx = topk(s.flatten(1), nms_pre)
        anchor = torch.div(idx, num_classes, rounding_mode='floor')
        boxes.append(decode(head.bbox_coder, pri[anchor], gather_rows(d, anchor), img_shape))
        scores.append(threshold(top, cfg.get('score_thr', 0)))
        labels.append(idx - anchor * num_classes)
    boxes, scores, labels = torch.cat(boxes, 1), torch.cat(scores, 1), torch.cat(labels, 1)
    if cfg.get('min_bbox_size', -1) >= 0:
        scores = drop_small(scores, boxes, cfg['min_bbox_size'])
    kept = batched_nms(boxes, scores, labels, nms_iou(cfg['nms']))
    idx, valid = keep_top(kept, scores, cfg['max_per_img'])
    return (gather_rows(boxes, idx), scores.gather(1, idx), labels.gather(1, idx), valid, [])


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
