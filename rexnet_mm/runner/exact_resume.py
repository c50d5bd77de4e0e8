"""``ExactResumeHook``: ``--resume`` continues exactly as if never stopped.

mmengine 0.10.7 restores the weights, the optimizer, the schedulers and the
iteration count, and replays the data sampler up to that iteration, but not
the random number generators: the RPN/RoI samplers, DropPath and the data
pipeline then draw other numbers than the uninterrupted run, and the weights
drift apart from the first resumed iteration on.

This hook stores, in every checkpoint, the torch (CPU and CUDA), numpy and
python RNG states of every process at the moment of saving, and puts them
back at the matching point of the resumed run: right after mmengine has
replayed the sampler (iteration-based loops) or before the next epoch's data
loader starts (epoch-based loops). Dataloader workers (``num_workers > 0``)
need nothing stored: mmengine seeds them from the config's seed and the
replay pushes each one through the same batches again. Validation runs with
the training RNG put aside, so how often one validates does not change
training. With ``randomness.seed`` set (and ``deterministic=True`` where the
kernels need it), the resumed weights equal the uninterrupted ones bit for
bit, in one process or several.

``tools/train.py`` adds it; in your own configs::

    custom_imports = dict(imports=['rexnet_mm', 'rexnet_mm.runner'])
    custom_hooks = [dict(type='ExactResumeHook')]
"""
import math
import random
import warnings

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.registry import HOOKS

from ..utils.errors import UserError

CKPT_KEY = 'rexnet_mm_rng_states'
MAX_WORLD_SIZE = 65536
_WORD = 2**32 - 1


class RngStateError(UserError):
    """A checkpoint's stored RNG states are not what this hook writes."""


def _is_int(v, lo, hi):
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _is_float(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _uint8_vector(t, numel=None):
    return (isinstance(t, torch.Tensor) and t.dtype == torch.uint8 and t.dim() == 1
            and not t.is_meta and (numel is None or t.numel() == numel))


def _state_problem(state) -> str:
    """What is wrong with one process's stored state ('' if nothing).

    numpy's legacy MT19937 setter does not bound-check the position, and
    reads (or crashes on) memory outside its key for positions out of
    0..624: every value is checked before any setter sees it."""
    want = {'torch', 'numpy', 'python'}
    if not isinstance(state, dict) or not want <= set(state) <= want | {'cuda'}:
        keys = sorted(map(str, state)) if isinstance(state, dict) else type(state).__name__
        return f'its keys are {keys}; allowed: torch, numpy, python (and cuda)'
    if not _uint8_vector(state['torch'], torch.get_rng_state().numel()):
        return (f'torch must be a uint8 vector of {torch.get_rng_state().numel()} bytes, but is '
                f'{_describe(state["torch"])}')
    np_state = state['numpy']
    if not (isinstance(np_state, (tuple, list)) and len(np_state) == 5):
        return f'numpy must be (name, key, pos, has_gauss, gauss), but is {_describe(np_state)}'
    name, key, pos, has_gauss, gauss = np_state
    if name != 'MT19937':
        return f"numpy's generator must be 'MT19937', but is {_describe(name)}"
    if not (isinstance(key, torch.Tensor) and key.dtype == torch.int64 and key.dim() == 1
            and key.numel() == 624 and bool(((key >= 0) & (key <= _WORD)).all())):
        return f"numpy's key must be 624 int64 words in 0..2^32-1, but is {_describe(key)}"
    if not _is_int(pos, 0, 624):
        return f"numpy's position must be an int in 0..624, but is {_describe(pos)}"
    if not _is_int(has_gauss, 0, 1) or not _is_float(gauss):
        return (f"numpy's has_gauss must be 0 or 1 and gauss a finite number, but they are "
                f'{_describe(has_gauss)} and {_describe(gauss)}')
    py = state['python']
    if not (isinstance(py, (tuple, list)) and len(py) == 3 and py[0] == 3):
        return f"python must be (3, internal state, gauss_next), but is {_describe(py)}"
    internal, gauss_next = py[1], py[2]
    if not (isinstance(internal, (tuple, list)) and len(internal) == 625
            and all(_is_int(v, 0, _WORD) for v in internal) and internal[-1] <= 624):
        return (f"python's internal state must be 625 ints in 0..2^32-1 with the last in "
                f'0..624, but is {_describe(internal)}')
    if gauss_next is not None and not _is_float(gauss_next):
        return (f"python's gauss_next must be None or a finite number, but is "
                f'{_describe(gauss_next)}')
    cuda = state.get('cuda', [])
    if not (isinstance(cuda, (tuple, list)) and all(_uint8_vector(t) for t in cuda)):
        return f'cuda must be a list of uint8 vectors, but is {_describe(cuda)}'
    return ''


def _describe(v) -> str:
    if isinstance(v, torch.Tensor):
        return f'a {v.dtype} tensor of shape {tuple(v.shape)}'
    if isinstance(v, (tuple, list)):
        return f'a {type(v).__name__} of {len(v)} items'
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + '...'


def check_rng_states(saved, where: str = 'the checkpoint') -> None:
    """Refuse, in one paragraph, a stored RNG entry that is not exactly what
    this hook writes: ``world_size`` an int, one state per process, each
    with the expected keys, types, lengths and ranges. ``None`` (no entry)
    passes: the hook then warns that the draws will differ."""
    if saved is None:
        return
    problem = ''
    if not isinstance(saved, dict) or set(saved) != {'world_size', 'states'}:
        problem = (f'the entry must be a dict of world_size and states, but is '
                   f'{sorted(map(str, saved)) if isinstance(saved, dict) else _describe(saved)}')
    elif not _is_int(saved['world_size'], 1, MAX_WORLD_SIZE):
        problem = (f'world_size must be an int in 1..{MAX_WORLD_SIZE}, but is '
                   f'{_describe(saved["world_size"])}')
    elif not (isinstance(saved['states'], (tuple, list))
              and len(saved['states']) == saved['world_size']):
        problem = (f'states must hold one state per process ({saved["world_size"]}), but is '
                   f'{_describe(saved["states"])}')
    else:
        for rank, state in enumerate(saved['states']):
            problem = _state_problem(state)
            if problem:
                problem = f'the state of rank {rank}: {problem}'
                break
    if problem:
        raise RngStateError(
            f'{where}: the random number generator states stored by ExactResumeHook '
            f'({CKPT_KEY!r}) are malformed: {problem}. The file was altered or not written by '
            f'this hook, and restoring them could crash or corrupt the run, so nothing was '
            f'restored. Resume from another checkpoint, or start a new run from its weights '
            f'with load_from.')


def capture_rng_state() -> dict:
    """This process's RNG states, in types that ``weights_only`` loading reads."""
    np_state = np.random.get_state()
    state = dict(
        torch=torch.get_rng_state(),
        numpy=(np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]),
               int(np_state[3]), float(np_state[4])),
        python=random.getstate())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    torch.set_rng_state(state['torch'])
    name, keys, pos, has_gauss, gauss = state['numpy']
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state['python']
    random.setstate((version, tuple(internal), gauss_next))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


class _RestoreBeforeFetch:
    """Wraps the train loop's data iterator: passes ``skip`` fetches (the
    sampler replay) through, then restores the RNG before the next one."""

    def __init__(self, iterator, skip, state):
        self._iterator, self._skip, self._state = iterator, skip, state

    def __iter__(self):
        return self

    def __next__(self):
        if self._state is not None and self._skip == 0:
            restore_rng_state(self._state)
            self._state = None
        self._skip -= 1
        return next(self._iterator)

    def __getattr__(self, name):
        return getattr(self._iterator, name)


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Save every process's RNG states in each checkpoint; restore them on
    resume at the point of the run where they were taken."""
    # before CheckpointHook (VERY_LOW), so that the states of all ranks are
    # gathered by the time rank 0 writes the file
    priority = 'LOW'

    def __init__(self):
        self._states = None    # gathered at the last due checkpoint (rank 0 writes them)
        self._pending = None   # this rank's state to restore after a resume
        self._val_state = None

    # ------------------------------------------------------------- saving
    def _checkpoint_due(self, runner, by_epoch):
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook) or hook.by_epoch != by_epoch:
                continue
            if by_epoch:
                due = hook.every_n_epochs(runner, hook.interval, hook.save_begin) or (
                    hook.save_last and hook.is_last_train_epoch(runner))
            else:
                due = hook.every_n_train_iters(runner, hook.interval, hook.save_begin) or (
                    hook.save_last and hook.is_last_train_iter(runner))
            if due:
                return True
        return False

    def _gather(self, runner, by_epoch):
        if get_world_size() == 1:
            self._states = [capture_rng_state()]
        elif self._checkpoint_due(runner, by_epoch):
            self._states = all_gather_object(capture_rng_state())

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._gather(runner, by_epoch=False)

    def after_train_epoch(self, runner):
        self._gather(runner, by_epoch=True)

    def before_save_checkpoint(self, runner, checkpoint):
        states = self._states if self._states is not None else [capture_rng_state()]
        checkpoint[CKPT_KEY] = dict(world_size=len(states), states=states)

    # ------------------------------------------------------------ restoring
    def after_load_checkpoint(self, runner, checkpoint):
        saved = checkpoint.get(CKPT_KEY)
        if not runner._resume:  # load_from: weights only, a fresh run
            return
        check_rng_states(saved)  # before training starts
        if saved is None:
            warnings.warn('ExactResumeHook: the checkpoint holds no RNG states (saved without '
                          'this hook): the resumed run draws other random numbers than the '
                          'uninterrupted one would have')
            return
        world = get_world_size()
        if saved['world_size'] != world:
            warnings.warn(f'ExactResumeHook: the checkpoint was saved by {saved["world_size"]} '
                          f'processes and is resumed by {world}: the data order is kept, the '
                          f'random draws are not')
            return
        self._pending = saved['states'][get_rank()]

    def before_train(self, runner):
        loop = runner.train_loop
        if self._pending is not None and hasattr(loop, 'dataloader_iterator'):
            # iteration-based: mmengine replays `loop.iter` fetches, then trains
            loop.dataloader_iterator = _RestoreBeforeFetch(loop.dataloader_iterator, loop.iter,
                                                           self._pending)
            self._pending = None

    def before_train_epoch(self, runner):
        if self._pending is not None:  # epoch-based: before the epoch's loader starts
            restore_rng_state(self._pending)
            self._pending = None

    # ---------------------------------------- validation leaves training's RNG alone
    def before_val(self, runner):
        self._val_state = capture_rng_state()

    def after_val(self, runner):
        if self._val_state is not None:
            restore_rng_state(self._val_state)
            self._val_state = None
