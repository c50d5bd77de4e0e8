"""RetinaNet: a SingleStageDetector with mmdet's RetinaHead (sigmoid
classification, focal loss in training)."""
from .base import HeadAdapter, register_adapter
from .dense import dense_predict


@register_adapter
class RetinaNetAdapter(HeadAdapter):
    name = 'retinanet'
    supports = 'RetinaNet (SingleStageDetector + RetinaHead)'

    @classmethod
    def matches(cls, model) -> bool:
        from mmdet.models.dense_heads import RetinaHead
        from mmdet.models.detectors import SingleStageDetector
        return (isinstance(model, SingleStageDetector) and type(model.bbox_head) is RetinaHead
                and model.bbox_head.use_sigmoid_cls)

    def predict(self, feats, img_shape, cfg):
        return dense_predict(self.model.bbox_head, feats, img_shape, cfg)
