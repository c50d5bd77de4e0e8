#!/usr/bin/env python
"""Throughput of backbones (and detectors), measured side by side in one run.

Models are timed in interleaved rounds (A B C, C B A, A B C, ...) after a
warm-up, so that machine noise hits all of them alike; the table shows the
median time per batch and per image, images/s and the speed per image
relative to the first model. --burst N runs each model N times in a row per
round and times the last: small models whose weights the model before them
evicted from the caches are then timed warm, as when serving.

    python tools/analysis/benchmark.py                       # ReXNet-1.0x vs timm, CPU
    python tools/analysis/benchmark.py --models rexnet:1.5x timm:rexnet_150 \\
        mmdet:MobileNetV2 torchvision:resnet50 --batch 16 --size 224 --device cuda
    python tools/analysis/benchmark.py --configs \\
        configs/detection/faster-rcnn_rexnet-1.0x_fpn_1x_coco.py \\
        mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py --batch 2 --size 512

Model specs: rexnet:<arch> (rexnet_mm), timm:<name>, mmdet:MobileNetV2,
torchvision:<name>. Detector and segmentor configs (--configs) time a
training step (forward, loss, backward) and inference on dummy images with
dummy boxes or label maps:
    python tools/analysis/benchmark.py --configs \\
        configs/segmentation/deeplabv3plus_rexnet-1.0x-d8_4xb2-80k_cityscapes-512x1024.py \\
        mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024.py \\
        --batch 2 --size 512

A detector config with @ort / @ov times its exported ONNX graph (the whole
test path, NMS included) in onnxruntime / OpenVINO, @ort-int8 / @ov-int8 the
same file quantized by the detector recipe, @ov-bf16 the fp32 file computed
in bfloat16 by OpenVINO (CPUs with AVX512-BF16 or AMX), beside the same detector in
eager PyTorch (inference; --shape H W for a non-square input; several
--batch sizes compare the time per image):
    python tools/analysis/benchmark.py --configs \\
        configs/detection/ssdlite_rexnet-1.0x_8xb24-600e_coco.py \\
        configs/detection/ssdlite_rexnet-1.0x_8xb24-600e_coco.py@ort \\
        configs/detection/ssdlite_rexnet-1.0x_8xb24-600e_coco.py@ort-int8 \\
        --batch 1 2 4 --size 320 --ort-profile

An int8 mode may name a variant of its runtime's default recipe after a
colon, KEY=VALUE pairs joined by ':' with quantize_onnx.py's option names as
keys (lists comma-separated, none for empty), to time it beside the default:
    python tools/analysis/benchmark.py --models rexnet:1.0x@ov-int8 \\
        rexnet:1.0x@ov-int8:float-outputs=none rexnet:1.0x@ort-int8:avg-pools=float
"""
import sys

import torch

from rexnet_mm.research.benchmark import (MODES, deploy_preset, measure, ort_profiles,
                                          prepare_configs_at, prepare_models, table)
from rexnet_mm.runner.cli import doc_parser
from rexnet_mm.utils.cpu import describe_cpu
from rexnet_mm.utils.errors import one_line_errors


def title(args, h, w, device, results) -> str:
    """The table's first line: batch, size, precision, layout, device."""
    dev = torch.cuda.get_device_name(device) if device.type == 'cuda' else \
        f'{describe_cpu()}, {torch.get_num_threads()} threads'
    precision = f'autocast {args.amp}' if args.amp else 'fp32'
    if any('@' in name for name in results.get('eval', {})):
        precision = 'precision and path per @mode'
    layout = ', channels_last' if args.channels_last else ''
    burst = f', the last of {args.burst} runs in a row timed' if args.burst > 1 else ''
    return (f'batch {" ".join(map(str, args.batch))}, {h}x{w}, {precision}{layout}, {dev}, '
            f'torch {torch.__version__}{burst}')


def parse_args(argv=None):
    p = doc_parser(__doc__)
    p.add_argument('--models', nargs='+', default=['rexnet:1.0x', 'timm:rexnet_100'])
    p.add_argument('--configs', nargs='+',
                   help='detector or segmentor configs (instead of --models)')
    p.add_argument('--batch', type=int, nargs='+', default=[16],
                   help='batch size; several (--configs): each model at each, '
                   'compared per image (default 16)')
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                   help='input height and width (default: --size square)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--modes', nargs='+', default=None, choices=['eval', 'train'],
                   help='default: eval and train; eval alone with @modes and --preset')
    p.add_argument('--preset', choices=['deploy'],
                   help='deploy: ReXNet-1.0x and timm rexnet_100 in every inference mode '
                   f'({", ".join(m for m in MODES if m not in ("ov-bf16", "deploy-functional"))}'
                   '; ov-bf16 where OpenVINO has native bf16)')
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--rounds', type=int, default=10)
    p.add_argument('--burst', type=int, default=1,
                   help='runs of each model in a row per round, the last one timed (its '
                   'weights cached, as when serving; default 1: each run follows another '
                   'model\'s)')
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    p.add_argument('--amp', choices=['bf16', 'fp16'], default=None,
                   help='autocast every model to this precision (default: fp32)')
    p.add_argument('--channels-last', action='store_true',
                   help='channels_last weights and input for every model')
    p.add_argument('--ort-profile', action='store_true',
                   help='after timing, the share of time per op type of each @ort model')
    args = p.parse_args(argv)
    if args.burst < 1:
        p.error(f'--burst must be >= 1, but got {args.burst}')
    if len(args.batch) > 1 and not args.configs:
        p.error('several --batch sizes apply to --configs')
    if args.modes is None:
        deploy = args.preset or any('@' in m for m in args.models + (args.configs or []))
        args.modes = ['eval'] if deploy else ['eval', 'train']
    return args


@one_line_errors
def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    h, w = args.shape or (args.size, args.size)
    if args.configs:
        named, batches = prepare_configs_at(args.configs, args.batch, h, w, device, args.modes)
    else:
        named = prepare_models(deploy_preset() if args.preset == 'deploy' else args.models,
                               args.batch[0], args.size, device, args.modes, args.amp,
                               args.channels_last)
        batches = {name: args.batch[0] for name, *_ in named}
    results = {}
    for mode in args.modes:
        print(f'[benchmark] {mode}: {args.warmup} warm-up steps, {args.rounds} interleaved '
              f'rounds', flush=True)
        results[mode] = measure(named, mode, args.warmup, args.rounds, device,
                                burst=args.burst)
    print(table(results, batches, title(args, h, w, device, results)))
    if args.ort_profile:
        print('\n'.join(ort_profiles(named)))


if __name__ == '__main__':
    sys.exit(main())
