"""Fixtures shared by the test files: built once per session."""
import os
import os.path as osp
import sys

import pytest

from helpers.tool import ROOT  # noqa: E402


def pytest_configure(config):
    """Under pytest-xdist (``make test``), a worker computes with its share of
    the cores; the tools it runs get the same through ``run_tool``."""
    if os.environ.get('PYTEST_XDIST_WORKER_COUNT'):
        from helpers.tool import worker_threads
        threads = worker_threads()
        os.environ['OMP_NUM_THREADS'] = str(threads)
        import torch
        torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def tiny_coco(tmp_path_factory):
    """A directory holding ``coco/``: a generated COCO-style set of 8 train and
    4 val images (tools/misc/make_demo_coco.py). Session fixtures write their
    runs beside it; a test writes its own under ``tmp_path``, so that its
    checkpoints go when it passes (``tmp_path_retention_policy``)."""
    from helpers.tool import run_tool
    d = tmp_path_factory.mktemp('tiny_coco')
    run_tool([sys.executable, osp.join(ROOT, 'tools/misc/make_demo_coco.py'), str(d / 'coco'),
              '--train', '8', '--val', '4'], cwd=d)
    return d


@pytest.fixture(scope='session')
def ckpt_09x(tmp_path_factory):
    """A demo Faster R-CNN checkpoint with a ReXNet-0.9x backbone (random
    weights, the widths switched by the same code as --arch)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    from rexnet_mm.runner.config import apply_arch
    from helpers.tool import DEMO_DETECTORS
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, DEMO_DETECTORS['faster']))
    apply_arch(cfg, '0.9x')
    path = tmp_path_factory.mktemp('ckpt') / 'faster_rcnn_rexnet-0.9x_demo.pth'
    import torch
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict(), 'meta': {}}, path)
    return str(path)


@pytest.fixture(scope='session')
def short_trained(tiny_coco):
    """kind ('faster', 'mask', 'ssdlite', 'retina') -> (work dir, log) of its demo config
    trained 2 iterations on ``tiny_coco`` through tools/train.py, with COCO
    evaluation at score threshold 0 (so the untrained heads report boxes).
    Each kind trains once per session, when first asked for."""
    runs = {}

    def get(kind):
        if kind not in runs:
            runs[kind] = _train_demo_detector(kind, tiny_coco)
        return runs[kind]
    return get


def _train_demo_detector(kind, root):
    from helpers.tool import DEMO_DETECTORS, demo_det_options, run_tool
    score = 'model.test_cfg.score_thr=0.0' if kind in ('ssdlite', 'retina') else \
        'model.test_cfg.rcnn.score_thr=0.0'
    work_dir = root / kind
    out = run_tool([sys.executable, osp.join(ROOT, 'tools/train.py'),
                    osp.join(ROOT, DEMO_DETECTORS[kind]), '--work-dir', str(work_dir),
                    '--cfg-options', *demo_det_options(root / 'coco', 2, [score], kind)],
                   cwd=root)
    return work_dir, out


@pytest.fixture(scope='session')
def det_onnx(short_trained, tmp_path_factory):
    """kind -> (checkpoint, .onnx): the 2-iteration demo detector with BN
    statistics of real input (helpers.detectors.recalibrated_bn), exported
    with dynamic batch, height and width and score threshold 0 (SSDLite
    normalising in the graph: --preprocess), once per session."""
    import torch

    from helpers.detectors import recalibrated_bn
    from helpers.tool import DEMO_DETECTORS, run_main
    files = {}

    def get(kind):
        if kind not in files:
            d = tmp_path_factory.mktemp('det_onnx')
            ckpt = torch.load(short_trained(kind)[0] / 'iter_2.pth', map_location='cpu',
                              weights_only=False)
            ckpt['state_dict'] = recalibrated_bn(kind, ckpt['state_dict'])
            torch.save(ckpt, d / 'bn.pth')
            extra = ['--preprocess'] if kind == 'ssdlite' else []
            rc, log = run_main('tools/deployment/export_onnx.py', [
                osp.join(ROOT, DEMO_DETECTORS[kind]), str(d / 'bn.pth'), '--out',
                str(d / f'{kind}.onnx'), '--dynamic', '--score-thr', '0', *extra])
            assert rc == 0, log[-3000:]
            files[kind] = d / 'bn.pth', d / f'{kind}.onnx'
        return files[kind]
    return get
