#!/usr/bin/env python
"""int8 post-training quantization of an exported classifier with
onnxruntime's static quantization (QDQ, per-channel int8 weights, uint8
activations), calibrated on a folder of images through the model's own
preprocessing.

    python tools/deployment/quantize_onnx.py rexnet.onnx --calib data/demo_cls/train \\
        --out rexnet-int8.onnx [--num 64]

Measure what it costs in accuracy with tools/analysis/precision_agreement.py
(--int8 rexnet-int8.onnx) and in speed with tools/analysis/benchmark.py.
"""
import argparse
import os.path as osp
import sys


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('model', help='a classifier written by tools/deployment/export_onnx.py')
    p.add_argument('--calib', nargs='+', required=True, help='calibration images or folders')
    p.add_argument('--num', type=int, default=64, help='calibration images used (default 64)')
    p.add_argument('--out', required=True, help='the int8 .onnx file to write')
    p.add_argument('--overwrite', action='store_true', help='replace an existing --out')
    args = p.parse_args(argv)
    from rexnet_mm.deploy import OnnxClassifier, list_images, require
    require('onnx', 'onnxruntime')
    from rexnet_mm.deploy.quantize import quantize_int8
    if not args.out.endswith('.onnx'):
        raise SystemExit(f'error: --out must name a .onnx file, but got {args.out}')
    if osp.exists(args.out) and not args.overwrite:
        raise SystemExit(f'error: --out {args.out} exists; pass --overwrite to replace it')
    if osp.exists(args.out) and osp.samefile(args.out, args.model):
        raise SystemExit(f'error: --out {args.out} is the model itself; write elsewhere')
    if not osp.isfile(args.model):
        raise SystemExit(f'error: model {args.model} does not exist')
    clf = OnnxClassifier(args.model)
    images = list_images(args.calib, args.num)
    print(f'[quantize] calibrating on {len(images)} images from {" ".join(args.calib)}',
          flush=True)
    batch = clf.input.shape[0] if isinstance(clf.input.shape[0], int) else 1

    def inputs():
        for i, img in enumerate(images):
            x = clf.preprocess(img)[None]
            if batch > 1:
                x = x.repeat(batch, axis=0)
            if (i + 1) % 16 == 0 or i + 1 == len(images):
                print(f'[quantize]   {i + 1}/{len(images)}', flush=True)
            yield x

    quantize_int8(args.model, args.out, inputs(), clf.input.name)
    print(f'[quantize] wrote {args.out} ({osp.getsize(args.out) / 1e6:.1f} MB, from '
          f'{osp.getsize(args.model) / 1e6:.1f} MB)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
