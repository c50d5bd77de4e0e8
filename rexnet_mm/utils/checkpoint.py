"""Checkpoint helpers: torch >= 2.6 compatibility for mmengine checkpoints and
clear errors for missing files.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7
checkpoints (``--resume``, ``load_from``) hold a few non-tensor objects: the
message hub's ``HistoryBuffer`` (numpy arrays inside), numpy scalars and
dtypes in the logged metrics. :func:`allow_mmengine_checkpoints` adds exactly
those to torch's allow-list, so the weights-only protection stays on: a
checkpoint that pickles anything else (``os.system``, an arbitrary class, ...)
is still refused.
"""
import builtins
import os
import os.path as osp

import numpy as np
import torch

_ALLOWED_GETATTR = None


def _numpy_allow_list():
    """numpy objects that pickled arrays, scalars and dtypes refer to."""
    allowed = [np.ndarray, np.dtype]
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    allowed += [_reconstruct, scalar]
    # numpy >= 1.25 pickles dtype instances through their class
    # (numpy.dtypes.Float64DType, ...).
    dtype_classes = sorted({type(np.dtype(c)) for c in np.typecodes['All'] if c},
                           key=lambda t: t.__name__)
    allowed += [t for t in dtype_classes if t is not np.dtype]
    return allowed


def _safe_getattr_factory(dtype_classes):
    """``getattr`` restricted to what numpy's pickles use it for.

    Pickle protocol >= 4 stores a class reachable only as an attribute
    (``numpy.dtypes.Float64DType``) as ``getattr(module_object, name)``. A
    general ``getattr`` would let a pickle reach any method of any allowed
    object (``ndarray.tofile`` writes files), so only the dtype classes
    resolve; anything else raises.
    """
    allowed = {(t.__module__, t.__name__): t for t in dtype_classes}

    def restricted_getattr(obj, name, *default):
        mod = getattr(obj, '__name__', None)
        key = (mod, name)
        if key in allowed:
            return allowed[key]
        raise ValueError(f'checkpoint refused: getattr({obj!r}, {name!r}) is not allowed')

    return restricted_getattr


def mmengine_safe_globals():
    """Everything an mmengine 0.10.x checkpoint may pickle besides tensors."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer] + _numpy_allow_list()


def allow_mmengine_checkpoints():
    """Let ``torch.load(weights_only=True)`` read mmengine checkpoints.

    Idempotent; a no-op on torch versions without ``add_safe_globals``.
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return
    safe = mmengine_safe_globals()
    add(safe)


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
