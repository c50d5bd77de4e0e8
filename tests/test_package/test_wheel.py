"""An installed wheel, not the checkout: ``pip wheel .`` installed into a
fresh virtual environment that sees the OpenMMLab stack but not this
checkout lists the ReXNet classifiers, builds one with ``get_model``, and
loads its shipped configs (``rexnet_mm::`` paths, their ``_base_`` files)."""
import glob
import os
import os.path as osp
import shutil
import subprocess
import sys
import sysconfig

from helpers.tool import ROOT

SOURCES = ('setup.py', 'README.md', 'rexnet_mm', 'configs', 'model-index.yml', 'metafile.yml',
           'metafile-cls.yml')

CHECK = r'''
import os.path as osp, sys
import rexnet_mm
from mmpretrain import get_model, list_models
assert '.mim' not in rexnet_mm.__file__ and not rexnet_mm.__file__.startswith(sys.argv[1])
models = list_models('rexnet*')
assert 'rexnet-1.0x_in1k' in models and 'rexnet-lite-2.0x_in1k' in models, models
net = get_model('rexnet-1.3x_in1k')
assert net.backbone.arch == '1.3x'
from mmengine.config import Config
from rexnet_mm.runner.config import resolve_config
path = resolve_config('rexnet_mm::detection/faster-rcnn_rexnet-1.0x_fpn_1x_coco.py')
assert osp.join('rexnet_mm', '.mim', 'configs') in path, path
cfg = Config.fromfile(path)
assert cfg.model.backbone.type == 'ReXNet' and cfg.model.neck.in_channels == [38, 61, 128, 185]
print('OK', len(models), 'models')
'''


def test_wheel_in_a_fresh_venv(tmp_path):
    src = tmp_path / 'src'
    src.mkdir()
    for name in SOURCES:
        (shutil.copytree if osp.isdir(osp.join(ROOT, name)) else shutil.copy2)(
            osp.join(ROOT, name), src / name)
    for junk in glob.glob(str(src / '**' / '__pycache__'), recursive=True):
        shutil.rmtree(junk)
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '.', '--no-deps', '--no-build-isolation',
                    '--no-index', '-q', '-w', str(tmp_path / 'dist')], cwd=src, check=True,
                   capture_output=True)
    wheel, = glob.glob(str(tmp_path / 'dist' / 'rexnet_mm-*.whl'))
    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True)
    python = str(venv / 'bin' / 'python')
    where = 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
    site = subprocess.run([python, '-c', where],
                          check=True, capture_output=True, text=True).stdout.strip()
    # the stack, as a plain path: this environment's .pth files (the
    # checkout's editable install among them) are not run there
    with open(osp.join(site, 'stack.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-index', '-q',
                    '--target', site, wheel], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYTHONHOME')}
    proc = subprocess.run([python, '-c', CHECK, ROOT], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert 'OK' in proc.stdout
