"""Fixtures shared by the test files: built once per session."""
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def tiny_coco(tmp_path_factory):
    """A directory holding ``coco/``: a generated COCO-style set of 8 train and
    4 val images (tools/misc/make_demo_coco.py); tests write beside it."""
    from helpers.tool import run_tool
    d = tmp_path_factory.mktemp('tiny_coco')
    run_tool([sys.executable, osp.join(ROOT, 'tools/misc/make_demo_coco.py'), str(d / 'coco'),
              '--train', '8', '--val', '4'], cwd=d)
    return d
