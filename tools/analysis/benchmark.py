#!/usr/bin/env python
"""Throughput of backbones (and detectors), measured side by side in one run.

Models are timed in interleaved rounds (A B C, C B A, A B C, ...) after a
warm-up, so that machine noise hits all of them alike; the table shows the
median time per batch, images/s and the ratio to the first model.

    python tools/analysis/benchmark.py                       # ReXNet-1.0x vs timm, CPU
    python tools/analysis/benchmark.py --models rexnet:1.5x timm:rexnet_150 \\
        mmdet:MobileNetV2 torchvision:resnet50 --batch 16 --size 224 --device cuda
    python tools/analysis/benchmark.py --configs configs/faster_rcnn_rexnet_fpn_coco.py \\
        mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py --batch 2 --size 512

Model specs: rexnet:<arch> (rexnet_mm), timm:<name>, mmdet:MobileNetV2,
torchvision:<name>. Detector and segmentor configs (--configs) time a
training step (forward, loss, backward) and inference on dummy images with
dummy boxes or label maps:
    python tools/analysis/benchmark.py --configs \\
        configs/segmentation/deeplabv3plus_rexnet-1.0x-d8_cityscapes-512x1024.py \\
        mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024.py \\
        --batch 2 --size 512

A detector config with @ort times its exported ONNX graph (the whole test
path, NMS included) in onnxruntime, beside the same detector in eager PyTorch
(inference at batch 1; --shape H W for a non-square input):
    python tools/analysis/benchmark.py --configs configs/ssdlite_rexnet_coco.py \\
        configs/ssdlite_rexnet_coco.py@ort --batch 1 --size 320 --ort-profile
"""
import argparse
import contextlib
import statistics
import sys
import time

import torch


def build_backbone(spec):
    kind, _, name = spec.partition(':')
    if kind == 'rexnet':
        from rexnet_mm.models import ReXNet
        from rexnet_mm.runner.build import init_weights_quietly

        # initialised as in training (timm inits in its constructor): untrained
        # default-init activations can decay into denormals, which are slow
        return init_weights_quietly(ReXNet(name, out_indices=(6, )))
    if kind == 'timm':
        import timm
        return timm.create_model(name, pretrained=False, num_classes=0, global_pool='')
    if kind == 'mmdet':
        from mmdet.registry import MODELS
        from mmdet.utils import register_all_modules
        register_all_modules()
        from rexnet_mm.runner.build import init_weights_quietly
        return init_weights_quietly(MODELS.build(
            dict(type=name, out_indices=(7, ) if name == 'MobileNetV2' else (3, ))))
    if kind == 'torchvision':
        import torchvision
        m = getattr(torchvision.models, name)(weights=None)
        return torch.nn.Sequential(*list(m.children())[:-2])
    raise SystemExit(f'error: model spec must be rexnet:, timm:, mmdet: or torchvision:, '
                     f'but got {spec!r}')


MODES = ('eager', 'deploy', 'compile', 'bf16', 'compile-bf16', 'ort', 'ort-int8',
         'deploy-functional')
# deploy-functional: the fused model in eager mode with the forms a captured graph uses
# (out-of-place SE scaling and partial residual), to compare with its in-place ones
# `--preset deploy`: every inference path of ReXNet-1.0x and timm's rexnet_100
DEPLOY_PRESET = [f'{m}@{mode}' for m in ('timm:rexnet_100', 'rexnet:1.0x')
                 for mode in MODES[:-1]]


def fuse_bn(model):
    """Every BatchNorm folded into the conv before it: ReXNet's own
    switch_to_deploy, or torch.fx's conv-BN fusion for other models."""
    model.eval()
    if hasattr(model, 'switch_to_deploy'):
        model.switch_to_deploy()
        return model
    from torch.fx.experimental.optimization import fuse
    return fuse(model)


class OrtStep:
    """An onnxruntime session of a model (exported here), optionally
    quantized to int8 (static, QDQ, per-channel, calibrated on random
    input), timed on the same input as the PyTorch paths."""

    def __init__(self, model, x, threads, int8=False, workdir=None, names=('input', )):
        import os
        import tempfile
        import warnings

        import onnxruntime as ort
        self.tmp = tempfile.mkdtemp(prefix='rexnet_bench_', dir=workdir)
        path = os.path.join(self.tmp, 'model.onnx')
        inputs = tuple(t.contiguous() for t in (x if isinstance(x, tuple) else (x, )))
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter('ignore')  # the tracer's notes on shape arithmetic
            # a static graph of the timed batch (the legacy exporter: seconds,
            # where the dynamo exporter takes minutes on an fx-fused model)
            torch.onnx.export(model.eval(), inputs, path, dynamo=False,
                              input_names=list(names), opset_version=18)
        if int8:
            from rexnet_mm.deploy.quantize import quantize_int8
            path = quantize_int8(path, path.replace('.onnx', '-int8.onnx'),
                                 [torch.randn(x.shape).numpy() for _ in range(4)])
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        # idle ORT threads spin after a run and slow what runs next
        so.add_session_config_entry('session.intra_op.allow_spinning', '0')
        self.path, self.options = path, so
        self.sess = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
        self.feed = {n: t.numpy() for n, t in zip(names, inputs)}

    def __call__(self):
        self.sess.run(None, self.feed)

    def profile(self, runs=6):
        """Share of kernel time per ONNX op type (onnxruntime's profiler)."""
        import collections
        import json
        import os

        import onnxruntime as ort
        self.options.enable_profiling = True
        self.options.profile_file_prefix = os.path.join(self.tmp, 'profile')
        sess = ort.InferenceSession(self.path, self.options, providers=['CPUExecutionProvider'])
        for _ in range(runs):
            sess.run(None, self.feed)
        with open(sess.end_profiling()) as f:
            events = json.load(f)
        self.options.enable_profiling = False
        by_op = collections.Counter()
        for e in events:
            if e.get('cat') == 'Node' and e['name'].endswith('_kernel_time'):
                by_op[e['args']['op_name']] += e['dur']
        total = sum(by_op.values()) or 1
        return [(op, 100 * t / total) for op, t in by_op.most_common(8)]


def deploy_steps(spec, model, batch, size, threads):
    """The inference step of ``model`` run as ``mode`` (see MODES)."""
    mode = spec.rpartition('@')[2] if '@' in spec else 'eager'
    x = torch.randn(batch, 3, size, size)
    if mode == 'eager':
        model.eval()
    else:
        model = fuse_bn(model)
        if not hasattr(model, 'switch_to_deploy'):  # timm: the best CPU layout
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
    if mode.startswith('ort'):
        return model, OrtStep(model, x, threads, int8=mode == 'ort-int8')
    if mode.startswith('compile'):
        model = torch.compile(model)
    amp = 'bf16' if mode.endswith('bf16') else None
    functional = contextlib.nullcontext
    if mode == 'deploy-functional':
        from rexnet_mm.models.layers import functional_forms as functional

    def eval_step():
        with torch.no_grad(), autocast(torch.device('cpu'), amp), functional():
            model(x)

    return model, eval_step


def _sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def _sum_outputs(out):
    if isinstance(out, torch.Tensor):
        return out.float().mean()
    return sum(o.float().mean() for o in out)


def autocast(device, amp):
    """Mixed precision for a step: None (fp32), 'bf16' or 'fp16'."""
    if amp is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dict(bf16=torch.bfloat16, fp16=torch.float16)[amp])


def backbone_steps(model, batch, size, device, amp=None, channels_last=False):
    x = torch.randn(batch, 3, size, size, device=device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    def eval_step():
        with torch.no_grad(), autocast(device, amp):
            model(x)

    def train_step():
        with autocast(device, amp):
            loss = _sum_outputs(model(x))
        loss.backward()
        model.zero_grad(set_to_none=True)

    return eval_step, train_step


def config_steps(config, batch, h, w, device, ort=False, threads=None):
    """Inference and training steps of an mmdet detector or an mmseg
    segmentor on dummy HxW images (with dummy boxes or label maps). With
    ``ort``: the detector's inference as exported by
    tools/deployment/export_onnx.py (rexnet_mm.deploy.detector: the whole
    test path with NMS), in onnxruntime, on the same input."""
    from rexnet_mm.runner.build import build_from_config, demo_det_batch, dummy_seg_samples
    model, scope = build_from_config(config)
    model = model.to(device)
    if ort:
        from rexnet_mm.deploy.detector import DetectorExport
        if scope != 'mmdet' or batch != 1:
            raise SystemExit(f'error: {config}@ort: the ONNX path times mmdet detectors at '
                             f'--batch 1')
        model.eval()
        x = demo_det_batch(model, 1, h, w, training=False)['inputs']
        net = DetectorExport(model).eval()
        step = OrtStep(net, (x, torch.tensor([float(h), float(w)])), threads,
                       names=('img', 'img_shape'))
        return model, step, None
    if scope == 'mmdet':
        data = demo_det_batch(model, batch, h, w, num_gt=6)
        x, samples = data['inputs'], data['data_samples']
    elif scope == 'mmseg':
        samples = dummy_seg_samples(batch, h, w, model.decode_head.num_classes,
                                    device=device)
        x = torch.randn(batch, 3, h, w, device=device)
    else:
        raise SystemExit(f'error: --configs takes mmdet and mmseg configs, but {config} is '
                         f'an {scope} config')

    def eval_step():
        with torch.no_grad():
            model.predict(x, samples)

    def train_step():
        losses = model.loss(x, samples)
        total = sum(v.sum() if isinstance(v, torch.Tensor) else sum(v)
                    for k, v in losses.items() if 'loss' in k)
        total.backward()
        model.zero_grad(set_to_none=True)

    return model, eval_step, train_step


def measure(named_steps, mode, warmup, rounds, device, log=print):
    """Interleaved timing; returns {name: [seconds per step, ...]}."""
    times = {n: [] for n, *_ in named_steps}
    for name, model, eval_step, train_step in named_steps:
        model.train(mode == 'train')
        step = train_step if mode == 'train' else eval_step
        for _ in range(warmup):
            step()
    for r in range(rounds):
        # A B C, C B A, ...: no model always runs right after the same other one
        order = named_steps if r % 2 == 0 else named_steps[::-1]
        for name, model, eval_step, train_step in order:
            model.train(mode == 'train')
            step = train_step if mode == 'train' else eval_step
            _sync(device)
            t = time.perf_counter()
            step()
            _sync(device)
            times[name].append(time.perf_counter() - t)
        log(f'  {mode} round {r + 1}/{rounds}', end='\r', flush=True)
    log(' ' * 40, end='\r')
    return times


def table(results, batch, title):
    lines = [title, '| model | mode | median ms/batch | img/s | ratio vs first |',
             '|---|---|---|---|---|']
    for mode, times in results.items():
        first = None
        for name, ts in times.items():
            med = statistics.median(ts)
            first = first or med
            lines.append(f'| {name} | {mode} | {med * 1e3:.1f} | {batch / med:.1f} | '
                         f'{first / med:.2f}x |')
    return '\n'.join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n\n', 1)[1])
    p.add_argument('--models', nargs='+', default=['rexnet:1.0x', 'timm:rexnet_100'])
    p.add_argument('--configs', nargs='+',
                   help='detector or segmentor configs (instead of --models)')
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                   help='input height and width (default: --size square)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--modes', nargs='+', default=None, choices=['eval', 'train'],
                   help='default: eval and train; eval alone with @modes and --preset')
    p.add_argument('--preset', choices=['deploy'],
                   help='deploy: ReXNet-1.0x and timm rexnet_100 in every inference mode '
                   f'({", ".join(MODES)})')
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--rounds', type=int, default=10)
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    p.add_argument('--amp', choices=['bf16', 'fp16'], default=None,
                   help='autocast every model to this precision (default: fp32)')
    p.add_argument('--channels-last', action='store_true',
                   help='channels_last weights and input for every model')
    p.add_argument('--ort-profile', action='store_true',
                   help='after timing, the share of time per op type of each @ort model')
    args = p.parse_args(argv)
    if args.modes is None:
        deploy = args.preset or any('@' in m for m in args.models + (args.configs or []))
        args.modes = ['eval'] if deploy else ['eval', 'train']
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    named = []
    h, w = args.shape or (args.size, args.size)
    if args.configs:
        for c in args.configs:
            base, _, mode = c.partition('@')
            if mode not in ('', 'ort'):
                raise SystemExit(f'error: config spec {c!r}: the mode after @ must be ort (the '
                                 f'detector exported to ONNX, in onnxruntime)')
            if mode and (device.type != 'cpu' or args.modes != ['eval']):
                raise SystemExit(f'error: {c}: @ort times CPU inference: use --modes eval '
                                 f'(and --device cpu)')
            if mode:
                print(f'[benchmark] exporting {base} to ONNX ...', flush=True)
            model, ev, tr = config_steps(base, args.batch, h, w, device, mode == 'ort',
                                         torch.get_num_threads())
            named.append((base.split('/')[-1].replace('.py', '') + (f'@{mode}' if mode else ''),
                          model, ev, tr))
    else:
        specs = DEPLOY_PRESET if args.preset == 'deploy' else args.models
        for spec in specs:
            base, _, mode = spec.partition('@')
            if mode and mode not in MODES:
                raise SystemExit(f'error: model spec {spec!r}: the mode after @ must be one of '
                                 f'{", ".join(MODES)}')
            model = build_backbone(base).to(device)
            n = sum(q.numel() for q in model.parameters()) / 1e6
            if mode:
                if device.type != 'cpu' or args.modes != ['eval']:
                    raise SystemExit(f'error: {spec}: @modes time CPU inference: use '
                                     f'--modes eval (and --device cpu)')
                print(f'[benchmark] preparing {spec} ...', flush=True)
                model, ev = deploy_steps(spec, model, args.batch, args.size,
                                         torch.get_num_threads())
                if mode.startswith('compile'):
                    ev()  # compiles (minutes); then warm-up as every model
                named.append((f'{spec} ({n:.2f}M)', model, ev, None))
                continue
            ev, tr = backbone_steps(model, args.batch, args.size, device, args.amp,
                                    args.channels_last)
            named.append((f'{spec} ({n:.2f}M)', model, ev, tr))
    results = {}
    for mode in args.modes:
        print(f'[benchmark] {mode}: {args.warmup} warm-up steps, {args.rounds} interleaved '
              f'rounds', flush=True)
        results[mode] = measure(named, mode, args.warmup, args.rounds, device)
    dev = torch.cuda.get_device_name(device) if device.type == 'cuda' else \
        f'CPU, {torch.get_num_threads()} threads'
    precision = f'autocast {args.amp}' if args.amp else 'fp32'
    if any('@' in name for name in results.get('eval', {})):
        precision = 'precision and path per @mode'

    layout = ', channels_last' if args.channels_last else ''
    print(table(results, args.batch, f'batch {args.batch}, {h}x{w}, {precision}'
                f'{layout}, {dev}, torch {torch.__version__}'))
    if args.ort_profile:
        for name, _, step, _ in named:
            if isinstance(step, OrtStep):
                shares = ', '.join(f'{op} {pct:.1f}%' for op, pct in step.profile())
                print(f'{name}: onnxruntime kernel time by op type: {shares}')


if __name__ == '__main__':
    sys.exit(main())
