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
import random
import warnings

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.registry import HOOKS

CKPT_KEY = 'rexnet_mm_rng_states'


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
