"""The converter's inputs and outputs: it never writes over its source
(same path, symlink, hard link), refuses bad paths and non-finite
weights, and leaves nothing behind when it refuses."""
import os

import pytest
import torch

import rexnet_mm  # noqa: F401  installs the allow-list
from helpers.tool import digest


@pytest.fixture(scope='module')
def official_file(tmp_path_factory):
    from oracles.official_rexnet import official_model
    path = tmp_path_factory.mktemp('official') / 'rexnetv1_1.0.pth'
    torch.manual_seed(0)
    torch.save(official_model('1.0x', classes=10).state_dict(), path)
    return path


def _convert(*args):
    from helpers.tool import run_main
    return run_main('tools/model_converters/rexnet_to_mm.py', [str(a) for a in args])


@pytest.mark.parametrize('how', ['same path', 'symlink', 'hard link'])
def test_converter_never_overwrites_its_source(tmp_path, official_file, how):
    from helpers.tool import assert_clean_error
    src = tmp_path / 'src.pth'
    src.write_bytes(official_file.read_bytes())
    before = digest(src)
    dst = {'same path': src, 'symlink': tmp_path / 'link.pth',
           'hard link': tmp_path / 'hard.pth'}[how]
    if how == 'symlink':
        dst.symlink_to(src)
    elif how == 'hard link':
        os.link(src, dst)
    rc, out = _convert(src, dst, '--overwrite')
    assert_clean_error(rc, out, 'is SRC', 'the same file')
    assert digest(src) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({'src.pth', dst.name})


def refused(main, *args):
    """The message a tool's main() stops with (in this process)."""
    with pytest.raises(SystemExit) as err:
        main([str(a) for a in args])
    return str(err.value)


def test_converter_refuses_bad_paths_and_leaves_nothing(tmp_path, official_file):
    from helpers.tool import load_tool
    main = load_tool('tools/model_converters/rexnet_to_mm.py').main
    (tmp_path / 'outdir').mkdir()
    assert 'DST' in refused(main, official_file, tmp_path / 'outdir') and \
        'is a directory' in refused(main, official_file, tmp_path / 'outdir')
    assert list((tmp_path / 'outdir').iterdir()) == []
    (tmp_path / 'empty.pth').write_bytes(b'')
    assert 'is an empty file' in refused(main, tmp_path / 'empty.pth', tmp_path / 'o.pth')
    assert 'SRC' in refused(main, tmp_path / 'outdir', tmp_path / 'o.pth') and \
        'is a directory' in refused(main, tmp_path / 'outdir', tmp_path / 'o.pth')
    (tmp_path / 'junk.pth').write_bytes(b'not a checkpoint at all')
    assert 'cannot read' in refused(main, tmp_path / 'junk.pth', tmp_path / 'o.pth')
    assert not (tmp_path / 'o.pth').exists()
    # an existing output is kept unless --overwrite
    (tmp_path / 'mine.pth').write_bytes(b'precious')
    msg = refused(main, official_file, tmp_path / 'mine.pth')
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
    msg = refused(main, tmp_path / 'nan.pth', tmp_path / 'o.pth')
    for text in ('2 of', 'NaN or infinite', 'backbone.stem.conv.weight', '--allow-nonfinite'):
        assert text in msg, msg
    assert not (tmp_path / 'o.pth').exists()
    main([str(tmp_path / 'nan.pth'), str(tmp_path / 'o.pth'), '--allow-nonfinite'])
    assert (tmp_path / 'o.pth').exists()
