"""``--precision bf16`` (rexnet_mm.runner.precision): the backbone and neck
run under autocast through forward hooks; the model's methods, state dict
and heads are untouched, and features reach the head as float32."""
import os.path as osp

import pytest
import torch

from rexnet_mm.runner.build import build_from_config
from rexnet_mm.runner.precision import apply_precision
from helpers.tool import ROOT


def test_bf16_hooks_feature_modules_only():
    model, _ = build_from_config(osp.join(ROOT, 'configs', 'classification',
                                          'rexnet-1.0x_4xb128_in1k.py'))
    model.eval()
    keys = list(model.state_dict())
    x = torch.randn(2, 3, 64, 64)
    seen = {}
    model.backbone.layer3.register_forward_hook(lambda m, a, out: seen.update(dtype=out.dtype))
    with torch.no_grad():
        ref = model(x, mode='tensor')
        assert apply_precision(model, 'fp32') is model and seen['dtype'] == torch.float32
        assert apply_precision(model, 'bf16') is model
        feats = model.extract_feat(x)
        got = model(x, mode='tensor')
    assert seen['dtype'] == torch.bfloat16  # inside the backbone: bf16
    assert all(f.dtype == torch.float32 for f in feats)  # handed on: float32
    assert got.dtype == torch.float32 and list(model.state_dict()) == keys
    assert 'extract_feat' not in vars(model)  # no instance patch
    rel = ((got - ref).abs().max() / ref.abs().max()).item()
    assert 0 < rel < 0.05, rel
    with pytest.raises(ValueError, match="precision must be one of"):
        apply_precision(model, 'fp8')
