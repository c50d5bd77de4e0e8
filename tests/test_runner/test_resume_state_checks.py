"""A crafted ``--resume`` checkpoint: the RNG states ExactResumeHook stores
are plain ints and tensors, which the safe loader rightly accepts, and
numpy's legacy MT19937 setter does not bound-check its position (2**31 - 1
segfaulted the resumed run; -10**6 read numpy's numbers from unrelated
memory). Every stored value is checked before training starts: a
malformed entry is refused in one paragraph, rc 1, no traceback."""
import copy
import os.path as osp
import sys
from types import SimpleNamespace

import pytest
import torch

pytest.importorskip('mmdet')

from rexnet_mm.runner.exact_resume import CKPT_KEY, ExactResumeHook, RngStateError  # noqa: E402
from helpers.tool import (DEMO_DETECTORS, ROOT, assert_clean_error, demo_det_options,  # noqa: E402
                          run_main, run_tool)

CFG = osp.join(ROOT, DEMO_DETECTORS['faster'])
TRAIN = osp.join(ROOT, 'tools/train.py')


def _numpy(i, value):
    def craft(entry):
        state = list(entry['states'][0]['numpy'])
        state[i] = value
        entry['states'][0]['numpy'] = tuple(state)
    return craft


def _rank0(**kw):
    def craft(entry):
        entry['states'][0].update(kw)
    return craft


def _python_internal(values):
    def craft(entry):
        version, _, gauss = entry['states'][0]['python']
        entry['states'][0]['python'] = (version, values, gauss)
    return craft


CASES = {
    'numpy_pos_past_the_key': (_numpy(2, 2**31 - 1), "numpy's position must be an int in 0..624"),
    'numpy_pos_negative': (_numpy(2, -10**6), "numpy's position must be an int in 0..624"),
    'numpy_key_short': (_numpy(1, torch.zeros(10, dtype=torch.int64)), "numpy's key must be 624"),
    'numpy_key_out_of_range': (_numpy(1, torch.full((624, ), 2**40)), "numpy's key must be 624"),
    'numpy_generator_name': (_numpy(0, 'PCG64'), "numpy's generator must be 'MT19937'"),
    'numpy_gauss_nan': (_numpy(4, float('nan')), 'a finite number'),
    'torch_state_short': (_rank0(torch=torch.zeros(16, dtype=torch.uint8)),
                          'torch must be a uint8 vector'),
    'torch_state_float': (_rank0(torch=torch.zeros(5056)), 'torch must be a uint8 vector'),
    'python_state_short': (_python_internal((1, ) * 10), "python's internal state must be 625"),
    'python_index_out_of_range': (_python_internal((1, ) * 624 + (10**6, )),
                                  "python's internal state must be 625"),
    'extra_key': (_rank0(hook=1), 'its keys are'),
    'cuda_not_tensors': (_rank0(cuda=['x']), 'cuda must be a list of uint8 vectors'),
    'world_size_str': (lambda e: e.update(world_size='1'), 'world_size must be an int'),
    'world_size_without_states': (lambda e: e.update(world_size=2),
                                  'states must hold one state per process (2)'),
    'not_a_dict': (lambda e: e.clear(), 'the entry must be a dict of world_size and states'),
}


@pytest.fixture(scope='module')
def saved(short_trained):
    """A real checkpoint of the demo detector, saved with the hook's states."""
    work_dir, _ = short_trained('faster')
    ckpt = torch.load(work_dir / 'iter_2.pth', map_location='cpu')
    assert ckpt[CKPT_KEY]['world_size'] == 1
    return ckpt


def _crafted(ckpt, tmp_path, name):
    craft, _ = CASES[name]
    ckpt = copy.copy(ckpt)
    ckpt[CKPT_KEY] = copy.deepcopy(ckpt[CKPT_KEY])
    craft(ckpt[CKPT_KEY])
    path = tmp_path / f'{name}.pth'
    torch.save(ckpt, path)
    return str(path)


def test_the_hook_refuses_every_crafted_entry(saved):
    """The hook itself (users' own configs): refused when the checkpoint is
    loaded, before training starts; the genuine entry passes."""
    hook, runner = ExactResumeHook(), SimpleNamespace(_resume=True)
    hook.after_load_checkpoint(runner, saved)
    assert hook._pending is not None
    for name, (craft, expected) in CASES.items():
        entry = copy.deepcopy(saved[CKPT_KEY])
        craft(entry)
        with pytest.raises(RngStateError) as err:
            ExactResumeHook().after_load_checkpoint(runner, {CKPT_KEY: entry})
        assert expected in str(err.value), (name, str(err.value))


def test_train_refuses_an_out_of_range_position_without_crashing(saved, tiny_coco, tmp_path):
    """As a user runs it (a subprocess: this position segfaulted the run)."""
    name = 'numpy_pos_past_the_key'
    path = _crafted(saved, tmp_path, name)
    rc, out = run_tool([sys.executable, TRAIN, CFG, '--resume', path, '--work-dir',
                        str(tmp_path / 'work'), '--cfg-options',
                        *demo_det_options(tiny_coco / 'coco', 4)], cwd=tiny_coco, check=False)
    assert rc == 1, out[-3000:]
    assert_clean_error(rc, out, f'--resume checkpoint {path}', 'are malformed', CASES[name][1],
                       'nothing was restored')
    assert 'Iter(train)' not in out and not list((tmp_path / 'work').glob('**/iter_*.pth'))


def test_train_refuses_every_malformed_entry_in_one_paragraph(saved, tiny_coco, tmp_path):
    for name in CASES:
        path = _crafted(saved, tmp_path, name)
        rc, out = run_main('tools/train.py', [CFG, '--resume', path, '--work-dir',
                                              str(tmp_path / name), '--cfg-options',
                                              *demo_det_options(tiny_coco / 'coco', 4)])
        assert_clean_error(rc, out, 'ExactResumeHook', CASES[name][1])
        assert rc == 1 and out.count('error:') == 1 and 'Iter(train)' not in out, (name, out)
