"""Fused inference (``switch_to_deploy``): every BN folded, outputs unchanged,
training refused, and the fused checkpoint round trip through the tool and
the ``deploy=True`` config knob."""
import os.path as osp
import sys

import pytest
import torch

from rexnet_mm.models import ARCH_SETTINGS, ReXNet
from oracles.official_rexnet import randomize_bn

ALL = tuple(range(7))


def _rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.mark.parametrize('arch', list(ARCH_SETTINGS))
def test_fused_backbone_equals_unfused_at_every_tap(arch):
    torch.manual_seed(0)
    m = randomize_bn(ReXNet(arch, out_indices=ALL), seed=1).eval()
    x = torch.randn(2, 3, 64, 80)
    with torch.no_grad():
        ref = m(x)
        m.switch_to_deploy()
        out = m(x)
    assert not any(isinstance(mod, torch.nn.modules.batchnorm._BatchNorm) for mod in m.modules())
    assert max(_rel(a, b) for a, b in zip(out, ref)) <= 1e-5
    # the config knob builds the same structure: the fused weights load strictly
    built = ReXNet(arch, out_indices=ALL, deploy=True).eval()
    built.load_state_dict(m.state_dict(), strict=True)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(built(x), out))


def test_fused_model_refuses_training_but_train_stays_callable():
    m = ReXNet('1.0x', out_indices=(2, )).train()
    with pytest.raises(RuntimeError, match=r'call model.eval\(\) first'):
        m.switch_to_deploy()
    m.eval().switch_to_deploy()
    m.train()  # exporters and wrappers toggle it
    with pytest.raises(RuntimeError, match='fused for deployment .* cannot train'):
        m(torch.randn(2, 3, 32, 32))
    with torch.no_grad():
        assert m(torch.randn(2, 3, 32, 32))[0].shape == (2, 61, 4, 4)


def test_lite_head_folds_its_bn():
    pytest.importorskip('mmpretrain')
    from rexnet_mm.models.heads import ReXNetClsHead
    head = randomize_bn(ReXNetClsHead(10, 1280, mid_channels=1024), seed=2).eval()
    feats = (torch.randn(4, 1280), )
    with torch.no_grad():
        ref = head(feats)
        head.switch_to_deploy()
        out = head(feats)
    assert isinstance(head.hidden[1], torch.nn.Identity) and _rel(out, ref) <= 1e-5
    built = ReXNetClsHead(10, 1280, mid_channels=1024, deploy=True).eval()
    built.load_state_dict(head.state_dict(), strict=True)


def test_reparameterize_tool_and_deploy_knob(tmp_path):
    pytest.importorskip('mmpretrain')
    from mmengine.config import Config

    from rexnet_mm.runner.build import build_from_config
    from helpers.tool import ROOT, run_tool
    cfg_path = osp.join(ROOT, 'configs/classification/rexnet-lite-1.0x_4xb128_in1k.py')
    torch.manual_seed(0)
    model, _ = build_from_config(cfg_path)
    randomize_bn(model, seed=3).eval()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, tmp_path / 'plain.pth')
    tool = osp.join(ROOT, 'tools/model_converters/reparameterize_model.py')
    out = run_tool([sys.executable, tool, cfg_path, str(tmp_path / 'plain.pth'),
                    str(tmp_path / 'fused.pth')])
    assert 'model.backbone.deploy=True' in out and 'model.head.deploy=True' in out
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict({'model.backbone.deploy': True, 'model.head.deploy': True})
    fused, _ = build_from_config(cfg)
    ckpt = torch.load(tmp_path / 'fused.pth')
    assert ckpt['meta']['deploy'] is True
    fused.load_state_dict(ckpt['state_dict'], strict=True)
    fused.eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        assert _rel(fused(x, mode='tensor'), model(x, mode='tensor')) <= 1e-5
