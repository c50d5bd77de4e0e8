"""The steps :mod:`rexnet_mm.research.benchmark` times: a backbone built
from a ``KIND:NAME`` spec, run eager, fused, compiled, in bf16 or in
onnxruntime (fp32, int8), and whole mmdet / mmseg models on dummy data."""
import contextlib

import torch

from ..models.layers import fuse_model
from ..utils.errors import UserError


def build_backbone(spec):
    kind, _, name = spec.partition(':')
    if kind == 'rexnet':
        from ..models import ReXNet
        from ..runner.build import init_weights_quietly

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
        from ..runner.build import init_weights_quietly
        return init_weights_quietly(MODELS.build(
            dict(type=name, out_indices=(7, ) if name == 'MobileNetV2' else (3, ))))
    if kind == 'torchvision':
        import torchvision
        m = getattr(torchvision.models, name)(weights=None)
        return torch.nn.Sequential(*list(m.children())[:-2])
    raise UserError(f'model spec must be rexnet:, timm:, mmdet: or torchvision:, '
                    f'but got {spec!r}')


class OnnxStep:
    """A model exported here, run by a runtime (``backend``: 'onnxruntime' or
    'openvino'), optionally quantized to int8 by the deploy library's recipe
    (``quant``: its options; calibrated on random input), timed on the same
    input as the PyTorch paths."""

    def __init__(self, model, x, threads, int8=False, workdir=None, names=('input', ),
                 backend='onnxruntime', quant=None, detector=False, dynamic=False,
                 precision='fp32'):
        import os
        import tempfile
        import warnings

        from ..deploy.backends import open_engine
        self.tmp = tempfile.mkdtemp(prefix='rexnet_bench_', dir=workdir)
        path = os.path.join(self.tmp, 'model.onnx')
        inputs = tuple(t.contiguous() for t in (x if isinstance(x, tuple) else (x, )))
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter('ignore')  # the tracer's notes on shape arithmetic
            # a static graph of the timed batch (the legacy exporter: seconds,
            # where the dynamo exporter takes minutes on an fx-fused model)
            axes = {names[0]: {0: 'batch', 2: 'height', 3: 'width'},
                    **{n: {0: 'batch'} for n in names[1:]}} if dynamic else None
            torch.onnx.export(model.eval(), inputs, path, dynamo=False, dynamic_axes=axes,
                              input_names=list(names), opset_version=18)
        if int8:
            from dataclasses import replace

            from ..deploy.qdq_recipe import QuantOptions
            from ..deploy.quantize import quantize_int8
            quant = quant or QuantOptions(backend=backend)
            if detector:  # the detector recipe: post-processing in float
                from ..deploy.quantize_det import detector_region
                quant = replace(quant, region=detector_region(path))
            calib = [{names[0]: torch.randn(inputs[0].shape).numpy(),
                      **{n: t.numpy() for n, t in zip(names[1:], inputs[1:])}}
                     for _ in range(4)]
            path = quantize_int8(path, path.replace('.onnx', '-int8.onnx'), calib, quant)
        self.path, self.threads = path, threads
        self.engine = open_engine(path, backend, threads, precision)  # no spinning threads
        self.feed = {n: t.numpy() for n, t in zip(names, inputs)}

    def __call__(self):
        self.engine.run(self.feed)

    def profile(self, runs=6):
        """Share of kernel time per ONNX op type (onnxruntime's profiler; the
        same file in onnxruntime whichever backend times it)."""
        import collections
        import json
        import os

        from ..deploy.backends.onnxruntime import session, session_options
        options = session_options(self.threads, profile_prefix=os.path.join(self.tmp, 'profile'))
        sess = session(self.path, options=options)
        for _ in range(runs):
            sess.run(None, self.feed)
        with open(sess.end_profiling()) as f:
            events = json.load(f)
        by_op = collections.Counter()
        for e in events:
            if e.get('cat') == 'Node' and e['name'].endswith('_kernel_time'):
                by_op[e['args']['op_name']] += e['dur']
        total = sum(by_op.values()) or 1
        return [(op, 100 * t / total) for op, t in by_op.most_common(8)]


def deploy_steps(spec, model, batch, size, threads, quant=None):
    """The inference step of ``model`` run as ``mode`` (see benchmark.MODES;
    ``quant``: the int8 recipe, default the runtime's)."""
    mode = spec.rpartition('@')[2] if '@' in spec else 'eager'
    x = torch.randn(batch, 3, size, size)
    if mode == 'eager':
        model.eval()
    else:
        model.eval()
        if not fuse_model(model):  # timm: torch.fx's conv-BN fusion, the best CPU layout
            from torch.fx.experimental.optimization import fuse
            model = fuse(model).to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
    if mode.startswith(('ort', 'ov')):
        backend = 'openvino' if mode.startswith('ov') else 'onnxruntime'
        return model, OnnxStep(model, x, threads, int8=mode.endswith('int8'), backend=backend,
                               quant=quant, precision='bf16' if mode == 'ov-bf16' else 'fp32')
    if mode.startswith('compile'):
        model = torch.compile(model)
    amp = 'bf16' if mode.endswith('bf16') else None
    functional = contextlib.nullcontext
    if mode == 'deploy-functional':
        from ..models.layers import functional_forms as functional

    def eval_step():
        with torch.no_grad(), autocast(torch.device('cpu'), amp), functional():
            model(x)

    return model, eval_step


def sync(device):
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


def config_steps(config, batch, h, w, device, backend=None, threads=None, int8=False,
                 dynamic=False, quant=None, precision='fp32'):
    """Inference and training steps of an mmdet detector or an mmseg
    segmentor on dummy HxW images (with dummy boxes or label maps). With
    ``backend`` ('onnxruntime' or 'openvino'): the detector's inference as
    exported by tools/deployment/export_onnx.py (rexnet_mm.deploy.detector:
    the whole test path with NMS, a static graph of the batch), in that
    runtime, on the same input; ``int8``: quantized by the detector recipe
    (rexnet_mm.deploy.quantize_det, calibrated on random input; ``quant``: its
    options, default the runtime's); ``dynamic``:
    the graph with dynamic batch, height and width instead; ``precision``
    'bf16': OpenVINO's bfloat16."""
    from ..runner.build import build_from_config, demo_det_batch, dummy_seg_samples
    model, scope = build_from_config(config)
    model = model.to(device)
    if backend:
        from ..deploy.detector import DetectorExport
        if scope != 'mmdet':
            raise UserError(f'{config}@{backend}: the ONNX path times mmdet detectors')
        model.eval()
        x = demo_det_batch(model, batch, h, w, training=False)['inputs']
        net = DetectorExport(model).eval()
        step = OnnxStep(net, (x, torch.tensor([[float(h), float(w)]] * batch)), threads,
                        names=('img', 'img_shape'), backend=backend, int8=int8,
                        detector=True, dynamic=dynamic, quant=quant, precision=precision)
        return model, step, None
    if scope == 'mmdet':
        data = demo_det_batch(model, batch, h, w, num_gt=6)
        x, samples = data['inputs'], data['data_samples']
    elif scope == 'mmseg':
        samples = dummy_seg_samples(batch, h, w, model.decode_head.num_classes,
                                    device=device)
        x = torch.randn(batch, 3, h, w, device=device)
    else:
        raise UserError(f'--configs takes mmdet and mmseg configs, but {config} is '
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
