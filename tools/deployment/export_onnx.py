#!/usr/bin/env python
"""Export a ReXNet classifier (mmpretrain config), detector (mmdet config) or
backbone to ONNX, then check it in onnxruntime and OpenVINO against PyTorch.

    python tools/deployment/export_onnx.py configs/classification/rexnet-1.0x_4xb128_in1k.py CKPT \\
        --out rexnet.onnx --deploy --check [IMG ...]
    python tools/deployment/export_onnx.py \\
        configs/demo/faster-rcnn_rexnet-1.0x_fpn_demo-coco.py CKPT \\
        --out det.onnx --batch 4 --check [IMG ...]
    python tools/deployment/export_onnx.py \\
        configs/detection/faster-rcnn_rexnet-1.0x_fpn_1x_coco.py CKPT \\
        --backbone --out backbone.onnx --dynamic --check

Detectors (SSD/SSDLite, RetinaNet, Faster R-CNN, Mask R-CNN): the whole test
path up to NMS in standard ONNX ops for a batch (rexnet_mm/deploy/detector/),
inputs ``img`` [B, 3, H, W] (normalised, or BGR 0-255 with --preprocess;
padded as mmdet pads a batch) and ``img_shape`` [B, 2] (each image's unpadded
height and width); outputs ``dets`` [B, N, 5], ``labels`` [B, N] (an image's
count is its number of labels >= 0: they come first, best first; -1 fills
the rest) and for Mask R-CNN ``masks`` [B, N, 28, 28] (mask logits, pasted
into the image by rexnet_mm.deploy.OnnxDetector). Default axes: batch
``--batch`` (1); height and width dynamic where the test pipeline keeps the
aspect ratio (a portrait image is as tall as a landscape one is wide), else
its fixed size; ``--shape`` fixes them, ``--dynamic`` frees all three. TorchScript
exporter (data-dependent NMS). ``--check`` compares each runtime's detections
with ``model.test_step``'s on the same batches (default image: matplotlib's
sample photograph).

Graph input ``input``: the network's input, a normalised float NCHW tensor
(what ``model(x, mode='tensor')`` takes), as timm exports; with --preprocess a
uint8 NHWC image in the config's channel order instead, normalised in the graph.
Outputs: ``logits`` (``scores`` with --softmax), or one ``tapI_strideS`` per
backbone out_index. The config's test pipeline, normalisation and classes go
into the file's metadata, for rexnet_mm.deploy.OnnxClassifier and tools/infer.py.

Exporter: torch's dynamo exporter (``torch.onnx.export(dynamo=True)``, torch
2.14's default); ``--exporter torchscript`` selects the legacy one.
"""
import argparse
import sys

import rexnet_mm  # noqa: F401
from rexnet_mm.deploy.backends import BACKENDS
from rexnet_mm.deploy.export import MAX_REL, MIN_DYNAMIC, ExportOptions, export_onnx
from rexnet_mm.deploy.metadata import MAX_DETS, MAX_SIDE
from rexnet_mm.runner.cli import add_cfg_options_arg
from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_input_file, check_output_file
from rexnet_mm.utils.images import check_image


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config', help='an mmpretrain or mmdet config (or any config, with '
                   '--backbone)')
    p.add_argument('checkpoint', help='its checkpoint (a deploy checkpoint with '
                   '--cfg-options model.backbone.deploy=True ...)')
    p.add_argument('--out', required=True, help='the .onnx file to write')
    p.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                   help="input size (default: the config's test crop, else 224 224; "
                   "detectors: the test pipeline's sizes, see above)")
    p.add_argument('--batch', type=int, default=1,
                   help='static batch size of the graph (default 1)')
    p.add_argument('--dynamic', action='store_true',
                   help=f'dynamic batch, height and width (height, width >= {MIN_DYNAMIC})')
    p.add_argument('--deploy', action='store_true',
                   help='fold every BatchNorm first (switch_to_deploy): fewer, faster ops')
    p.add_argument('--opset', type=int, default=18, help='ONNX opset (default 18)')
    p.add_argument('--backbone', action='store_true',
                   help="export the config's backbone alone: every out_index as an output")
    p.add_argument('--softmax', action='store_true', help='classifier: output scores, not logits')
    p.add_argument('--preprocess', action='store_true',
                   help="put the config's normalisation (and BGR->RGB) into the graph: its "
                   'input is then a uint8 NHWC image')
    p.add_argument('--check', nargs='*', metavar='IMG',
                   help='run the file in each runtime on random input (and on these images) '
                   f'and fail if it differs from PyTorch by more than {MAX_REL:g} relative')
    p.add_argument('--check-backends', nargs='+', choices=BACKENDS,
                   help='the runtimes --check runs the file in (default: every one installed)')
    p.add_argument('--max-dets', type=int,
                   help="detectors: rows N of the outputs (default: the config's max_per_img)")
    p.add_argument('--score-thr', type=float,
                   help="detectors: final score threshold (default: the config's)")
    p.add_argument('--exporter', choices=['dynamo', 'torchscript'],
                   help='default: dynamo; torchscript for detectors (the only one they take)')
    p.add_argument('--overwrite', action='store_true', help='replace an existing --out')
    add_cfg_options_arg(p)
    args = p.parse_args(argv)
    if not args.out.endswith('.onnx'):
        p.error(f'--out must name a .onnx file, but got {args.out}')
    if not 1 <= args.batch <= 1024:
        p.error(f'--batch must be in 1-1024, but got {args.batch}')
    if args.shape and not all(MIN_DYNAMIC <= v <= MAX_SIDE for v in args.shape):
        p.error(f'--shape H W must be in {MIN_DYNAMIC}-{MAX_SIDE} each, but got '
                f'{" ".join(map(str, args.shape))}')
    if not 14 <= args.opset <= 23:
        p.error(f'--opset must be in 14-23, but got {args.opset}')
    if args.backbone and (args.softmax or args.preprocess):
        p.error('--softmax and --preprocess apply to classifiers, not to --backbone')
    if args.max_dets is not None and not 1 <= args.max_dets <= MAX_DETS:
        p.error(f'--max-dets must be in 1-{MAX_DETS}, but got {args.max_dets}')
    if args.score_thr is not None and not 0 <= args.score_thr < 1:
        p.error(f'--score-thr must be in [0, 1), but got {args.score_thr}')
    return args


@one_line_errors
def main(argv=None):
    args = parse_args(argv)
    check_input_file(args.config, 'config')
    check_input_file(args.checkpoint, 'checkpoint')
    check_output_file(args.out, '--out', overwrite=args.overwrite, suffixes=('.onnx', ),
                      inputs=[args.config, args.checkpoint, *(args.check or [])])
    for img in args.check or []:
        check_image(img, '--check image')
    opts = ExportOptions(
        out=args.out, shape=tuple(args.shape) if args.shape else None, batch=args.batch,
        dynamic=args.dynamic, deploy=args.deploy, opset=args.opset, backbone=args.backbone,
        softmax=args.softmax, preprocess=args.preprocess, check=args.check,
        max_dets=args.max_dets, score_thr=args.score_thr, exporter=args.exporter,
        cfg_options=args.cfg_options, backends=args.check_backends)
    export_onnx(args.config, args.checkpoint, opts)
    print(f'[export] wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
