"""One adapter per head family: each says which mmdet detectors it takes and
writes that head's test path with standard ONNX ops; :func:`adapter_for`
picks one from :data:`ADAPTERS` (in order: the first that matches). Adding a
family is one module that registers its adapter, plus its test."""
from typing import List, Tuple

import torch

ADAPTERS: List[type] = []


def register_adapter(cls):
    ADAPTERS.append(cls)
    return cls


class HeadAdapter:
    """The test path of one head family, after the backbone and neck.

    ``name`` is recorded in the file's metadata (``detector``); ``supports``
    says what it takes, for the error a model nobody takes gets;
    ``extra_outputs`` names outputs after ``dets`` and ``labels`` (one row
    per detection, padded with -inf)."""
    name = ''
    supports = ''
    extra_outputs: Tuple[str, ...] = ()

    def __init__(self, model):
        self.model = model

    @classmethod
    def matches(cls, model) -> bool:
        raise NotImplementedError

    def final_cfg(self):
        """The test_cfg holding the final score_thr, nms and max_per_img."""
        return self.model.test_cfg

    def coded_heads(self) -> list:
        """The heads whose ``bbox_coder`` decodes boxes (checked by
        :func:`adapter_for`: only DeltaXYWHBBoxCoder exports)."""
        return [self.model.bbox_head]

    def predict(self, feats, img_shape: torch.Tensor, cfg: dict):
        """For a batch (``img_shape`` [B, 2]): (boxes [B, k, 4], scores [B, k],
        labels [B, k], valid [B, k], [extra outputs [B, k, ...]]), each
        image's detections best first, the rows past its count not valid."""
        raise NotImplementedError


def _unsupported(model, why: str) -> ValueError:
    supported = '; '.join(a.supports for a in ADAPTERS)
    return ValueError(f'export_onnx.py cannot export this detector: {why}. Supported: '
                      f'{supported}; without DCN')


def adapter_for(model) -> HeadAdapter:
    """The adapter of ``model``'s head family, or a ValueError naming what
    is supported."""
    from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
    cls = next((a for a in ADAPTERS if a.matches(model)), None)
    if cls is None:
        heads = [type(getattr(model, h)).__name__ for h in ('bbox_head', 'rpn_head', 'roi_head')
                 if getattr(model, h, None) is not None]
        raise _unsupported(model, f'a {type(model).__name__} with '
                                  f'{", ".join(heads) or "no known head"}')
    adapter = cls(model)
    if any(type(h.bbox_coder) is not DeltaXYWHBBoxCoder for h in adapter.coded_heads()):
        raise _unsupported(model, 'its box coder is not DeltaXYWHBBoxCoder')
    dcn = [n for n, m in model.named_modules() if 'DeformConv' in type(m).__name__
           or 'ModulatedDeform' in type(m).__name__]
    if dcn:
        raise _unsupported(model, f'it has deformable convolutions ({dcn[0]}), which '
                                  f'standard ONNX lacks')
    return adapter


def detector_kind(model) -> str:
    """The name of ``model``'s adapter ('ssd', 'retinanet', 'faster_rcnn',
    'mask_rcnn'); a ValueError naming what is supported otherwise."""
    return adapter_for(model).name
