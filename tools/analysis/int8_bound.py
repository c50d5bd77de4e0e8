#!/usr/bin/env python
"""How close int8 can come to fp32 on a classifier, before you tune a
recipe: the int8 arithmetic simulated in PyTorch (rexnet_mm.deploy.int8_bound:
per-channel int8 weights, per-tensor uint8 Conv / Linear inputs, conv outputs
float) with the activation ranges chosen by calibration, per image, and per
image by least squared error (oracles: a static recipe gives every image one
range), against the fused fp32 model, image by image.

    python tools/analysis/int8_bound.py CONFIG CKPT --images data/demo_cls/val \\
        grace_hopper.jpg --calib data/demo_cls/train [--num-calib 80] [--layers 5]

The table's errors are precision_agreement.py's (max|a - b| / max|a| over an
image's logits, median and max over the images). Its first row simulates
quantize_onnx.py's min-max recipe: compare it with the real file's row in
precision_agreement.py to trust the rest. Where both per-image rows with
int8 weights miss your accuracy bar, tuning the ranges will hardly meet it
(keep layers in float, train for int8, or use bf16); where the weights' row
misses it, the model moves that much under 8-bit weights alone, whatever the
activations do.
--layers K lists the K layers whose weights alone move the logits most.
"""
import sys

import rexnet_mm  # noqa: F401
from rexnet_mm.deploy.accuracy import agreement, logit_scale, table_row, worst_line
from rexnet_mm.deploy.loading import config_inputs, load_for_inference
from rexnet_mm.deploy.qdq_recipe import REDUCE_RANGE, QuantOptions
from rexnet_mm.runner.cli import add_measure_args, doc_parser
from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_input_file
from rexnet_mm.utils.images import checked_images


def print_tables(logits: dict, images, layers, reduce: bool, args) -> None:
    ref = logits['fp32']
    schemes = {k: v for k, v in logits.items() if k != 'fp32'}
    print(f'\n{len(images)} images ({" ".join(args.images)}); reference: the fused model in '
          f'fp32; simulated int8, weights {"7" if reduce else "8"}-bit')
    print('| activations / weights | top-1 agreement | median rel. logit diff | '
          'max rel. logit diff |')
    print('|---|---|---|---|')
    for name, got in schemes.items():
        print(table_row(name, agreement(ref, got)))
    print(f'\n{logit_scale(ref)}; the images that moved most:')
    for name, got in schemes.items():
        print(worst_line(name, ref, got, images))
    if layers:
        rows = [(agreement(ref, got), name) for name, got in layers]
        rows = sorted(rows, key=lambda r: -r[0]['max_error'])[:args.layers]
        print(f'\nthe {len(rows)} layers whose weights alone in int8 move the logits most:')
        print('| layer | top-1 agreement | median rel. logit diff | max rel. logit diff |')
        print('|---|---|---|---|')
        for stats, name in rows:
            print(table_row(name, stats))


@one_line_errors
def main(argv=None):
    p = doc_parser(__doc__)
    add_measure_args(p)
    p.add_argument('--calib', nargs='+', required=True,
                   help='calibration images or folders, as quantize_onnx.py --calib')
    p.add_argument('--num-calib', type=int, default=64,
                   help='calibration images used (default 64, as quantize_onnx.py --num)')
    p.add_argument('--reduce-range', default='auto', choices=REDUCE_RANGE,
                   help='7-bit weights, as quantize_onnx.py (auto: where the CPU lacks VNNI)')
    p.add_argument('--layers', type=int, default=0, metavar='K',
                   help='also list the K layers whose weights alone move the logits most')
    args = p.parse_args(argv)
    if args.layers < 0:
        p.error(f'--layers must be >= 0, but got {args.layers}')
    check_input_file(args.checkpoint, 'checkpoint')
    images = checked_images(args.images, args.num, '--images')
    calib = checked_images(args.calib, args.num_calib, '--calib')
    reduce = QuantOptions(reduce_range=args.reduce_range).reduce  # as quantize_onnx.py's
    cfg, model = load_for_inference(args.config, args.checkpoint, fuse=True,
                                    scopes=('mmpretrain', ))
    prepare = config_inputs(cfg, model)
    print(f'[int8-bound] preparing {len(images)} images and {len(calib)} calibration images',
          flush=True)
    xs, cs = [prepare(i) for i in images], [prepare(c) for c in calib]
    from rexnet_mm.deploy.int8_bound import simulate, weight_sensitivity
    logits = simulate(model, xs, cs, reduce)
    layers = weight_sensitivity(model, xs, reduce) if args.layers else []
    print_tables(logits, images, layers, reduce, args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
