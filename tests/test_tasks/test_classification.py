"""mmpretrain: the ImageNet configs reproduce the released classifiers exactly,
a checkpoint classifies an image in one command, and a custom image-folder
dataset trains through tools/train.py."""
import glob
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from helpers.tool import run_tool
from oracles.official_rexnet import official_model, randomize_bn
from oracles.timm_rexnet import timm_model

pytest.importorskip('mmpretrain')
from mmengine.config import Config  # noqa: E402

from rexnet_mm.models import ARCH_SETTINGS  # noqa: E402
from rexnet_mm.models.convert import convert_rexnet  # noqa: E402
from rexnet_mm.runner.build import build_from_config  # noqa: E402
from helpers.tool import ROOT  # noqa: E402

V1_CONFIG = osp.join(ROOT, 'configs', 'classification', 'rexnet-1.0x_4xb128_in1k.py')
ARCHS = list(ARCH_SETTINGS)


run = run_tool


def reference(arch):
    """The oracle classifier: the official release's layout, else timm's."""
    if ARCH_SETTINGS[arch]['released'] == 'official':
        return official_model(arch)
    return timm_model(arch)


@pytest.mark.parametrize('arch', ARCHS)
def test_imagenet_config_logits_equal_reference(arch):
    """Every named variant has an ImageNet config (one edit adds both), whose
    model reproduces the official (else timm's) classifier's logits."""
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'classification', f'rexnet-{arch}_4xb128_in1k.py'))
    assert cfg.model.backbone.arch == arch
    assert cfg.optim_wrapper.optimizer.nesterov and cfg.optim_wrapper.optimizer.lr == 0.5
    assert cfg.auto_scale_lr.base_batch_size == 512 and cfg.train_cfg.max_epochs == 400
    large = arch in ('2.0x', '2.2x', '3.0x', 'r-2.0x', 'r-3.0x')  # stochastic depth
    assert cfg.model.backbone.drop_path_rate == (0.2 if large else 0)
    model, scope = build_from_config(cfg)
    assert scope == 'mmpretrain'
    torch.manual_seed(ARCHS.index(arch))
    ref = randomize_bn(reference(arch), seed=3).eval()
    _, found, state = convert_rexnet(ref.state_dict())
    assert found == arch
    missing, unexpected = model.load_state_dict(state, strict=True)
    assert not missing and not unexpected
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ours = model(x, mode='tensor')
        theirs = ref(x)
    rel = ((ours - theirs).abs().max() / theirs.abs().max()).item()
    assert rel <= 1e-5, rel


def test_configs_build():
    paths = sorted(glob.glob(osp.join(ROOT, 'configs', 'classification', 'finegrained',
                                      'rexnet-1.0x_1xb64_*.py')))
    assert len(paths) == 7  # base + six datasets
    expected = {'food101': 101, 'stanford-cars': 196, 'fgvc-aircraft': 100, 'flowers102': 102,
                'cub': 200, 'oxford-pets': 37}
    for p in paths:
        name = osp.basename(p)[len('rexnet-1.0x_1xb64_'):-3]
        if name == 'finetune-base':
            continue
        cfg = Config.fromfile(p)
        assert cfg.model.head.num_classes == expected[name]
        assert cfg.model.backbone.init_cfg.checkpoint == 'checkpoints/rexnet_1.0x.pth'
        model, _ = build_from_config(cfg)
        assert model.head.fc.out_features == expected[name]


@pytest.fixture(scope='module')
def demo_cls(tmp_path_factory):
    d = tmp_path_factory.mktemp('cls')
    run([sys.executable, osp.join(ROOT, 'tools/misc/make_demo_cls.py'), str(d / 'data'),
         '--train', '24', '--val', '10'], cwd=d)
    return d


def test_custom_dataset_trains_above_chance(demo_cls):
    root = str(demo_cls / 'data')
    out = run([sys.executable, osp.join(ROOT, 'tools/train.py'),
               osp.join(ROOT, 'configs/demo/rexnet-w0.5_demo-cls.py'), '--work-dir',
               str(demo_cls / 'work'), '--cfg-options',
               f'train_dataloader.dataset.data_root={root}',
               f'val_dataloader.dataset.data_root={root}',
               f'test_dataloader.dataset.data_root={root}'], cwd=demo_cls)
    acc = float(re.findall(r'accuracy/top1: ([0-9.]+)', out)[-1])
    assert acc > 50.0, acc  # chance is 25% (4 classes)
    ckpt = open(demo_cls / 'work' / 'last_checkpoint').read().strip()
    # tools/test.py evaluates the checkpoint (top-1 and top-k)
    out = run([sys.executable, osp.join(ROOT, 'tools/test.py'),
               osp.join(ROOT, 'configs/demo/rexnet-w0.5_demo-cls.py'), ckpt, '--work-dir',
               str(demo_cls / 'test'), '--cfg-options', f'test_dataloader.dataset.data_root={root}',
               'test_evaluator.topk=(1,3)'], cwd=demo_cls)
    assert float(re.findall(r'accuracy/top1: ([0-9.]+)', out)[-1]) == acc
    assert 'accuracy/top3' in out
    # one command classifies an image: top-k labels and scores
    img = sorted(glob.glob(osp.join(root, 'val', 'star', '*.png')))[0]
    out = run([sys.executable, osp.join(ROOT, 'tools/infer.py'),
               osp.join(ROOT, 'configs/demo/rexnet-w0.5_demo-cls.py'), ckpt, img, '--topk', '3'],
              cwd=demo_cls)
    lines = [ln.split() for ln in out.splitlines() if re.match(r'^\s+\w+ [01]\.\d{4}$', ln)]
    assert len(lines) == 3 and lines[0][0] in ('square', 'circle', 'triangle', 'star')
    scores = [float(s) for _, s in lines]
    assert scores == sorted(scores, reverse=True)


def test_imagenet_inference_one_command(tmp_path):
    ref = randomize_bn(official_model('1.0x'), seed=0).eval()
    src = tmp_path / 'rexnetv1_1.0.pth'
    torch.save(ref.state_dict(), src)
    ckpt = tmp_path / 'rexnet_1.0x.pth'
    run([sys.executable, osp.join(ROOT, 'tools/model_converters/rexnet_to_mm.py'), str(src),
         str(ckpt)], cwd=tmp_path)
    img = tmp_path / 'img.png'
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 260, 3), np.uint8)).save(img)
    out = run([sys.executable, osp.join(ROOT, 'tools/infer.py'),
               V1_CONFIG, str(ckpt), str(img)],
              cwd=tmp_path)
    lines = [ln for ln in out.splitlines() if re.search(r' [01]\.\d{4}$', ln)]
    assert len(lines) == 5


def test_missing_imagenet_message(tmp_path):
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/train.py'),
         V1_CONFIG], cwd=tmp_path, capture_output=True,
        text=True, timeout=300, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode != 0 and 'Traceback' not in proc.stderr
    assert 'data/imagenet' in proc.stderr and 'make_demo_cls.py' in proc.stderr


def test_head_widths_follow_the_arch():
    """ReXNetClsHead(arch=...) builds the released classifier of the arch
    (lite: the 1024-wide hidden layer); widths alone still work; both or
    neither are refused."""
    from rexnet_mm.models.heads import ReXNetClsHead
    lite = ReXNetClsHead(10, arch='lite-1.3x')
    assert (lite.hidden[0].in_features, lite.hidden[0].out_features) == (1664, 1024)
    assert lite.fc.in_features == 1024
    v1 = ReXNetClsHead(10, arch='r-1.5x')
    assert v1.hidden is None and v1.fc.in_features == 1920
    assert ReXNetClsHead(10, 1280, 1024).state_dict().keys() == \
        ReXNetClsHead(10, arch='lite-1.0x').state_dict().keys()
    with pytest.raises(ValueError, match='give arch .* not both'):
        ReXNetClsHead(10, 1280, arch='1.0x')
    with pytest.raises(ValueError, match='needs arch'):
        ReXNetClsHead(10)
    with pytest.raises(ValueError, match=r"arch must be one of .*'r-1.0x'"):
        ReXNetClsHead(10, arch='r-9x')
