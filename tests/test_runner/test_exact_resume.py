"""Exact resume: training killed with kill -9 (every process, one and two
ranks) and resumed from its last checkpoint ends bit for bit where the
uninterrupted run ends."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

import rexnet_mm  # noqa: F401  installs the allow-list
from helpers.tool import DEMO_DETECTORS, ROOT, det_opts  # noqa: E402

DEMO_CFG = osp.join(ROOT, DEMO_DETECTORS['faster'])
TRAIN = osp.join(ROOT, 'tools/train.py')
TEST = osp.join(ROOT, 'tools/test.py')


def _descendants(pid):
    """Every process below ``pid`` (torchrun starts its workers in sessions of
    their own, out of reach of a process-group kill)."""
    children = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _train_until(cmd, cwd, env, kill_after=None, timeout=600):
    """Run a training command; with ``kill_after``, SIGKILL its whole process
    group as soon as that iteration is logged (mid-way between checkpoints)."""
    import signal
    import time
    e = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    e.update(env)
    proc = subprocess.Popen(cmd, cwd=cwd, env=e, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines, deadline = [], time.time() + timeout
    for line in proc.stdout:
        lines.append(line)
        if kill_after is not None and f'Iter(train) [{kill_after}/' in line:
            for pid in [proc.pid] + _descendants(proc.pid):  # kill -9, every process
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            break
        assert time.time() < deadline, 'training took too long'
    proc.wait(timeout=60)
    out = ''.join(lines)
    if kill_after is None:
        assert proc.returncode == 0, out[-4000:]
    else:
        assert proc.returncode == -signal.SIGKILL, out[-4000:]
    return out


def _state(path):
    return torch.load(path, map_location='cpu')['state_dict']


@pytest.mark.parametrize('nproc', [1, 2])
def test_resume_after_kill_is_bitwise_exact(tiny_coco, tmp_path, nproc):
    """6 iterations, a checkpoint every 2 and a validation at 4; one run
    straight through, one killed (kill -9, every process) at iteration 5 and
    resumed from 4: the final weights are equal bit for bit."""
    extra = ['randomness.deterministic=True', 'default_hooks.checkpoint.max_keep_ckpts=5',
             'train_cfg.val_interval=4']
    opts = det_opts(tiny_coco, 6, extra)
    from helpers.tool import worker_threads
    if nproc == 1:
        def cmd(work):
            return [sys.executable, TRAIN, DEMO_CFG, '--work-dir', str(work)]
        env = {'OMP_NUM_THREADS': str(worker_threads())}  # 2 threads; 1 beside another worker
    else:
        def cmd(work):
            return ['bash', os.path.join(ROOT, 'tools/dist_train.sh'), DEMO_CFG, '2',
                    '--work-dir', str(work)]
        env = {'PYTHON': sys.executable}
    straight, broken = tmp_path / 'straight', tmp_path / 'broken'
    _train_until(cmd(straight) + opts, tiny_coco, dict(env, PORT='29531'))
    _train_until(cmd(broken) + opts, tiny_coco, dict(env, PORT='29532'), kill_after=5)
    assert not (broken / 'iter_6.pth').exists() and (broken / 'iter_4.pth').exists()
    out = _train_until(cmd(broken) + ['--resume'] + opts, tiny_coco, dict(env, PORT='29533'))
    assert 'iter_4.pth' in out and re.search(r'Iter\(train\) \[5/6\]', out)
    assert 'holds no RNG states' not in out and 'resumed by' not in out  # states were found
    a, b = _state(straight / 'iter_6.pth'), _state(broken / 'iter_6.pth')
    assert a.keys() == b.keys()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f'{len(differ)} of {len(a)} tensors differ, e.g. {differ[:5]}'
