"""Crafted checkpoints: the safe unpickler refuses what would run code or
crash numpy (forged dtypes, reduce gadgets, getattr chains), loads
mmengine's own objects as numpy, and the tools say so in one line."""
import copyreg
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

import rexnet_mm  # noqa: F401  installs the allow-list

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct

from helpers.tool import DEMO_DETECTORS, ROOT, det_opts  # noqa: E402

NPY_LIST_PICKLE = 0x02  # numpy's dtype flag: "pickle the data as a list of objects"


class _Reduce:
    """Pickles as ``func(*args)``, then ``BUILD(state)`` when a state is given:
    the exact opcodes a hostile file can hold."""

    def __init__(self, func, args, state=None):
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        return (self.func, self.args) if self.state is None else \
            (self.func, self.args, self.state)


def _array(dtype, data, shape=(1, )):
    """An ndarray as numpy pickles it: _reconstruct + BUILD(state)."""
    return _Reduce(_reconstruct, (np.ndarray, (0, ), b'b'), (1, shape, dtype, False, data))


def _forged_object_dtype():
    """np.dtype('V8') rebuilt by BUILD into a struct with an object field whose
    flags omit LIST_PICKLE: numpy then reads raw bytes as object pointers."""
    real = np.dtype([('a', 'O')])
    object_dtype = _Reduce(np.dtype, ('O8', False, True))  # REDUCE only: no BUILD to refuse
    state = (3, '|', None, ('a', ), {'a': (object_dtype, 0)}, 8, 1,
             real.flags & ~NPY_LIST_PICKLE)
    return _Reduce(np.dtype, ('V8', False, True), state)


class _history_buffer:
    """Pickles as a HistoryBuffer (NEWOBJ) with ``state`` as its BUILD state."""

    def __init__(self, state):
        self.state = state

    @property
    def __class__(self):  # pickle checks that NEWOBJ's class is the object's
        from mmengine.logging import HistoryBuffer
        return HistoryBuffer

    def __reduce_ex__(self, protocol):
        from mmengine.logging import HistoryBuffer
        return copyreg.__newobj__, (HistoryBuffer, ), self.state


def _crafted():
    """name -> object whose pickle must be refused."""
    from mmengine.logging import HistoryBuffer
    floats = np.zeros(2)
    good = dict(max_length=10, _log_history=floats, _count_history=floats)
    return {
        'forged_void_dtype_segfault': _array(_forged_object_dtype(), b'A' * 8),
        'object_dtype_by_reduce': _array(_Reduce(np.dtype, ('O8', False, True)),
                                         [[0] * 1000] * 3, shape=(3, )),
        'structured_object_dtype': np.zeros(2, dtype=[('a', 'O'), ('b', 'f4')]),
        'structured_object_dtype_by_reduce': _array(
            _Reduce(np.dtype, ('V8', False, True),
                    (3, '|', None, ('a', ), {'a': (_Reduce(np.dtype, ('O8', False, True)), 0)},
                     8, 1, np.dtype([('a', 'O')]).flags)), [(1, )] * 3, shape=(3, )),
        'object_array': np.array([1, 'x', None], dtype=object),
        'subarray_dtype_memory_bomb': _array(
            _Reduce(np.dtype, ('V8', False, True),
                    (3, '|', (np.dtype('f8'), (10**9, )), None, None, 8, 1, 0)), b'A' * 8),
        'float_dtype_forged_flags': _array(
            _Reduce(np.dtype, ('f8', False, True), (3, '<', None, None, None, -1, -1, 63)),
            b'A' * 8),
        'array_bytes_shorter_than_shape': _array(np.dtype('f8'), b'A' * 8, shape=(10**6, )),
        'scalar_of_object_dtype': _Reduce(np.float64(0).__reduce__()[0],
                                          (np.dtype('O'), b'A' * 8)),
        'history_buffer_negative_max_length': _history_buffer(dict(good, max_length=-1)),
        'history_buffer_list_history': _history_buffer(dict(good, _log_history=[1.0, 2.0])),
        'history_buffer_str_max_length': _history_buffer(dict(good, max_length='10')),
        'history_buffer_swapped_statistics': _history_buffer(
            dict(good, statistics_methods={'mean': HistoryBuffer.max})),
        'history_buffer_extra_attribute': _history_buffer(dict(good, update=print)),
        'history_buffer_called_with_args': _Reduce(HistoryBuffer, ([1.0], [1], -5)),
        'bytes_memory_bomb': _Reduce(bytes, (10**10, )),
    }


_LOADER = r'''
import pickle, resource, sys
import torch
import rexnet_mm
how, paths = sys.argv[1], sys.argv[2:]
for path in paths:
    try:
        if how == 'torch.load':
            torch.load(path, map_location='cpu')
        else:
            from mmengine.runner.checkpoint import CheckpointLoader
            CheckpointLoader.load_checkpoint(path, map_location='cpu')
        print('LOADED', path, flush=True)
    except pickle.UnpicklingError as e:
        print('REFUSED', path, ' '.join(str(e).split()), flush=True)
print('MAXRSS_MB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, flush=True)
'''


@pytest.fixture(scope='module')
def crafted_files(tmp_path_factory):
    d = tmp_path_factory.mktemp('crafted')
    paths = {}
    for name, obj in _crafted().items():
        paths[name] = str(d / f'{name}.pth')
        torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': {'x': obj}}, paths[name])
    paths['benign'] = str(d / 'benign.pth')
    torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': {'x': np.zeros(3)}}, paths['benign'])
    return paths


def _load_in_subprocess(how, paths):
    proc = subprocess.run([sys.executable, '-c', _LOADER, how, *paths], capture_output=True,
                          text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize('how', ['torch.load', 'mmengine'])
def test_crafted_checkpoints_refused_without_crash(crafted_files, how):
    """Every crafted file is refused with UnpicklingError: no segfault, no
    object array, memory bounded (the loads run in a child process)."""
    names = [n for n in crafted_files if n != 'benign']
    rc, out = _load_in_subprocess(how, [crafted_files[n] for n in names])
    assert rc == 0, f'the loader died (rc {rc}):\n{out[-3000:]}'
    for name in names:
        line = next((x for x in out.splitlines() if x.startswith(('REFUSED', 'LOADED'))
                     and crafted_files[name] in x), '')
        assert line.startswith('REFUSED'), f'{name}: {line or out[-2000:]}'
    # the refusal says what was refused
    assert "numpy dtype 'V8' is not one of the plain numeric dtypes" in out
    assert 'HistoryBuffer max_length must be a non-negative int' in out
    _, base = _load_in_subprocess(how, [crafted_files['benign']])
    assert 'LOADED' in base

    def rss(text):
        return int(text.rsplit('MAXRSS_MB', 1)[1].split()[0])
    # all crafted files together cost no more than loading one benign file
    assert rss(out) <= rss(base) + 100, (rss(out), rss(base))


def _mmengine_load(path):
    from mmengine.runner.checkpoint import CheckpointLoader
    return CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


def test_mmengine_objects_load_as_numpy(tmp_path):
    """A message hub with numpy values, numpy scalars and arrays of every
    allowed dtype and byte order load, and save back as plain numpy/mmengine
    objects (a file re-saved after loading needs no rexnet_mm to read)."""
    from mmengine.logging import HistoryBuffer, MessageHub
    hub = MessageHub.get_instance('rexnet_mm_test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float32(1.25))
    hub.update_info('best_score', np.float64(0.5))
    arrays = {t: np.arange(6).astype(t).reshape(2, 3) for t in
              ('bool', 'int8', 'uint16', 'int32', 'int64', 'float16', 'float32', 'float64')}
    arrays['big_endian'] = np.arange(4, dtype='>f4')
    arrays['fortran'] = np.asfortranarray(np.arange(6.).reshape(2, 3))
    arrays['empty'] = np.zeros((0, 3))
    ckpt = {'state_dict': {'w': torch.ones(2)}, 'message_hub': hub.state_dict(),
            'meta': {'seed': np.int64(3), 'flag': np.bool_(True), 'dtype': np.dtype('float32'),
                     'arrays': arrays}}
    torch.save(ckpt, tmp_path / 'ok.pth')
    loaded = _mmengine_load(tmp_path / 'ok.pth')
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer) and buf.current() == 1.25 and buf.mean() == 1.375
    assert loaded['message_hub']['runtime_info']['best_score'] == 0.5
    meta = loaded['meta']
    assert type(meta['seed']) is np.int64 and meta['seed'] == 3 and meta['flag']
    assert meta['dtype'] == np.float32 and np.zeros(1, dtype=meta['dtype']).dtype == np.float32
    for k, a in arrays.items():
        got, plain = meta['arrays'][k], pickle.loads(pickle.dumps(a))  # as numpy itself loads it
        assert isinstance(got, np.ndarray) and got.dtype == plain.dtype, k
        assert got.shape == a.shape and np.array_equal(got, a), k
    # a restored message hub keeps working
    hub2 = MessageHub.get_instance('rexnet_mm_test_2')
    hub2.load_state_dict(loaded['message_hub'])
    hub2.update_scalar('train/loss', 2.0)
    assert hub2.get_scalar('train/loss').current() == 2.0
    # re-saved, the file names only numpy / mmengine / torch globals
    torch.save(loaded, tmp_path / 'again.pth')
    import zipfile
    with zipfile.ZipFile(tmp_path / 'again.pth') as z:
        data = z.read(next(n for n in z.namelist() if n.endswith('data.pkl')))
    assert b'rexnet_mm' not in data and b'HistoryBuffer' in data


@pytest.mark.filterwarnings('ignore:Detected pickle protocol')
@pytest.mark.parametrize('protocol', [2, pickle.HIGHEST_PROTOCOL])
def test_arbitrary_picklerefused(tmp_path, protocol):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(1)},
                'x': _Reduce(os.system, (f'touch {marker}', ))}, path, pickle_protocol=protocol)
    with pytest.raises(pickle.UnpicklingError) as err:
        _mmengine_load(path)
    if protocol == 2:
        assert 'system' in str(err.value)
    assert not marker.exists()


def test_getattr_gadgetrefused(tmp_path):
    """A pickle that reaches ndarray.tofile through getattr must not run."""
    marker = tmp_path / 'written'
    path = tmp_path / 'gadget.pth'
    # a bound builtin method pickles as getattr(array, 'tofile')
    torch.save({'x': _Reduce(np.arange(3).tofile, (str(marker), ))}, path)
    with pytest.raises(pickle.UnpicklingError, match='tofile'):
        _mmengine_load(path)
    assert not marker.exists()


DEMO_CFG = osp.join(ROOT, DEMO_DETECTORS['faster'])
TRAIN = osp.join(ROOT, 'tools/train.py')
TEST = osp.join(ROOT, 'tools/test.py')


def test_tools_refuse_a_crafted_checkpoint_in_one_line(tiny_coco, crafted_files, tmp_path):
    from helpers.tool import assert_clean_error, run_tool
    forged = crafted_files['forged_void_dtype_segfault']
    rc, out = run_tool([sys.executable, TEST, DEMO_CFG, forged, '--work-dir',
                        str(tmp_path / 'forged_test')] + det_opts(tiny_coco),
                       cwd=tiny_coco, check=False)
    assert_clean_error(rc, out, 'refused by the safe loader', "numpy dtype 'V8'")
    rc, out = run_tool([sys.executable, TRAIN, DEMO_CFG, '--resume', forged, '--work-dir',
                        str(tmp_path / 'forged_resume')] + det_opts(tiny_coco),
                       cwd=tiny_coco, check=False)
    assert_clean_error(rc, out, '--resume checkpoint', 'refused by the safe loader')
