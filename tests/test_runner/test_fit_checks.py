"""Wrong weights and wrong widths: a checkpoint of another arch stops
test, resume and load_from before any work, --arch switches the
backbone and the widths after it together, and the width check covers
every head."""
import os
import os.path as osp

import pytest
import torch

import rexnet_mm  # noqa: F401  installs the allow-list
from rexnet_mm.utils.errors import UserError
from helpers.tool import DEMO_DETECTORS, ROOT, det_opts  # noqa: E402

DEMO_CFG = osp.join(ROOT, DEMO_DETECTORS['faster'])
TRAIN = osp.join(ROOT, 'tools/train.py')
TEST = osp.join(ROOT, 'tools/test.py')


def test_checkpoint_of_another_arch_stops_test_resume_and_load_from(tiny_coco, ckpt_09x, tmp_path):
    from helpers.tool import assert_clean_error, run_main
    expected = ('ReXNet 0.9x', 'ReXNet 1.0x', 'differ in shape')
    rc, out = run_main('tools/test.py', [DEMO_CFG, ckpt_09x, '--work-dir',
                                         str(tmp_path / 'wrong_test')] + det_opts(tiny_coco))
    assert_clean_error(rc, out, *expected)
    assert 'Evaluating' not in out and 'Iter(test)' not in out  # stopped before any work
    rc, out = run_main('tools/train.py', [DEMO_CFG, '--resume', ckpt_09x, '--work-dir',
                                          str(tmp_path / 'wrong_resume')] + det_opts(tiny_coco))
    assert_clean_error(rc, out, '--resume checkpoint', *expected)
    assert not list((tmp_path / 'wrong_resume').glob('iter_*.pth'))
    rc, out = run_main('tools/train.py', [DEMO_CFG, '--work-dir', str(tmp_path / 'wrong_load')] +
                       det_opts(tiny_coco, extra=[f'load_from={ckpt_09x}']))
    assert_clean_error(rc, out, 'load_from checkpoint', *expected)
    assert not list((tmp_path / 'wrong_load').glob('iter_*.pth'))


def test_arch_knob_switches_widths_and_a_lone_arch_override_stops(tiny_coco, ckpt_09x, tmp_path):
    from helpers.tool import assert_clean_error, run_main

    # the arch alone: the FPN still expects 1.0x's widths
    rc, out = run_main('tools/train.py', [DEMO_CFG, '--work-dir', str(tmp_path / 'lone')] +
                       det_opts(tiny_coco, extra=['model.backbone.arch=0.9x']))
    assert_clean_error(rc, out, 'returns [36, 56, 117, 168] channels',
                       'model.neck.in_channels=[38, 61, 128, 185]', '--arch 0.9x',
                       'model.neck.in_channels=[36,56,117,168]')
    # --arch switches both: the 0.9x checkpoint then tests fine
    rc, out = run_main('tools/test.py', [DEMO_CFG, ckpt_09x, '--arch', '0.9x', '--work-dir',
                                         str(tmp_path / 'arch_test')] + det_opts(tiny_coco))
    assert rc == 0, out[-3000:]
    assert 'model.neck.in_channels [38, 61, 128, 185] -> [36, 56, 117, 168]' in out
    assert 'Average Precision' in out  # by pycocotools' print


def _widths_error(config, head=None, **backbone):
    from mmengine.config import Config

    from rexnet_mm.models import ReXNet
    from rexnet_mm.runner.checks import check_widths
    cfg = Config.fromfile(os.path.join(ROOT, config))
    cfg.merge_from_dict({f'model.backbone.{k}': v for k, v in backbone.items()})
    cfg.merge_from_dict({f'model.head.{k}': v for k, v in (head or {}).items()})
    b = cfg.model.backbone
    with torch.device('meta'):
        net = torch.nn.Module()
        net.backbone = ReXNet(b.arch, out_indices=b.out_indices)
    with pytest.raises(UserError) as err:
        check_widths(cfg, net)
    return str(err.value)


def test_width_check_covers_ssd_and_classifier_heads():
    msg = _widths_error('configs/detection/ssdlite_rexnet-1.0x_8xb24-600e_coco.py', arch='0.9x')
    assert 'model.neck.in_channels=[117,1152]' in msg
    assert 'model.bbox_head.in_channels=[117,1152,512,256,256,128]' in msg
    # the configs' classifier takes the arch: it must be the backbone's
    msg = _widths_error('configs/classification/rexnet-1.0x_4xb128_in1k.py', arch='1.5x')
    assert 'model.head.arch=1.0x' in msg and 'model.head.arch=1.5x' in msg
    assert '--arch 1.5x' in msg
    # a classifier given its width instead
    msg = _widths_error('configs/classification/rexnet-1.0x_4xb128_in1k.py', arch='1.5x',
                        head=dict(arch=None, in_channels=1280))
    assert 'model.head.in_channels=1920' in msg and 'model.head.in_channels=1280' in msg
