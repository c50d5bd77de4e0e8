"""tools/model_converters/rexnet_to_mm.py and loading its output through
init_cfg: layouts detected, variants inferred, nothing loaded half-way."""
import hashlib
from types import SimpleNamespace

import pytest
import torch

from rexnet_mm.models import ReXNet
from helpers.tool import run_main
from oracles.official_rexnet import official_model, randomize_bn


def convert(src, dst, *extra):
    """The converter's main() in this process (a subprocess per call would
    cost seconds of imports): exit code and output, as a user sees them."""
    code, out = run_main('tools/model_converters/rexnet_to_mm.py',
                         [str(src), str(dst), *map(str, extra)])
    return SimpleNamespace(returncode=code, stdout=out, stderr=out)


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
    # the registered initializer, with no prefix, inside a parent module whose
    # init_weights reaches it as mmdet's detectors do
    from mmengine.model import BaseModule
    parent = BaseModule()
    parent.backbone = ReXNet(arch, out_indices=(2, 6),
                             init_cfg=dict(type='ReXNetPretrained', checkpoint=str(dst)))
    parent.init_weights()
    with torch.no_grad():
        assert torch.equal(parent.backbone.eval()(x)[1], a)


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


@pytest.mark.parametrize('as_list', [False, True])
def test_build_from_config_leaves_out_pretrained(tmp_path, as_list):
    """The tools' weightless builds (runner.build.build_from_config) leave out
    a Pretrained init_cfg, alone or in a list (keeping the rest): its file is
    never opened."""
    import os.path as osp

    from mmengine.config import Config

    from rexnet_mm.runner.build import build_from_config
    from helpers.tool import ROOT
    cfg = Config.fromfile(osp.join(ROOT, 'configs/classification/rexnet-1.0x_4xb128_in1k.py'))
    pre = dict(type='Pretrained', checkpoint=str(tmp_path / 'missing.pth'), prefix='backbone.')
    kaiming = dict(type='Kaiming', layer='Conv2d')
    cfg.model.backbone.init_cfg = [kaiming, pre] if as_list else pre
    model, scope = build_from_config(cfg)
    assert scope == 'mmpretrain' and model.backbone.arch == '1.0x'
    assert cfg.model.backbone.init_cfg == ([kaiming] if as_list else None)


@pytest.mark.parametrize('prefix', [None, '', 'backbone.'])
@pytest.mark.parametrize('source', ['official-lite', 'timm'])
def test_pretrained_reads_official_and_timm_files_directly(tmp_path, source, prefix):
    """A Pretrained init_cfg (alone or in a list; any prefix: none, '' or
    'backbone.') pointing at an official or timm file: converted on the fly,
    exact, and as strict as a converted file; load_from pointing at one is
    converted into the work dir."""
    from mmengine.config import Config

    from rexnet_mm.runner.config import convert_official_load_from
    if source == 'timm':
        timm = pytest.importorskip('timm')
        torch.manual_seed(0)
        arch, ref = '1.3x', randomize_bn(timm.create_model('rexnet_130'), seed=3).eval()

        def feats(x):
            return ref.forward_features(x)
    else:
        arch, ref = 'lite-1.0x', randomize_bn(official_model('lite-1.0x'), seed=3).eval()

        def feats(x):
            return ref.forward_features(x)[6]
    src = tmp_path / 'weights.pth'
    torch.save(ref.state_dict(), src)
    pre = dict(type='Pretrained', checkpoint=str(src))
    if prefix is not None:
        pre['prefix'] = prefix
    model = ReXNet(arch, init_cfg=[pre, dict(type='Kaiming', layer='Conv2d')])
    model.init_weights()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model.eval()(x)[0], feats(x), rtol=1e-5, atol=1e-5)
    wrong = ReXNet('1.5x', init_cfg=[dict(type='Kaiming', layer='Conv2d'), pre])
    with pytest.raises(ValueError, match=f"{source} checkpoint .* does not fit arch '1.5x'"):
        wrong.init_weights()

    cfg = Config(dict(load_from=str(src), resume=False, work_dir=str(tmp_path / 'work'),
                      model=dict(backbone=dict(type='ReXNet', arch=arch))))
    convert_official_load_from(cfg)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:12]
    assert cfg.load_from == str(tmp_path / 'work' / f'converted_weights-{digest}.pth')
    ckpt = torch.load(cfg.load_from, weights_only=True)
    assert ckpt['meta']['arch'] == arch and ckpt['meta']['layout'] == source
    assert all(k.startswith(('backbone.', 'head.')) for k in ckpt['state_dict'])


@pytest.mark.parametrize('num_classes', [1000, 7])
def test_expected_shapes_from_the_schedule_equal_built_modules(num_classes):
    """The converter checks tensors against shapes it derives from the
    schedule alone (no model built); they are the built modules' shapes, for
    every named variant."""
    from rexnet_mm.models.channels import ARCH_SETTINGS
    from rexnet_mm.models.classifier import ReXNetClassifierHead
    from rexnet_mm.models.convert import expected_shapes
    for arch in ARCH_SETTINGS:
        with torch.device('meta'):
            backbone = ReXNet(arch, out_indices=(6, ))
            head = ReXNetClassifierHead.from_arch(arch, num_classes)
        built = {f'backbone.{k}': tuple(v.shape) for k, v in backbone.state_dict().items()}
        built.update({f'head.{k}': tuple(v.shape) for k, v in head.state_dict().items()})
        assert expected_shapes(arch, num_classes) == built, arch


def test_guess_arch_from_the_schedule():
    """The one arch-from-shapes guesser (used by the tools' checkpoint checks)
    names each released arch from a built backbone's tensors, under a prefix
    or not, and nothing for another model."""
    from rexnet_mm.models.channels import ARCH_SETTINGS
    from rexnet_mm.models.weights import guess_arch
    for arch in ARCH_SETTINGS:
        with torch.device('meta'):
            sd = ReXNet(arch, out_indices=(2, 4)).state_dict()
        assert guess_arch({f'backbone.{k}': v for k, v in sd.items()}) == arch
        assert guess_arch(sd, prefix='') == arch
    assert guess_arch({'backbone.conv.weight': torch.ones(3)}) is None
