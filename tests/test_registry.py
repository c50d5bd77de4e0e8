"""type='ReXNet' resolves in each toolkit's registry, and rexnet_mm imports
without any toolkit installed."""
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.mark.parametrize('toolkit', ['mmdet', 'mmpretrain'])
def test_registered_in_toolkit(toolkit):
    pytest.importorskip(toolkit)
    import importlib

    import rexnet_mm
    from rexnet_mm.models import ReXNet
    assert toolkit in rexnet_mm.REGISTERED_IN
    registry = importlib.import_module(f'{toolkit}.registry').MODELS
    model = registry.build(dict(type='ReXNet', arch='0.9x', out_indices=(2, )))
    assert isinstance(model, ReXNet) and model.out_channels == [56]


def test_imports_without_toolkits():
    code = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in ('mmdet', 'mmpretrain', 'mmseg'):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Block())
import torch, rexnet_mm
from rexnet_mm.models import ReXNet
assert rexnet_mm.REGISTERED_IN == [], rexnet_mm.REGISTERED_IN
assert not any(m.split('.')[0] in ('mmdet', 'mmpretrain') for m in sys.modules)
print(ReXNet('lite-1.0x', out_indices=(6,))(torch.randn(1, 3, 64, 64))[0].shape)
"""
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'torch.Size([1, 1280, 2, 2])' in proc.stdout
