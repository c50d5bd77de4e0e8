"""Validating stand-ins for the numpy and mmengine objects that mmengine
checkpoints pickle, for ``torch.load(weights_only=True)``.

Why stand-ins and not the real classes: torch's weights-only unpickler calls
an allow-listed global with *any* arguments and runs ``__setstate__`` of an
allow-listed type with *any* state. numpy's own ``dtype.__setstate__``
trusts its state (a forged ``flags`` field turns raw bytes into object
pointers: a segfault), ``ndarray.__setstate__`` builds object arrays from
lists, and ``HistoryBuffer.__setstate__`` writes into a class-level dict.
So the names that pickles use (``numpy.dtype``,
``numpy._core.multiarray._reconstruct``, ``...scalar``, ``numpy.ndarray``,
``mmengine.logging.history_buffer.HistoryBuffer``) are mapped to the
functions and classes below, which accept exactly what numpy and mmengine
write for plain numeric data and refuse everything else with
``pickle.UnpicklingError``:

- dtypes: a closed set of numeric type codes (bool, signed and unsigned
  integers, float16/32/64), each rebuilt from its checked type code; the
  pickled state must equal the state numpy itself writes for that dtype,
  so flags, fields, names and sizes cannot be forged.
- arrays: shape, dtype and raw bytes are checked against each other before
  numpy sees them; object arrays (whose data is a list) are refused. Memory
  is bounded by the size of the file, since the bytes come from it.
- scalars: a checked dtype and exactly ``itemsize`` bytes.
- ``HistoryBuffer``: its state must hold a non-negative int ``max_length``
  and two equally long 1-D numeric arrays; ``statistics_methods`` may only
  name the buffer's own methods.

What loads: arrays load as :class:`LoadedArray`, an ``ndarray`` subclass that
behaves as (and pickles back as) a plain ndarray; scalars as real numpy
scalars; history buffers as :class:`LoadedHistoryBuffer`, a ``HistoryBuffer``
that pickles back as one. A dtype pickled on its own (not inside an array
or scalar) loads as a :class:`PickledDtype`, which numpy accepts wherever a
dtype goes (``np.zeros(3, dtype=d)``) and which compares equal to its dtype.
"""
import copyreg
import math
import pickle

import numpy as np

# every dtype a checkpoint may hold, by the type code numpy pickles it with
_NUMERIC = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
            np.uint64, np.float16, np.float32, np.float64)
ALLOWED_DTYPES = {f'{np.dtype(t).kind}{np.dtype(t).itemsize}': np.dtype(t) for t in _NUMERIC}
_MAX_NDIM = 32


def _refuse(what):
    raise pickle.UnpicklingError(f'checkpoint refused: {what}')


def _new_refused(cls, *args, **kwargs):
    _refuse(f'{cls.__name__} cannot be created by a pickle directly')


class PickledDtype:
    """A numpy dtype read from a checkpoint, rebuilt from a checked type code.

    Built only by :func:`pickled_dtype` (the pickle's ``numpy.dtype``); its
    ``__setstate__`` accepts only the state numpy writes for that dtype, in
    one of the byte orders. ``.dtype`` is the real ``numpy.dtype``.
    """
    __slots__ = ('dtype', )
    __new__ = _new_refused

    @classmethod
    def _make(cls, dtype):
        obj = object.__new__(cls)
        obj.dtype = dtype
        return obj

    def __setstate__(self, state):
        if not (type(state) is tuple and len(state) == 8
                and all(type(v) in (int, str, type(None)) for v in state)):
            _refuse(f'numpy dtype state {state!r:.200} is not that of a plain numeric dtype')
        order = state[1]
        if order not in ('<', '>', '|'):
            _refuse(f'numpy dtype byte order {order!r:.20}')
        dtype = self.dtype.newbyteorder(order) if order in '<>' else self.dtype
        if state != dtype.__reduce__()[2]:
            _refuse(f'numpy dtype state {state!r:.200} differs from the state of '
                    f'{dtype} ({dtype.__reduce__()[2]!r})')
        self.dtype = dtype

    def __eq__(self, other):
        return self.dtype == (other.dtype if isinstance(other, PickledDtype) else other)

    def __hash__(self):
        return hash(self.dtype)

    def __repr__(self):
        return repr(self.dtype)

    def __reduce__(self):
        return self.dtype.__reduce__()


def pickled_dtype(spec, align=False, copy=True):
    """Stands in for ``numpy.dtype`` in a pickle (``np.dtype('f8', False, True)``)."""
    if type(spec) is not str or spec not in ALLOWED_DTYPES:
        _refuse(f'numpy dtype {spec!r:.50} is not one of the plain numeric dtypes '
                f'{sorted(ALLOWED_DTYPES)}')
    if type(align) is not bool or type(copy) is not bool:
        _refuse(f'numpy dtype arguments align={align!r:.20}, copy={copy!r:.20}')
    return PickledDtype._make(ALLOWED_DTYPES[spec])


def _real_dtype(dtype, what):
    if type(dtype) is not PickledDtype:
        _refuse(f'{what}: dtype must be a numeric numpy dtype, but got '
                f'{type(dtype).__name__}')
    return dtype.dtype


def _ndarray_name(*args, **kwargs):
    _refuse('numpy.ndarray cannot be called by a pickle (only named by _reconstruct)')


class LoadedArray(np.ndarray):
    """A numeric ndarray read from a checkpoint; its state is checked before
    numpy sees it. It pickles (and deep-copies through pickling) as a plain
    ``numpy.ndarray``."""
    __new__ = _new_refused

    def __setstate__(self, state):
        if not (type(state) is tuple and len(state) == 5):
            _refuse(f'ndarray state must be a 5-tuple, but got {type(state).__name__}')
        version, shape, dtype, fortran, data = state
        if type(version) is not int or version != 1:
            _refuse(f'ndarray state version {version!r:.20}')
        if not (type(shape) is tuple and len(shape) <= _MAX_NDIM
                and all(type(d) is int and d >= 0 for d in shape)):
            _refuse(f'ndarray shape {shape!r:.100}')
        dtype = _real_dtype(dtype, 'ndarray')
        if type(fortran) is not bool:
            _refuse(f'ndarray fortran flag {fortran!r:.20}')
        if type(data) is not bytes:  # object arrays pickle their data as a list
            _refuse(f'ndarray data must be bytes, but got {type(data).__name__} '
                    f'(object arrays are not allowed)')
        if len(data) != math.prod(shape) * dtype.itemsize:
            _refuse(f'ndarray of shape {shape} and dtype {dtype} needs '
                    f'{math.prod(shape) * dtype.itemsize} bytes, but got {len(data)}')
        np.ndarray.__setstate__(self, (1, shape, dtype, fortran, data))

    def __reduce__(self):
        return self.view(np.ndarray).__reduce__()

    def __reduce_ex__(self, protocol):
        return self.view(np.ndarray).__reduce_ex__(protocol)


def reconstruct_array(subtype, shape, typecode):
    """Stands in for ``numpy._core.multiarray._reconstruct``: an empty
    :class:`LoadedArray` that the pickle's BUILD then fills (checked)."""
    if subtype is not _ndarray_name or shape != (0, ) or typecode != b'b':
        _refuse(f'_reconstruct({subtype!r:.50}, {shape!r:.50}, {typecode!r:.20}): '
                f'only plain ndarrays are allowed')
    return np.ndarray.__new__(LoadedArray, (0, ), 'b')


def numpy_scalar(dtype, data=None):
    """Stands in for ``numpy._core.multiarray.scalar``."""
    dtype = _real_dtype(dtype, 'numpy scalar')
    if type(data) is not bytes or len(data) != dtype.itemsize:
        _refuse(f'numpy scalar of {dtype} needs {dtype.itemsize} bytes, but got '
                f'{type(data).__name__}')
    return np.frombuffer(data, dtype=dtype)[0]


def empty_bytes(*args):
    """Stands in for ``bytes``: protocol 2 pickles ``b''`` (an empty array's
    data) as ``bytes()``. Any argument (``bytes(10**12)`` allocates) is refused."""
    if args:
        _refuse('bytes(...) with arguments')
    return b''


def _history_buffer_class():
    from mmengine.logging.history_buffer import HistoryBuffer

    class LoadedHistoryBuffer(HistoryBuffer):
        """A ``HistoryBuffer`` read from a checkpoint, its state checked; it
        pickles back as a plain ``HistoryBuffer``."""

        def __new__(cls, *args, **kwargs):
            if args or kwargs:  # pickles create it with NEWOBJ and no arguments
                _new_refused(cls)
            return object.__new__(cls)

        def __setstate__(self, state):
            if type(state) is not dict:
                _refuse(f'HistoryBuffer state must be a dict, but got {type(state).__name__}')
            keys = {'max_length', '_log_history', '_count_history'}
            if not keys <= state.keys() <= keys | {'statistics_methods'}:
                _refuse(f'HistoryBuffer state keys {sorted(map(str, state))!r:.200}; '
                        f'expected {sorted(keys)} (and statistics_methods)')
            max_length = state['max_length']
            if type(max_length) is not int or max_length < 0:
                _refuse(f'HistoryBuffer max_length must be a non-negative int, but got '
                        f'{max_length!r:.50}')
            log, count = state['_log_history'], state['_count_history']
            for name, arr in (('_log_history', log), ('_count_history', count)):
                if type(arr) is not LoadedArray or arr.ndim != 1:
                    _refuse(f'HistoryBuffer {name} must be a 1-D numeric array')
            if len(log) != len(count):
                _refuse(f'HistoryBuffer histories differ in length ({len(log)} vs {len(count)})')
            methods = state.get('statistics_methods', {})
            if type(methods) is not dict or any(
                    type(k) is not str or (v is not getattr(HistoryBuffer, k, None)
                                           and v is not HistoryBuffer._statistics_methods.get(k))
                    for k, v in methods.items()):
                _refuse('HistoryBuffer statistics_methods may only name its own methods')
            HistoryBuffer.__setstate__(self, dict(state))

        # Pickled (and deep-copied) as what it stands for: NEWOBJ HistoryBuffer,
        # whose class pickle checks against ``obj.__class__``.
        @property
        def __class__(self):
            return HistoryBuffer

        def __reduce_ex__(self, protocol):
            return copyreg.__newobj__, (HistoryBuffer, ), self.__getstate__()

    LoadedHistoryBuffer.__module__ = __name__
    return HistoryBuffer, LoadedHistoryBuffer


def history_buffer_getattr(obj, name, *default):
    """``getattr`` restricted to what mmengine checkpoints use it for.

    A pickled ``HistoryBuffer`` refers to its statistics methods as
    ``getattr(HistoryBuffer, 'min' | 'max' | 'current' | 'mean' | <registered>)``.
    A general ``getattr`` would hand a pickle any attribute of any object it
    can build (``ndarray.tofile`` writes files, ...), so everything else is
    refused. Only attribute *lookup* is allowed: calling the result in the
    pickle still needs it to be an allowed global, which these methods are not.
    """
    HistoryBuffer, LoadedHistoryBuffer = _history_buffer_class_cached()
    # the built-in statistics (registered lazily, at the first instance) and
    # any registered with HistoryBuffer.register_statistics
    allowed = {'min', 'max', 'current', 'mean'} | set(HistoryBuffer._statistics_methods)
    if (obj is HistoryBuffer or obj is LoadedHistoryBuffer) and type(name) is str \
            and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint refused: getattr({obj!r:.80}, {name!r:.80}) is not on the allow-list '
        f'(only HistoryBuffer statistics methods are)')


_CACHE = {}


def _history_buffer_class_cached():
    if 'hb' not in _CACHE:
        _CACHE['hb'] = _history_buffer_class()
    return _CACHE['hb']


def safe_globals():
    """(stand-in, name) pairs for ``torch.serialization.add_safe_globals``."""
    _, LoadedHistoryBuffer = _history_buffer_class_cached()
    pairs = [(pickled_dtype, 'numpy.dtype'), (_ndarray_name, 'numpy.ndarray'),
             (LoadedArray, f'{__name__}.LoadedArray'),
             (PickledDtype, f'{__name__}.PickledDtype'),
             (LoadedHistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
             (history_buffer_getattr, '__builtin__.getattr'),
             (history_buffer_getattr, 'builtins.getattr'),
             (empty_bytes, '__builtin__.bytes'), (empty_bytes, 'builtins.bytes')]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):  # numpy 1.x, 2.x
        pairs += [(reconstruct_array, f'{module}._reconstruct'),
                  (numpy_scalar, f'{module}.scalar')]
    return pairs
