"""SSD / SSDLite: a SingleStageDetector with mmdet's SSDHead (softmax)."""
from .base import HeadAdapter, register_adapter
from .dense import dense_predict


@register_adapter
class SSDAdapter(HeadAdapter):
    name = 'ssd'
    supports = 'SSD/SSDLite (SingleStageDetector + SSDHead)'

    @classmethod
    def matches(cls, model) -> bool:
        from mmdet.models.dense_heads import SSDHead
        from mmdet.models.detectors import SingleStageDetector
        return isinstance(model, SingleStageDetector) and type(model.bbox_head) is SSDHead

    def predict(self, feats, img_shape, cfg):
        return dense_predict(self.model.bbox_head, feats, img_shape, cfg)
