"""The traceable module: normalisation (with ``preprocess``), the detector's
backbone and neck, its head family's adapter, and fixed-size outputs."""
from typing import Optional

import torch
import torch.nn as nn

from .base import adapter_for


class DetectorExport(nn.Module):
    """An mmdet detector's test path as tensors in, tensors out (see the
    package docstring). ``max_dets``: N, the fixed number of output rows
    (default: the config's ``max_per_img``); ``score_thr``: overrides the
    config's final score threshold; ``preprocess``: the graph normalises
    (mean, std, BGR->RGB of the data preprocessor) and zeroes the padding."""

    def __init__(self, model, max_dets: Optional[int] = None, score_thr: Optional[float] = None,
                 preprocess: bool = False):
        super().__init__()
        self.adapter = adapter_for(model)
        self.kind = self.adapter.name
        self.model = model
        cfg = self.adapter.final_cfg()
        self.final_cfg = dict(cfg)
        if score_thr is not None:
            self.final_cfg['score_thr'] = float(score_thr)
        self.max_dets = int(max_dets or cfg.max_per_img)
        self.preprocess = preprocess
        pre = model.data_preprocessor
        self.register_buffer('mean', pre.mean.detach().clone().reshape(1, 3, 1, 1), False)
        self.register_buffer('std', pre.std.detach().clone().reshape(1, 3, 1, 1), False)
        self.bgr_to_rgb = bool(getattr(pre, '_channel_conversion', False))
        self.output_names = ['dets', 'labels', *self.adapter.extra_outputs]

    def _normalise(self, img, img_shape):
        if self.bgr_to_rgb:
            img = img.flip(1)
        x = (img - self.mean) / self.std
        h, w = img.shape[-2:]
        rows = torch.arange(h, device=img.device).to(img_shape)[None] < img_shape[:, :1]
        cols = torch.arange(w, device=img.device).to(img_shape)[None] < img_shape[:, 1:]
        inside = rows[:, None, :, None] & cols[:, None, None, :]
        return x * inside.to(x)  # mmdet pads after normalising

    def _pad(self, t, valid, fill):
        """[B, k, ...] -> [B, N, ...]: the rows that are not valid and those
        up to N filled with ``fill``."""
        shape = valid.shape + (1, ) * (t.dim() - 2)
        t = torch.where(valid.reshape(shape), t, torch.full_like(t, fill))
        pad = torch.full_like(t[:, :1], fill).expand(-1, self.max_dets, *t.shape[2:])
        return torch.cat([t, pad], 1)[:, :self.max_dets]

    def forward(self, img: torch.Tensor, img_shape: torch.Tensor):
        x = self._normalise(img, img_shape) if self.preprocess else img
        feats = self.model.extract_feat(x)
        boxes, scores, labels, valid, extra = self.adapter.predict(feats, img_shape,
                                                                   self.final_cfg)
        dets = torch.cat([boxes, scores[..., None]], -1)
        return (self._pad(dets, valid, 0.), self._pad(labels, valid, -1),
                *(self._pad(t, valid, -float('inf')) for t in extra))
