"""type='ReXNet' resolves in each toolkit's registry, and rexnet_mm imports
without any toolkit installed."""
import os
import subprocess
import sys

import pytest

from helpers.tool import ROOT  # noqa: E402


@pytest.mark.parametrize('toolkit', ['mmdet', 'mmpretrain', 'mmseg'])
def test_registered_in_toolkit(toolkit):
    pytest.importorskip(toolkit)
    import importlib

    import rexnet_mm
    from rexnet_mm.models import ReXNet
    assert toolkit in rexnet_mm.REGISTERED_IN
    registry = importlib.import_module(f'{toolkit}.registry').MODELS
    model = registry.build(dict(type='ReXNet', arch='0.9x', out_indices=(2, )))
    assert isinstance(model, ReXNet) and model.out_channels == [56]


def test_import_registers_and_changes_nothing_else():
    """`import rexnet_mm` leaves the warning filters as the toolkits' imports
    set them, prints no pkg_resources notice, loads neither the tool-side
    subpackages (runner, deploy) nor the CPU-distributed model wrapper, and
    leaves a user's seeded random streams where they were (mmengine's import
    draws from Python's)."""
    code = """
import random, sys, warnings
import numpy as np
random.seed(3); np.random.seed(3); expected = random.random(), np.random.random()
random.seed(3); np.random.seed(3)
warnings.simplefilter('always')
with warnings.catch_warnings(record=True) as seen:
    import rexnet_mm
assert (random.random(), np.random.random()) == expected
assert not any('pkg_resources' in str(w.message) for w in seen), [str(w.message) for w in seen]
assert not any('pkg_resources' in str(f[1]) for f in warnings.filters), warnings.filters
assert not any(m.startswith(('rexnet_mm.runner', 'rexnet_mm.deploy'))
               for m in sys.modules), sorted(m for m in sys.modules if m.startswith('rexnet_mm'))
from mmengine.registry import MODEL_WRAPPERS
assert 'CPUDistributedDataParallel' not in MODEL_WRAPPERS.module_dict
print('ok', rexnet_mm.REGISTERED_IN)
"""
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ok ['mmdet', 'mmpretrain', 'mmseg']" in proc.stdout


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


def test_classifiers_in_mmpretrain_model_hub(tmp_path):
    """metafile-cls.yml, registered on import: list_models finds every
    released classifier, get_model builds one and loads a checkpoint."""
    pytest.importorskip('mmpretrain')
    import torch
    from mmpretrain import get_model, list_models

    import rexnet_mm
    assert set(list_models('rexnet*')) == {f'rexnet-{a}_in1k' for a in rexnet_mm.ARCH_SETTINGS}
    torch.manual_seed(0)
    model = get_model('rexnet-0.9x_in1k')
    assert model.backbone.arch == '0.9x' and model.head.fc.out_features == 1000
    state = {k: v + 0.5 if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save({'state_dict': state, 'meta': {}}, tmp_path / 'ckpt.pth')
    loaded = get_model('rexnet-0.9x_in1k', pretrained=str(tmp_path / 'ckpt.pth'))
    assert torch.equal(loaded.state_dict()['head.fc.weight'], state['head.fc.weight'])
