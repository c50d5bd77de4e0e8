#!/usr/bin/env python
"""Params and FLOPs (multiply-adds) of a ReXNet arch or any mmdet/mmpretrain
config, on a dummy input (no dataset needed).

    python tools/analysis/get_flops.py --arch 1.0x                 # at 224x224
    python tools/analysis/get_flops.py configs/detection/faster-rcnn_rexnet-1.0x_fpn_1x_coco.py \\
        --shape 800 1200
"""
import argparse
import sys

import rexnet_mm  # noqa: F401
from rexnet_mm.research.complexity import ReXNetClassifier, count_complexity, parse_shape
from rexnet_mm.runner.build import build_from_config
from rexnet_mm.utils.errors import one_line_errors


@one_line_errors
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config', nargs='?', help='an mmdet / mmpretrain config')
    p.add_argument('--arch', help="a ReXNet arch (the released classifier), e.g. '1.0x'")
    p.add_argument('--shape', type=int, nargs='+', default=None,
                   help='input size: one number for a square, or H W '
                   '(default 224 for --arch, 800 1333 for detectors)')
    p.add_argument('--num-classes', type=int, default=1000)
    args = p.parse_args(argv)
    if (args.config is None) == (args.arch is None):
        p.error('give either a config or --arch')
    if args.arch is not None:
        h, w = parse_shape(args.shape or [224])
        model, scope, name = ReXNetClassifier(args.arch, args.num_classes), None, args.arch
    else:
        model, scope = build_from_config(args.config)
        h, w = parse_shape(args.shape or ([800, 1333] if scope == 'mmdet' else [224]))
        name = args.config
    flops, params = count_complexity(model, h, w, scope)
    print(f'Model: {name}')
    print(f'Input shape: 3x{h}x{w}')
    print(f'FLOPs: {flops / 1e9:.2f} G')
    print(f'Params: {params / 1e6:.2f} M')
    return 0


if __name__ == '__main__':
    sys.exit(main())
