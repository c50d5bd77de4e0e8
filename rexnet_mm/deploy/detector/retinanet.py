"""RetinaNet: a SingleStageDetector with mmdet's RetinaHead (sigmoid
classification, focal loss in training)."""
from .base import register_adapter
from .dense import DenseAdapter


@register_adapter
class RetinaNetAdapter(DenseAdapter):
    name = 'retinanet'
    supports = 'RetinaNet (SingleStageDetector + RetinaHead)'
    head_name = 'RetinaHead'

    @classmethod
    def matches(cls, model) -> bool:
        return super().matches(model) and model.bbox_head.use_sigmoid_cls
