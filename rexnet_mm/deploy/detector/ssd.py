"""SSD / SSDLite: a SingleStageDetector with mmdet's SSDHead (softmax)."""
from .base import register_adapter
from .dense import DenseAdapter


@register_adapter
class SSDAdapter(DenseAdapter):
    name = 'ssd'
    supports = 'SSD/SSDLite (SingleStageDetector + SSDHead)'
    head_name = 'SSDHead'
