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

from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_input_file, check_output_file
from rexnet_mm.utils.images import MAX_PIXELS, check_image, list_images


@one_line_errors
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('model', help='a classifier written by tools/deployment/export_onnx.py')
    p.add_argument('--calib', nargs='+', required=True, help='calibration images or folders '
                   '(searched recursively; links to folders are not followed)')
    p.add_argument('--num', type=int, default=64, help='calibration images used (default 64)')
    p.add_argument('--out', required=True, help='the int8 .onnx file to write')
    p.add_argument('--overwrite', action='store_true', help='replace an existing --out')
    p.add_argument('--max-pixels', type=int, default=MAX_PIXELS,
                   help=f'refuse larger calibration images (default {MAX_PIXELS})')
    args = p.parse_args(argv)
    if args.num < 1:
        p.error(f'--num must be >= 1, but got {args.num}')
    # everything that can be refused is refused before calibrating
    check_input_file(args.model, 'model')
    check_output_file(args.out, '--out', overwrite=args.overwrite, inputs=[args.model],
                      suffixes=('.onnx', ))
    images = list_images(args.calib, args.num, what='--calib')
    for img in images:
        check_image(img, '--calib image', args.max_pixels)
    from rexnet_mm.deploy import OnnxClassifier, require
    require('onnx', 'onnxruntime')
    from rexnet_mm.deploy.quantize import quantize_int8
    clf = OnnxClassifier(args.model, max_pixels=args.max_pixels)
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
