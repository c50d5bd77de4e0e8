"""Checkpoint helpers: torch >= 2.6 compatibility for mmengine checkpoints and
clear errors for missing files.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7
checkpoints (``--resume``, ``load_from``) hold a few non-tensor objects: the
message hub's ``HistoryBuffer`` (numpy arrays inside), numpy scalars and
dtypes in the logged metrics. :func:`allow_mmengine_checkpoints` adds exactly
those to torch's allow-list (and a ``getattr`` that only resolves the
buffer's statistics methods), so the weights-only protection stays on: a
checkpoint that pickles anything else (``os.system``, an arbitrary class, a
``getattr`` of any other attribute, ...) is still refused.
"""
import os
import pickle
import os.path as osp

import numpy as np
import torch


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
    # object arrays would smuggle arbitrary pickles in: not allowed
    allowed += [t for t in dtype_classes if t not in (np.dtype, type(np.dtype(object)))]
    return allowed


def history_buffer_getattr(obj, name, *default):
    """``getattr`` restricted to what mmengine checkpoints use it for.

    A pickled ``HistoryBuffer`` refers to its statistics methods as
    ``getattr(HistoryBuffer, 'min' | 'max' | 'current' | 'mean' | <registered>)``.
    A general ``getattr`` would hand a pickle any attribute of any object it
    can build (``ndarray.tofile`` writes files, ...), so everything else is
    refused. Only attribute *lookup* is allowed: calling the result in the
    pickle still needs it to be an allowed global, which these methods are not.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    # the built-in statistics (registered lazily, at the first instance) and
    # any registered with HistoryBuffer.register_statistics
    allowed = {'min', 'max', 'current', 'mean'} | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and isinstance(name, str) and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint refused: getattr({obj!r}, {name!r}) is not on the allow-list '
        f'(only HistoryBuffer statistics methods are)')


def mmengine_safe_globals():
    """Everything an mmengine 0.10.x checkpoint may pickle besides tensors."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, (history_buffer_getattr, '__builtin__.getattr'),
            (history_buffer_getattr, 'builtins.getattr')] + _numpy_allow_list()


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
