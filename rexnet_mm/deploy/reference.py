"""The pinned deploy reference, as NNCF keeps one: the demo classifier
(tools/misc/make_demo_cls.py, trained with seed 0) exported, quantized by the
default recipe for each runtime, and measured on its val set plus
matplotlib's photographs, per backend x precision: top-1 on the labelled
images, agreement with PyTorch fp32, median and max relative logit error.

``tests/data/deploy_reference.yml`` holds the numbers and their tolerances;
a test fails when one moves beyond its tolerance in either direction (an
unexplained improvement is a change too), and
``python tools/analysis/deploy_reference.py --write`` regenerates the file,
printing what changed.
"""
import glob
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional

import numpy as np

from .accuracy import agreement

DEMO_CONFIG = 'configs/demo/rexnet-w0.5_demo-cls.py'
PHOTOS = ('grace_hopper.jpg', 'Minduka_Present_Blue_Pack.png', 'logo2.png')
# how far each number may move (absolute, in either direction) before the test fails
TOLERANCES = dict(top1=0.05, agreement=0.05, median_error=0.01, max_error=0.08)
# measured where OpenVINO computes bf16 natively, never pinned: the CPU decides
BF16 = 'openvino/bf16'


def photos() -> List[str]:
    import matplotlib
    folder = osp.join(osp.dirname(matplotlib.__file__), 'mpl-data', 'sample_data')
    return [osp.join(folder, p) for p in PHOTOS]


def train_demo(root: str, work: str, log=print, seed: int = 0) -> str:
    """The demo set under ``work`` and the demo classifier trained on it
    (``seed``, deterministic, on one thread: the weights depend on how many
    threads sum each gradient, and the tool and the test suite must train the
    same model); returns the checkpoint."""
    data = osp.join(work, 'demo_cls')
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    run = dict(cwd=root, check=True, capture_output=True, text=True, env=env)
    log(f'[reference] writing the demo set and training the demo classifier (seed {seed}, '
        f'about 40 s)')
    subprocess.run([sys.executable, osp.join(root, 'tools/misc/make_demo_cls.py'), data], **run)
    opts = [f'{s}.dataset.data_root={data}' for s in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    subprocess.run([sys.executable, osp.join(root, 'tools/train.py'),
                    osp.join(root, DEMO_CONFIG), '--work-dir', osp.join(work, 'train'),
                    '--cfg-options', f'randomness.seed={seed}', 'randomness.deterministic=True',
                    'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
                    'test_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
                    'val_dataloader.persistent_workers=False',
                    'test_dataloader.persistent_workers=False', *opts], **run)
    return osp.join(work, 'train', 'epoch_8.pth')


def measure(config: str, checkpoint: str, work: str, backends, log=print,
            variant: str = '', bf16: bool = False) -> Dict[str, dict]:
    """{'<backend>/<precision>': numbers} for the classifier exported
    (fused, dynamic) and quantized under ``work`` (each backend's default
    recipe, changed as ``variant`` says: qdq_recipe.parse_variant), against
    PyTorch fp32; with ``bf16``, also :data:`BF16` (the fp32 file in
    OpenVINO's bf16) where OpenVINO computes bf16 natively."""
    import torch

    from .export import ExportOptions, export_onnx
    from .loading import load_for_inference
    from .qdq_recipe import parse_variant
    from .quantize import quantize_classifier
    from .runtime import OnnxClassifier
    data = osp.join(work, 'demo_cls')
    val = sorted(glob.glob(osp.join(data, 'val', '*', '*.png')))
    images = val + photos()
    fp32 = osp.join(work, 'demo.onnx')
    opts = ExportOptions(out=fp32, dynamic=True, deploy=True, backends=tuple(backends),
                         cfg_options={'test_dataloader.dataset.data_root': data})
    export_onnx(config, checkpoint, opts)
    _, model = load_for_inference(config, checkpoint, cfg_options=opts.cfg_options)
    clf = OnnxClassifier(fp32)
    labels = [clf.classes.index(osp.basename(osp.dirname(p))) if p in val else -1
              for p in images]
    xs = [clf.preprocess(p)[None] for p in images]
    with torch.no_grad():
        ref = [model(torch.from_numpy(x), mode='tensor')[0].numpy() for x in xs]
    calib = sorted(glob.glob(osp.join(data, 'train', '*', '*.png')))[::2]
    out = {}
    runs = []
    for backend in backends:
        int8 = osp.join(work, f'demo-int8-{backend}.onnx')
        quantize_classifier(fp32, int8, calib,
                            parse_variant(variant, backend), log=log)
        runs += [(backend, 'fp32', fp32, 'fp32'), (backend, 'int8', int8, 'fp32')]
    if bf16 and 'openvino' in backends:
        from .backends.openvino import native_bf16
        runs += [('openvino', 'bf16', fp32, 'bf16')] if native_bf16() else []
    for backend, precision, path, computed_in in runs:
        got = OnnxClassifier(path, backend=backend, precision=computed_in)
        stats = agreement(ref, [got.run(x)[0] for x in xs], labels)
        out[f'{backend}/{precision}'] = dict(
            top1=round(stats['top1'], 4), agreement=round(stats['top1_agreement'], 4),
            median_error=round(stats['median_error'], 5),
            max_error=round(stats['max_error'], 5))
    return out


def differences(measured: Dict[str, dict], pinned: Dict[str, dict],
                tolerances: Optional[dict] = None) -> List[str]:
    """One line per number that moved beyond its tolerance (either way), or
    is missing on one side."""
    tol = dict(TOLERANCES, **(tolerances or {}))
    lines = []
    for key in sorted(set(measured) | set(pinned)):
        if key not in measured or key not in pinned:
            lines.append(f'{key}: {"not measured" if key not in measured else "not pinned"}')
            continue
        for name, limit in tol.items():
            a, b = pinned[key].get(name), measured[key].get(name)
            if a is None or b is None or not np.isclose(a, b, rtol=0, atol=limit):
                lines.append(f'{key} {name}: pinned {a}, measured {b} (tolerance {limit})')
    return lines
