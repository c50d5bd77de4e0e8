"""Fixes for mmdet 3.3.0 bugs that the ReXNet detectors hit (needs mmdet).

Imported by the configs that need it (``custom_imports``), never by
``import rexnet_mm``: it imports mmdet's model zoo.

- SSDHead (SSD, SSDLite) inference: ``BaseDenseHead._predict_by_feat_single``
  reads ``self.loss_cls``, which SSDHead (it computes its loss inline) never
  sets, so every SSD validation or test stops with ``AttributeError: 'SSDHead'
  object has no attribute 'loss_cls'``. SSD's softmax scores need no custom
  loss activation, so ``loss_cls = None`` gives exactly the intended path.
"""
from mmdet.models.dense_heads import SSDHead


def _patch_ssd_head():
    if 'loss_cls' not in vars(SSDHead) and not hasattr(SSDHead, 'loss_cls'):
        SSDHead.loss_cls = None


_patch_ssd_head()
