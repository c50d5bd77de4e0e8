"""Checkpoint helpers: torch >= 2.6 compatibility for mmengine checkpoints and
clear errors for missing files.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7
checkpoints (``--resume``, ``load_from``) hold a few non-tensor objects: the
message hub's ``HistoryBuffer`` (numpy arrays inside) and numpy scalars in
the logged metrics. :func:`allow_mmengine_checkpoints` maps exactly those
names to validating stand-ins (plain numeric dtypes only, states checked
before numpy sees them; see :mod:`.safe_unpickle`), so the weights-only
protection stays on: a checkpoint that pickles anything else (``os.system``,
an arbitrary class, an object array, a forged dtype, a ``getattr`` of any
other attribute, ...) is refused with ``pickle.UnpicklingError``.
"""
import os
import os.path as osp

import torch


def mmengine_safe_globals():
    """Everything an mmengine 0.10.x checkpoint may pickle besides tensors,
    as validating stand-ins (see :mod:`rexnet_mm.utils.safe_unpickle`)."""
    from .safe_unpickle import safe_globals
    return safe_globals()


def allow_mmengine_checkpoints():
    """Let ``torch.load(weights_only=True)`` read mmengine checkpoints.

    Idempotent; a no-op on torch versions without ``add_safe_globals``.
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return
    add(mmengine_safe_globals())


def check_checkpoint_file(path: str, what: str = 'checkpoint') -> None:
    """Fail early, saying where a local checkpoint was looked for and how to
    produce it."""
    if not isinstance(path, str):
        raise TypeError(f'{what} must be a path string, but got {type(path).__name__}')
    if '://' in path or path.startswith(('open-mmlab:', 'mmcls:', 'torchvision:')):
        return  # remote / model-zoo names: mmengine handles them
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{what} not found: {path!r} (looked in {osp.abspath(path)}; cwd {os.getcwd()}).\n'
            f'Produce it from the official or timm weights with\n'
            f'  python tools/model_converters/rexnet_to_mm.py SRC.pth {path}\n'
            f'or train from scratch with --cfg-options model.backbone.init_cfg=None')


def save_whole(obj, dst):
    """Write ``obj`` to ``dst`` completely or not at all: a partial file in
    the same directory (``.<name>.<pid>.part``), renamed over ``dst`` at the
    end, removed on failure (see :mod:`.files`)."""
    from .files import partial_path, publish, remove_quietly
    tmp = partial_path(dst)
    try:
        with open(tmp, 'wb') as f:
            torch.save(obj, f)
        publish(tmp, dst)
    except BaseException:
        remove_quietly(tmp)
        raise
