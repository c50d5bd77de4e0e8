"""Tools on bad input: images that are corrupt, empty, directories or
missing, config syntax errors and malformed --cfg-options each stop in
one message naming the file or argument."""
import os
import os.path as osp
import sys

import rexnet_mm  # noqa: F401  installs the allow-list
from helpers.tool import DEMO_DETECTORS, ROOT, refused  # noqa: E402

DEMO_CFG = osp.join(ROOT, DEMO_DETECTORS['faster'])
TRAIN = osp.join(ROOT, 'tools/train.py')
TEST = osp.join(ROOT, 'tools/test.py')
INFER = osp.join(ROOT, 'tools/infer.py')


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
        msg = refused(main, DEMO_CFG, ckpt_09x, tmp_path / name)
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
