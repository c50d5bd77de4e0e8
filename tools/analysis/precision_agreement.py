#!/usr/bin/env python
"""What lower precision costs a classifier: top-1 agreement and logit
differences of bf16 (the fused model with --precision bf16 of tools/test.py
and tools/infer.py: backbone and neck under autocast), of the fp32 ONNX file
and of an int8 one (tools/deployment/quantize_onnx.py), in onnxruntime or
OpenVINO (--onnx-precision bf16: the fp32 file computed in bfloat16 by
OpenVINO, on CPUs with AVX512-BF16 or AMX), against the fp32 PyTorch model,
image by image.

    python tools/analysis/precision_agreement.py CONFIG CKPT --images data/demo_cls/val \\
        grace_hopper.jpg [--onnx rexnet.onnx] [--int8 rexnet-int8.onnx] \\
        [--backend openvino [--onnx-precision bf16]] [--num 200]

The relative logit difference of an image is max|a - b| / max|a| over its
logits (a: fp32, rexnet_mm.deploy.accuracy); the table gives its median and
maximum over the images. Below it: the fp32 logits' scale (what 1% of them
is) and, per precision, the three images that moved most (with each one's
largest |logit|: an unsure image's small logits make a small change large).
"""
import copy
import sys

import torch

import rexnet_mm  # noqa: F401
from rexnet_mm.deploy.accuracy import agreement, logit_scale, table_row, worst_line
from rexnet_mm.deploy.backends import PRECISIONS, add_backend_arg
from rexnet_mm.deploy.loading import config_inputs, load_for_inference
from rexnet_mm.models.layers import fuse_model
from rexnet_mm.runner.cli import add_measure_args, doc_parser
from rexnet_mm.runner.precision import apply_precision
from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_input_file
from rexnet_mm.utils.images import checked_images


def _fused(model):
    fuse_model(model)
    return model


def print_tables(logits: dict, images, args) -> None:
    """The agreement table against fp32, what 1% of a logit is, and the
    images that moved most, per precision."""
    ref = logits['fp32']
    print(f'\n{len(images)} images ({" ".join(args.images)}); reference: fp32, unfused')
    print('| precision | top-1 agreement | median rel. logit diff | max rel. logit diff |')
    print('|---|---|---|---|')
    names = {'bf16': 'bf16 (PyTorch)', 'onnx': f'{args.onnx_precision} .onnx ({args.backend})',
             'int8': f'int8 .onnx ({args.backend})'}
    for name, label in names.items():
        if logits[name]:
            print(table_row(label, agreement(ref, logits[name])))
    print(f'\n{logit_scale(ref)}; the images that moved most:')
    for name, label in names.items():
        if logits[name]:
            print(worst_line(label, ref, logits[name], images))


@one_line_errors
def main(argv=None):
    p = doc_parser(__doc__)
    add_measure_args(p)
    p.add_argument('--onnx', help='the fp32 ONNX file of the same model')
    p.add_argument('--int8', help='an int8 ONNX file of the same model')
    add_backend_arg(p, '--onnx and --int8')
    p.add_argument('--onnx-precision', choices=PRECISIONS, default='fp32',
                   help='what --onnx is computed in (bf16: OpenVINO\'s, --backend openvino)')
    args = p.parse_args(argv)
    check_input_file(args.checkpoint, 'checkpoint')
    for opt in ('onnx', 'int8'):
        if getattr(args, opt):
            check_input_file(getattr(args, opt), f'--{opt}')
    images = checked_images(args.images, args.num, '--images')
    cfg, model = load_for_inference(args.config, args.checkpoint, scopes=('mmpretrain', ))
    # fused, in bf16 as tools/test.py and tools/infer.py run it (backbone and neck autocast)
    fused = apply_precision(_fused(copy.deepcopy(model)), 'bf16')
    files = {}
    for name, path in (('onnx', args.onnx), ('int8', args.int8)):
        if path:
            from rexnet_mm.deploy import OnnxClassifier
            files[name] = OnnxClassifier(path, backend=args.backend, precision=(
                args.onnx_precision if name == 'onnx' else 'fp32'))
            if files[name].meta['softmax']:
                raise SystemExit(f'error: {path} outputs scores (--softmax); export the logits')
    inputs = config_inputs(cfg, model)
    logits = {'fp32': [], 'bf16': [], 'onnx': [], 'int8': []}
    for i, path in enumerate(images):
        x = inputs(path)
        with torch.no_grad():
            logits['fp32'].append(model(x, mode='tensor')[0].numpy())
            logits['bf16'].append(fused(x, mode='tensor')[0].numpy())
        for name, clf in files.items():
            logits[name].append(clf.run(clf.preprocess(path)[None])[0])
        if (i + 1) % 25 == 0 or i + 1 == len(images):
            print(f'[agreement] {i + 1}/{len(images)} images', flush=True)
    print_tables(logits, images, args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
