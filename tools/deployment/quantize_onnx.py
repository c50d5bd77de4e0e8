#!/usr/bin/env python
"""int8 post-training quantization of an exported classifier or detector
(onnxruntime's static quantization, QDQ: the same .onnx format, run by
onnxruntime and OpenVINO), calibrated on images through the model's own
preprocessing.

    python tools/deployment/quantize_onnx.py rexnet.onnx --calib data/demo_cls/train \\
        --out rexnet-int8.onnx [--backend openvino] [--num 64] [--method minmax] \\
        [--reduce-range auto] [--input-range pixels] [--exclude Sigmoid Mul] \\
        [--float-outputs Conv] [--avg-pools int8] [--vectors int8] [--report sqnr.md] \\
        [--max-error 0.02]
    python tools/deployment/quantize_onnx.py det.onnx --calib data/demo_coco/train \\
        --out det-int8.onnx [--max-error 0.05]

Detectors: the backbone and neck in int8 and the heads' weighted layers;
the post-processing (scores, top-k, box decoding, NMS, RoiAlign) stays
float, found from the graph (rexnet_mm/deploy/quantize_det.py). Their
--max-error is the share of the fp32 file's confident detections (score >=
0.3) on the held-out images that the int8 file misses (same label, IoU >=
0.5). Measure the mAP with tools/test.py CONFIG det-int8.onnx.

--backend: the runtime the file is for; it picks the default --exclude,
--float-outputs and --avg-pools (what runs fastest there: docs/deploy.md; OpenVINO keeps
the convolutions' outputs and the SE/SiLU Sigmoid and Mul float; onnxruntime's file
averages in int8, each ReduceMean over H, W quantized as a GlobalAveragePool) and, with
--max-error, the runtime that measures the error. --vectors float keeps each SE block's
excitation (the ops on its pooled 1x1 map: one value per channel and image) in float,
for images whose SE vectors leave the calibrated ranges. --reduce-range auto turns
7-bit weights on where the CPU lacks VNNI / AMX-int8. --max-error E holds a
quarter of the images out, half to steer and half to check: while the first
half's median relative logit error against the fp32 file exceeds E, returns
the node that loses the most SQNR to float; E must then hold on the second
half, which the search never saw. If E cannot be met it exits 1 and writes
nothing. The recipe is recorded in the file's metadata (key rexnet_mm_int8).

Measure what it costs with tools/analysis/precision_agreement.py (--int8) and
tools/analysis/benchmark.py (--preset deploy).
"""
import os.path as osp
import sys

from rexnet_mm.deploy.backends import BACKENDS
from rexnet_mm.deploy.qdq_recipe import INPUT_RANGE, METHODS, PRECISIONS, REDUCE_RANGE, QuantOptions
from rexnet_mm.runner.cli import doc_parser
from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_input_file, check_output_file
from rexnet_mm.utils.images import MAX_PIXELS, checked_images


def parse_args(argv=None):
    p = doc_parser(__doc__, skip=2)
    p.add_argument('model', help='a classifier or detector written by '
                   'tools/deployment/export_onnx.py')
    p.add_argument('--calib', nargs='+', required=True, help='calibration images or folders '
                   '(searched recursively; links to folders are not followed)')
    p.add_argument('--num', type=int, default=64, help='images used (default 64)')
    p.add_argument('--out', required=True, help='the int8 .onnx file to write')
    p.add_argument('--overwrite', action='store_true', help='replace an existing --out')
    p.add_argument('--backend', default='onnxruntime', choices=BACKENDS,
                   help='the runtime the file is for (default onnxruntime)')
    p.add_argument('--method', default='minmax', choices=METHODS,
                   help='calibration (default minmax)')
    p.add_argument('--reduce-range', default='auto', choices=REDUCE_RANGE,
                   help='7-bit weights; auto: where the CPU lacks VNNI/AMX-int8')
    p.add_argument('--input-range', default='pixels', choices=INPUT_RANGE,
                   help='a normalised image input over every pixel value (default) or '
                   'over the calibration images\' range')
    p.add_argument('--exclude', nargs='*', metavar='OP_OR_NODE',
                   help='op types or node names to keep in float (none: quantize all; '
                   'default: the --backend\'s, see above)')
    p.add_argument('--float-outputs', nargs='*', metavar='OP',
                   help='op types whose outputs stay float, the next op quantizing its '
                   'own input (none: every quantized op\'s output is int8; default: the '
                   '--backend\'s, see above)')
    p.add_argument('--avg-pools', choices=PRECISIONS,
                   help='spatial averages (SE squeezes, a neck\'s pool) in int8, as '
                   'GlobalAveragePool, or float (default: the --backend\'s, see above)')
    p.add_argument('--vectors', choices=PRECISIONS,
                   help='the ops on pooled 1x1 maps (each SE block\'s excitation) in float '
                   'or int8 (default: int8)')
    p.add_argument('--report', help='write the per-tensor SQNR table here (.md or .csv; a '
                   'classifier\'s also gives each activation\'s logit error alone)')
    p.add_argument('--max-error', type=float,
                   help='median relative logit error allowed on held-out images (0-1); '
                   'detectors: the share of confident detections missed')
    p.add_argument('--max-tries', type=int, default=20,
                   help='--max-error: nodes tried in float at most (default 20)')
    p.add_argument('--max-pixels', type=int, default=MAX_PIXELS,
                   help=f'refuse larger calibration images (default {MAX_PIXELS})')
    args = p.parse_args(argv)
    if args.num < 1:
        p.error(f'--num must be >= 1, but got {args.num}')
    if args.max_error is not None and not 0 < args.max_error < 1:
        p.error(f'--max-error must be in (0, 1) (a fraction: 0.01 is 1%), but got '
                f'{args.max_error:g}')
    if args.max_tries < 1:
        p.error(f'--max-tries must be >= 1, but got {args.max_tries}')
    if args.report and not args.report.endswith(('.md', '.csv')):
        p.error(f'--report must name a .md or .csv file, but got {args.report}')
    return args


@one_line_errors
def main(argv=None):
    args = parse_args(argv)
    # everything that can be refused is refused before calibrating
    check_input_file(args.model, 'model')
    check_output_file(args.out, '--out', overwrite=args.overwrite, inputs=[args.model],
                      suffixes=('.onnx', ))
    if args.report:
        check_output_file(args.report, '--report', overwrite=args.overwrite,
                          inputs=[args.model, args.out], suffixes=('.md', '.csv'))
    images = checked_images(args.calib, args.num, '--calib', args.max_pixels)
    from rexnet_mm.deploy import require
    require('onnx', 'onnxruntime', args.backend)
    from rexnet_mm.deploy import read_meta
    from rexnet_mm.deploy.quantize import quantize_classifier
    from rexnet_mm.deploy.quantize_det import quantize_detector
    quantize = quantize_detector if read_meta(args.model)['kind'] == 'detector' else \
        quantize_classifier
    opts = QuantOptions(method=args.method, reduce_range=args.reduce_range,
                        exclude=args.exclude, backend=args.backend,
                        input_range=args.input_range, float_outputs=args.float_outputs,
                        avg_pools=args.avg_pools, vectors=args.vectors).check()
    print(f'[quantize] {len(images)} images from {" ".join(args.calib)}', flush=True)
    out = quantize(args.model, args.out, images, opts, report=args.report,
                   max_error=args.max_error, max_tries=args.max_tries,
                   max_pixels=args.max_pixels)
    print(f'[quantize] wrote {args.out} ({osp.getsize(args.out) / 1e6:.1f} MB, from '
          f'{osp.getsize(args.model) / 1e6:.1f} MB)'
          + (f'; {out["measure"]} {100 * out["error"]:.2f}%'
             if out['error'] is not None else '')
          + (f'; report {args.report}' if args.report else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
