"""Fixtures shared by the test files: built once per session."""
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


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
def short_trained(tiny_coco):
    """kind ('faster', 'mask', 'ssdlite') -> (work dir, log) of its demo config
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
    import os
    import subprocess

    from helpers.tool import DEMO_DETECTORS
    data = root / 'coco'
    ds = 'train_dataloader.dataset.dataset' if kind == 'ssdlite' else 'train_dataloader.dataset'
    score = 'model.test_cfg.score_thr=0.0' if kind == 'ssdlite' else \
        'model.test_cfg.rcnn.score_thr=0.0'
    opts = [f'{ds}.data_root={data}/', f'val_dataloader.dataset.data_root={data}/',
            f'test_dataloader.dataset.data_root={data}/',
            f'val_evaluator.ann_file={data}/annotations/instances_val.json',
            f'test_evaluator.ann_file={data}/annotations/instances_val.json',
            'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'train_dataloader.batch_size=2',
            'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
            'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
            'default_hooks.logger.interval=1', 'randomness.seed=0', score]
    work_dir = root / kind
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/train.py'), osp.join(ROOT, DEMO_DETECTORS[kind]),
         '--work-dir', str(work_dir), '--cfg-options', *opts],
        cwd=root, capture_output=True, text=True, timeout=900,
        env=dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='2'))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return work_dir, out
