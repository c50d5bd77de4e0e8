"""tools/train.py, --resume, tools/test.py and torchrun (gloo) end to end on a
tiny generated COCO set (subprocesses, as a user runs them)."""
import glob
import os
import os.path as osp
import pickle
import subprocess
import sys

from helpers.tool import ROOT  # noqa: E402
from helpers.tool import demo_det_options, run_tool

DEMO_CFG = osp.join(ROOT, 'configs/demo/faster-rcnn_rexnet-1.0x_fpn_demo-coco.py')


def run(cmd, cwd, timeout=600, env=None):
    return run_tool(cmd, cwd, timeout, env, threads='1')


def _opts(data_root, iters, extra=()):
    return ['--cfg-options', *demo_det_options(data_root, iters, extra)]


def test_train_save_resume_continue_and_test(tiny_coco, tmp_path):
    data = str(tiny_coco / 'coco')
    work = tmp_path / 'work'
    train = [sys.executable, osp.join(ROOT, 'tools/train.py'), DEMO_CFG, '--work-dir', str(work)]
    run(train + _opts(data, 2), cwd=tiny_coco)
    assert osp.isfile(work / 'iter_2.pth')
    # continue to 4 iterations from the saved state (torch >= 2.6 weights_only load)
    out = run(train + ['--resume'] + _opts(data, 4), cwd=tiny_coco)
    assert 'resumed' in out.lower() and 'iter_2.pth' in out
    assert 'Iter(train) [3/4]' in out or 'Iter(train) [4/4]' in out
    assert osp.isfile(work / 'iter_4.pth')
    # the explicit-path form of --resume
    out = run(train + ['--resume', str(work / 'iter_4.pth')] + _opts(data, 6), cwd=tiny_coco)
    assert osp.isfile(work / 'iter_6.pth')
    # tools/test.py evaluates the checkpoint and dumps predictions
    out = run([sys.executable, osp.join(ROOT, 'tools/test.py'), DEMO_CFG, str(work / 'iter_6.pth'),
               '--work-dir', str(work / 'test'), '--out', str(work / 'preds.pkl')] +
              _opts(data, 6), cwd=tiny_coco)
    assert 'Evaluating bbox' in out  # (6 iterations find nothing yet: mAP needs the demo)
    with open(work / 'preds.pkl', 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 4 and all('pred_instances' in p for p in preds)


def test_torchrun_two_processes_gloo(tiny_coco, tmp_path):
    data = str(tiny_coco / 'coco')
    work = tmp_path / 'dist'
    # 1 image per process: BN statistics of a single image would be degenerate
    opts = _opts(data, 2, ['train_dataloader.batch_size=1', 'model.backbone.norm_eval=True'])
    out = run(['bash', osp.join(ROOT, 'tools/dist_train.sh'), DEMO_CFG, '2', '--work-dir',
               str(work)] + opts, cwd=tiny_coco, env={'PYTHON': sys.executable, 'PORT': '29517'})
    assert 'gloo' in out
    assert osp.isfile(work / 'iter_2.pth')
    logs = glob.glob(str(work / '*' / '*.log'))
    assert logs and 'Iter(train) [2/2]' in open(logs[0]).read()
    assert out.count('[rexnet_mm] no CUDA device') == 2  # both ranks ran


def test_missing_dataset_message(tmp_path):
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/train.py'),
         osp.join(ROOT, 'configs/detection/faster-rcnn_rexnet-1.0x_fpn_1x_coco.py'), '--work-dir',
         str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode != 0
    err = proc.stderr
    assert 'data/coco/annotations/instances_train2017.json' in err
    assert 'make demo' in err and 'Traceback' not in err


DIST_CFG = """
_base_ = '{demo}'
custom_imports = dict(imports=['rexnet_mm', 'rank_loss_hook'], allow_failed_imports=False)
custom_hooks = [dict(type='PrintRankLossHook')]
model = dict(backbone=dict(norm_eval=True))  # BN statistics must not depend on the split
# one fixed size (no padding differences) and no random flip
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(256, 192), keep_ratio=False),
    dict(type='PackDetInputs')]))
"""


NO_CKPT = 'default_hooks.checkpoint.save_last=False'  # only the losses are compared


def _rank_losses(out):
    import re
    return {int(r): float(v) for r, i, v in
            re.findall(r'RANK_LOSS rank=(\d+) iter=(\d+) loss=([0-9.]+)', out) if i == '1'}


def test_two_processes_match_one_process_first_loss(tiny_coco, tmp_path):
    """2 processes x 1 image give the first-iteration loss of 1 process x 2 images."""
    data = str(tiny_coco / 'coco')
    cfg = tmp_path / 'dist_equal.py'
    cfg.write_text(DIST_CFG.format(demo=DEMO_CFG))
    env = {'PYTHONPATH': f'{ROOT}{os.pathsep}{osp.join(ROOT, "tests", "helpers")}'}
    single = run([sys.executable, osp.join(ROOT, 'tools/train.py'), str(cfg),
                  '--work-dir', str(tmp_path / 'eq1')] +
                 _opts(data, 1, ['train_dataloader.batch_size=2', NO_CKPT]),
                 cwd=tiny_coco, env=env)
    dist = run(['bash', osp.join(ROOT, 'tools/dist_train.sh'), str(cfg), '2',
                '--work-dir', str(tmp_path / 'eq2')] +
               _opts(data, 1, ['train_dataloader.batch_size=1', NO_CKPT]),
               cwd=tiny_coco, env=dict(env, PYTHON=sys.executable, PORT='29519'))
    one = _rank_losses(single)
    two = _rank_losses(dist)
    assert set(one) == {0} and set(two) == {0, 1}, (one, two)
    mean = (two[0] + two[1]) / 2
    print(f'first-iteration loss: 1 process {one[0]:.4f}, 2 processes {two} (mean {mean:.4f})')
    # equal up to the random choice of negative anchors / RoIs in each process
    assert abs(mean - one[0]) <= 2e-3 * one[0], (one, two)
