"""Faults and bad input: hostile checkpoints, wrong weights, the converter's
inputs and outputs, interrupted training, malformed arguments. Each case is
one a careless user or a crafted file produced; each must end in a clear
error (or, for resume, in exactly the uninterrupted result)."""
import copyreg
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

import rexnet_mm  # noqa: F401  installs the allow-list
from rexnet_mm.utils.errors import UserError

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct

NPY_LIST_PICKLE = 0x02  # numpy's dtype flag: "pickle the data as a list of objects"


# ------------------------------------------------------------------ crafted pickles
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
def test_arbitrary_pickle_refused(tmp_path, protocol):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(1)},
                'x': _Reduce(os.system, (f'touch {marker}', ))}, path, pickle_protocol=protocol)
    with pytest.raises(pickle.UnpicklingError) as err:
        _mmengine_load(path)
    if protocol == 2:
        assert 'system' in str(err.value)
    assert not marker.exists()


def test_getattr_gadget_refused(tmp_path):
    """A pickle that reaches ndarray.tofile through getattr must not run."""
    marker = tmp_path / 'written'
    path = tmp_path / 'gadget.pth'
    # a bound builtin method pickles as getattr(array, 'tofile')
    torch.save({'x': _Reduce(np.arange(3).tofile, (str(marker), ))}, path)
    with pytest.raises(pickle.UnpicklingError, match='tofile'):
        _mmengine_load(path)
    assert not marker.exists()


# ------------------------------------------------------------------ wrong weights, wrong widths
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_CFG = os.path.join(ROOT, 'configs/demo/faster-rcnn_rexnet-1.0x_fpn_demo-coco.py')
TRAIN = os.path.join(ROOT, 'tools/train.py')
TEST = os.path.join(ROOT, 'tools/test.py')


def _demo_detector_checkpoint(path, arch):
    """A demo Faster R-CNN checkpoint with a ReXNet ``arch`` backbone (random
    weights, the widths switched by the same code as --arch)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    from rexnet_mm.runner.config import apply_arch
    register_all_modules()
    cfg = Config.fromfile(DEMO_CFG)
    apply_arch(cfg, arch)
    model = MODELS.build(cfg.model)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)


@pytest.fixture(scope='module')
def ckpt_09x(tmp_path_factory):
    path = tmp_path_factory.mktemp('ckpt') / 'faster_rcnn_rexnet-0.9x_demo.pth'
    _demo_detector_checkpoint(path, '0.9x')
    return str(path)


def _det_opts(tiny_coco, iters=2, extra=()):
    from helpers.tool import demo_det_options
    return ['--cfg-options', *demo_det_options(tiny_coco / 'coco', iters, extra)]


def test_checkpoint_of_another_arch_stops_test_resume_and_load_from(tiny_coco, ckpt_09x, tmp_path):
    from helpers.tool import assert_clean_error, run_main
    expected = ('ReXNet 0.9x', 'ReXNet 1.0x', 'differ in shape')
    rc, out = run_main('tools/test.py', [DEMO_CFG, ckpt_09x, '--work-dir',
                                         str(tmp_path / 'wrong_test')] + _det_opts(tiny_coco))
    assert_clean_error(rc, out, *expected)
    assert 'Evaluating' not in out and 'Iter(test)' not in out  # stopped before any work
    rc, out = run_main('tools/train.py', [DEMO_CFG, '--resume', ckpt_09x, '--work-dir',
                                          str(tmp_path / 'wrong_resume')] + _det_opts(tiny_coco))
    assert_clean_error(rc, out, '--resume checkpoint', *expected)
    assert not list((tmp_path / 'wrong_resume').glob('iter_*.pth'))
    rc, out = run_main('tools/train.py', [DEMO_CFG, '--work-dir', str(tmp_path / 'wrong_load')] +
                       _det_opts(tiny_coco, extra=[f'load_from={ckpt_09x}']))
    assert_clean_error(rc, out, 'load_from checkpoint', *expected)
    assert not list((tmp_path / 'wrong_load').glob('iter_*.pth'))


def test_arch_knob_switches_widths_and_a_lone_arch_override_stops(tiny_coco, ckpt_09x, tmp_path):
    from helpers.tool import assert_clean_error, run_main

    # the arch alone: the FPN still expects 1.0x's widths
    rc, out = run_main('tools/train.py', [DEMO_CFG, '--work-dir', str(tmp_path / 'lone')] +
                       _det_opts(tiny_coco, extra=['model.backbone.arch=0.9x']))
    assert_clean_error(rc, out, 'returns [36, 56, 117, 168] channels',
                       'model.neck.in_channels=[38, 61, 128, 185]', '--arch 0.9x',
                       'model.neck.in_channels=[36,56,117,168]')
    # --arch switches both: the 0.9x checkpoint then tests fine
    rc, out = run_main('tools/test.py', [DEMO_CFG, ckpt_09x, '--arch', '0.9x', '--work-dir',
                                         str(tmp_path / 'arch_test')] + _det_opts(tiny_coco))
    assert rc == 0, out[-3000:]
    assert 'model.neck.in_channels [38, 61, 128, 185] -> [36, 56, 117, 168]' in out
    assert 'Average Precision' in out  # by pycocotools' print


def _widths_error(config, head=None, **backbone):
    from mmengine.config import Config

    from rexnet_mm.models import ReXNet
    from rexnet_mm.runner.checks import check_widths
    cfg = Config.fromfile(os.path.join(ROOT, config))
    cfg.merge_from_dict({f'model.backbone.{k}': v for k, v in backbone.items()})
    cfg.merge_from_dict({f'model.head.{k}': v for k, v in (head or {}).items()})
    b = cfg.model.backbone
    with torch.device('meta'):
        net = torch.nn.Module()
        net.backbone = ReXNet(b.arch, out_indices=b.out_indices)
    with pytest.raises(UserError) as err:
        check_widths(cfg, net)
    return str(err.value)


def test_width_check_covers_ssd_and_classifier_heads():
    msg = _widths_error('configs/detection/ssdlite_rexnet-1.0x_8xb24-600e_coco.py', arch='0.9x')
    assert 'model.neck.in_channels=[117,1152]' in msg
    assert 'model.bbox_head.in_channels=[117,1152,512,256,256,128]' in msg
    # the configs' classifier takes the arch: it must be the backbone's
    msg = _widths_error('configs/classification/rexnet-1.0x_4xb128_in1k.py', arch='1.5x')
    assert 'model.head.arch=1.0x' in msg and 'model.head.arch=1.5x' in msg
    assert '--arch 1.5x' in msg
    # a classifier given its width instead
    msg = _widths_error('configs/classification/rexnet-1.0x_4xb128_in1k.py', arch='1.5x',
                        head=dict(arch=None, in_channels=1280))
    assert 'model.head.in_channels=1920' in msg and 'model.head.in_channels=1280' in msg


# ------------------------------------------------------------------ the converter


@pytest.fixture(scope='module')
def official_file(tmp_path_factory):
    from official_rexnet import official_model
    path = tmp_path_factory.mktemp('official') / 'rexnetv1_1.0.pth'
    torch.manual_seed(0)
    torch.save(official_model('1.0x', classes=10).state_dict(), path)
    return path


def _convert(*args):
    from helpers.tool import run_main
    return run_main('tools/model_converters/rexnet_to_mm.py', [str(a) for a in args])


def _digest(path):
    import hashlib
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


@pytest.mark.parametrize('how', ['same path', 'symlink', 'hard link'])
def test_converter_never_overwrites_its_source(tmp_path, official_file, how):
    from helpers.tool import assert_clean_error
    src = tmp_path / 'src.pth'
    src.write_bytes(official_file.read_bytes())
    before = _digest(src)
    dst = {'same path': src, 'symlink': tmp_path / 'link.pth',
           'hard link': tmp_path / 'hard.pth'}[how]
    if how == 'symlink':
        dst.symlink_to(src)
    elif how == 'hard link':
        os.link(src, dst)
    rc, out = _convert(src, dst, '--overwrite')
    assert_clean_error(rc, out, 'is SRC', 'the same file')
    assert _digest(src) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({'src.pth', dst.name})


def _refused(main, *args):
    """The message a tool's main() stops with (in this process)."""
    with pytest.raises(SystemExit) as err:
        main([str(a) for a in args])
    return str(err.value)


def test_converter_refuses_bad_paths_and_leaves_nothing(tmp_path, official_file):
    from helpers.tool import load_tool
    main = load_tool('tools/model_converters/rexnet_to_mm.py').main
    (tmp_path / 'outdir').mkdir()
    assert 'DST' in _refused(main, official_file, tmp_path / 'outdir') and \
        'is a directory' in _refused(main, official_file, tmp_path / 'outdir')
    assert list((tmp_path / 'outdir').iterdir()) == []
    (tmp_path / 'empty.pth').write_bytes(b'')
    assert 'is an empty file' in _refused(main, tmp_path / 'empty.pth', tmp_path / 'o.pth')
    assert 'SRC' in _refused(main, tmp_path / 'outdir', tmp_path / 'o.pth') and \
        'is a directory' in _refused(main, tmp_path / 'outdir', tmp_path / 'o.pth')
    (tmp_path / 'junk.pth').write_bytes(b'not a checkpoint at all')
    assert 'cannot read' in _refused(main, tmp_path / 'junk.pth', tmp_path / 'o.pth')
    assert not (tmp_path / 'o.pth').exists()
    # an existing output is kept unless --overwrite
    (tmp_path / 'mine.pth').write_bytes(b'precious')
    msg = _refused(main, official_file, tmp_path / 'mine.pth')
    assert 'exists' in msg and '--overwrite' in msg
    assert (tmp_path / 'mine.pth').read_bytes() == b'precious'
    assert main([str(official_file), str(tmp_path / 'mine.pth'), '--overwrite']) == '1.0x'
    assert torch.load(tmp_path / 'mine.pth')['meta']['arch'] == '1.0x'
    # a failure while writing leaves neither a partial file nor a changed output
    from unittest import mock
    with mock.patch('torch.save', side_effect=OSError('disk full')), pytest.raises(OSError):
        main([str(official_file), str(tmp_path / 'new.pth')])
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ['empty.pth', 'junk.pth', 'mine.pth', 'outdir']


def test_converter_refuses_nonfinite_weights(tmp_path, official_file):
    from helpers.tool import load_tool
    main = load_tool('tools/model_converters/rexnet_to_mm.py').main
    state = torch.load(official_file)
    state['features.0.weight'][0, 0, 0, 0] = float('nan')
    state['output.1.weight'].fill_(float('inf'))
    torch.save(state, tmp_path / 'nan.pth')
    msg = _refused(main, tmp_path / 'nan.pth', tmp_path / 'o.pth')
    for text in ('2 of', 'NaN or infinite', 'backbone.stem.conv.weight', '--allow-nonfinite'):
        assert text in msg, msg
    assert not (tmp_path / 'o.pth').exists()
    main([str(tmp_path / 'nan.pth'), str(tmp_path / 'o.pth'), '--allow-nonfinite'])
    assert (tmp_path / 'o.pth').exists()


# ------------------------------------------------------------------ backbone arguments and input
def test_out_indices_returned_in_the_order_asked_and_no_repeats():
    from rexnet_mm.models import ReXNet
    m = ReXNet('1.0x', out_indices=(5, 1)).eval()
    outs = m(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == m.out_channels == [185, 38]
    assert [64 // o.shape[-1] for o in outs] == m.out_strides == [32, 4]
    with pytest.raises(ValueError, match=r'out_indices must not repeat an index, but got \(1, 1\)'):
        ReXNet(out_indices=(1, 1))


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
@pytest.mark.parametrize('key', ['width_mult', 'depth_mult'])
def test_nonfinite_multipliers_named_as_arch(key, value):
    from rexnet_mm.models import ReXNet
    with pytest.raises(ValueError, match=f'arch: {key} must be a positive finite number, '
                       f'but got {value}'):
        ReXNet(arch={key: value})


@pytest.mark.parametrize('x,what', [
    (torch.randn(3, 32, 32), 'torch.float32 tensor of shape (3, 32, 32)'),
    (torch.randn(1, 1, 32, 32), 'of shape (1, 1, 32, 32)'),
    (torch.zeros(1, 3, 32, 32, dtype=torch.uint8), 'torch.uint8 tensor'),
    (torch.randn(2, 3, 8, 8, 8), 'of shape (2, 3, 8, 8, 8)'),
])
def test_bad_input_tensor_is_named(x, what):
    from rexnet_mm.models import ReXNet
    m = ReXNet('1.0x', out_indices=(1, )).eval()
    with pytest.raises(ValueError) as err:
        m(x)
    assert "ReXNet(arch='1.0x') expects a floating-point tensor of shape (N, 3, H, W)" in \
        str(err.value) and what in str(err.value)


def test_one_image_batch_with_training_bn_explains_the_fixes():
    from rexnet_mm.models import ReXNet
    m = ReXNet('1.0x', out_indices=(3, )).train()
    with pytest.raises(ValueError) as err:
        m(torch.randn(1, 3, 64, 64))
    msg = str(err.value)
    assert 'batch of 1 image' in msg and 'norm_eval=True' in msg and 'SyncBN' in msg
    assert m(torch.randn(2, 3, 64, 64))[0].shape[0] == 2  # 2 images are fine
    m = ReXNet('1.0x', out_indices=(3, ), norm_eval=True).train()
    m(torch.randn(1, 3, 64, 64))  # fixed statistics are fine


# ------------------------------------------------------------------ tools on bad input
INFER = os.path.join(ROOT, 'tools/infer.py')


def test_infer_bad_images(tmp_path, ckpt_09x):
    from helpers.tool import assert_clean_error, load_tool, run_tool
    main = load_tool('tools/infer.py').main
    (tmp_path / 'corrupt.jpg').write_bytes(b'\xff\xd8\xff\xe0' + os.urandom(200))
    (tmp_path / 'notes.txt').write_text('not an image\n')
    (tmp_path / 'empty.jpg').write_bytes(b'')
    (tmp_path / 'images').mkdir()
    for name, expected in [('notes.txt', 'cannot be decoded as an image'),
                           ('empty.jpg', 'is an empty file'), ('images', 'is a directory'),
                           ('missing.jpg', 'does not exist')]:
        msg = _refused(main, DEMO_CFG, ckpt_09x, tmp_path / name)
        assert name in msg and expected in msg, msg
    # as a user sees it
    rc, out = run_tool([sys.executable, INFER, DEMO_CFG, ckpt_09x, str(tmp_path / 'corrupt.jpg')],
                       cwd=tmp_path, check=False)
    assert_clean_error(rc, out, 'corrupt.jpg', 'cannot be decoded as an image')


def test_config_syntax_error_and_bad_cfg_options(tmp_path):
    from helpers.tool import assert_clean_error, run_main
    bad = tmp_path / 'bad.py'
    bad.write_text("_base_ = 'x.py'\nmodel = dict(backbone=dict(arch='1.0x')\n")
    rc, out = run_main('tools/train.py', [str(bad)])
    assert_clean_error(rc, out, 'error: config', 'bad.py, line')
    rc, out = run_main('tools/train.py', [DEMO_CFG, '--cfg-options', 'foo'])
    assert_clean_error(rc, out, "expected KEY=VALUE items", "got 'foo'")


# ------------------------------------------------------------------ exact resume after kill -9
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
    opts = _det_opts(tiny_coco, 6, extra)
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


def test_tools_refuse_a_crafted_checkpoint_in_one_line(tiny_coco, crafted_files, tmp_path):
    from helpers.tool import assert_clean_error, run_tool
    forged = crafted_files['forged_void_dtype_segfault']
    rc, out = run_tool([sys.executable, TEST, DEMO_CFG, forged, '--work-dir',
                        str(tmp_path / 'forged_test')] + _det_opts(tiny_coco),
                       cwd=tiny_coco, check=False)
    assert_clean_error(rc, out, 'refused by the safe loader', "numpy dtype 'V8'")
    rc, out = run_tool([sys.executable, TRAIN, DEMO_CFG, '--resume', forged, '--work-dir',
                        str(tmp_path / 'forged_resume')] + _det_opts(tiny_coco),
                       cwd=tiny_coco, check=False)
    assert_clean_error(rc, out, '--resume checkpoint', 'refused by the safe loader')
