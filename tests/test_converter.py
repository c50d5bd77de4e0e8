"""tools/model_converters/rexnet_to_mm.py and loading its output through
init_cfg: layouts detected, variants inferred, nothing loaded half-way."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from rexnet_mm.models import ReXNet
from official_rexnet import official_model, randomize_bn

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOL = osp.join(ROOT, 'tools', 'model_converters', 'rexnet_to_mm.py')


def convert(src, dst, *extra):
    return subprocess.run([sys.executable, TOOL, str(src), str(dst), *extra], capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, PYTHONPATH=ROOT))


@pytest.mark.parametrize('arch,wrap', [('0.9x', None), ('lite-1.3x', 'state_dict'),
                                       ('2.2x', 'model')])
def test_official_checkpoint_converts_and_loads_strictly(tmp_path, arch, wrap):
    ref = randomize_bn(official_model(arch), seed=5).eval()
    sd = ref.state_dict()
    src = tmp_path / 'official.pth'
    torch.save({wrap: sd} if wrap else sd, src)
    dst = tmp_path / 'out' / 'rexnet.pth'
    proc = convert(src, dst)
    assert proc.returncode == 0, proc.stderr
    layout = 'official-lite' if arch.startswith('lite') else 'official'
    assert f'detected layout: {layout}' in proc.stdout
    assert f'detected variant: {arch} (1000 classes' in proc.stdout
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['arch'] == arch
    assert all(k.startswith(('backbone.', 'head.')) for k in ckpt['state_dict'])
    # through init_cfg, as the configs load it
    model = ReXNet(arch, out_indices=(2, 6), init_cfg=dict(
        type='Pretrained', checkpoint=str(dst), prefix='backbone.'))
    model.init_weights()
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        a = model(x)[1]
        b = ref.forward_features(x)[6]
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-5)


def test_timm_checkpoint(tmp_path):
    timm = pytest.importorskip('timm')
    sd = timm.create_model('rexnet_150', pretrained=False).state_dict()
    torch.save({'state_dict_ema': sd}, tmp_path / 'timm.pth')
    proc = convert(tmp_path / 'timm.pth', tmp_path / 'o.pth')
    assert proc.returncode == 0, proc.stderr
    assert 'detected layout: timm' in proc.stdout and 'detected variant: 1.5x' in proc.stdout
    # a features-only timm model (num_classes=0) converts to a backbone-only checkpoint
    sd = timm.create_model('rexnet_100', pretrained=False, num_classes=0).state_dict()
    torch.save(sd, tmp_path / 'headless.pth')
    proc = convert(tmp_path / 'headless.pth', tmp_path / 'h.pth')
    assert proc.returncode == 0, proc.stderr
    assert 'detected variant: 1.0x (no classes' in proc.stdout
    keys = torch.load(tmp_path / 'h.pth', weights_only=True)['state_dict']
    assert keys and all(k.startswith('backbone.') for k in keys)


def test_unknown_layout_truncated_file_and_wrong_arch(tmp_path):
    torch.save({'conv.weight': torch.ones(1)}, tmp_path / 'other.pth')
    proc = convert(tmp_path / 'other.pth', tmp_path / 'o.pth')
    assert proc.returncode != 0 and 'unknown checkpoint layout' in proc.stderr
    assert "['conv.weight']" in proc.stderr and not (tmp_path / 'o.pth').exists()

    torch.save(official_model('1.0x').state_dict(), tmp_path / 'full.pth')
    data = (tmp_path / 'full.pth').read_bytes()
    (tmp_path / 'trunc.pth').write_bytes(data[:len(data) // 2])
    proc = convert(tmp_path / 'trunc.pth', tmp_path / 'o.pth')
    assert proc.returncode != 0 and 'truncated' in proc.stderr
    assert not (tmp_path / 'o.pth').exists()

    proc = convert(tmp_path / 'full.pth', tmp_path / 'o.pth', '--arch', '1.5x')
    assert proc.returncode != 0
    assert "does not fit arch '1.5x'" in proc.stderr and '(32, 3, 3, 3)' in proc.stderr
    assert not (tmp_path / 'o.pth').exists()


def test_init_cfg_width_mismatch_and_missing_file(tmp_path):
    torch.save(official_model('1.3x').state_dict(), tmp_path / 'o13.pth')
    assert convert(tmp_path / 'o13.pth', tmp_path / 'rexnet_1.3x.pth').returncode == 0
    model = ReXNet('1.0x', init_cfg=dict(type='Pretrained',
                                         checkpoint=str(tmp_path / 'rexnet_1.3x.pth'),
                                         prefix='backbone.'))
    before = model.stem.conv.weight.clone()
    with pytest.raises(ValueError, match=r"(?s)arch 1.3x.*does not fit ReXNet\(arch='1.0x'\)"):
        model.init_weights()
    assert torch.equal(before, model.stem.conv.weight)  # nothing loaded half-way
    missing = tmp_path / 'nope' / 'rexnet_1.0x.pth'
    model = ReXNet('1.0x', init_cfg=dict(type='Pretrained', checkpoint=str(missing)))
    with pytest.raises(FileNotFoundError, match=r'(?s)not found.*rexnet_to_mm.py'):
        model.init_weights()
