"""Timing models side by side (tools/analysis/benchmark.py): backbones
(ReXNet, timm, mmdet, torchvision) eager, fused, compiled, in bf16 or in
onnxruntime (fp32, int8), and whole mmdet / mmseg models, in interleaved
rounds after a warm-up (A B C, C B A, ...: machine noise hits all alike);
the table gives median time per batch, images/s and the ratio to the first.
The steps themselves are built in :mod:`rexnet_mm.research.steps`."""
import statistics
import time

import torch

from ..utils.errors import UserError
from .steps import OnnxStep, backbone_steps, build_backbone, config_steps, deploy_steps, sync

MODES = ('eager', 'deploy', 'compile', 'bf16', 'compile-bf16', 'ort', 'ort-int8', 'ov',
         'ov-int8', 'ov-bf16', 'deploy-functional')
# ort / ov: the fused model exported to ONNX, in onnxruntime / OpenVINO; -int8: quantized by
# rexnet_mm.deploy.quantize's default recipe for that runtime; ov-bf16: the fp32 file
# computed in bfloat16 by OpenVINO (CPUs with native bf16 only: AVX512-BF16 or AMX)
# deploy-functional: the fused model in eager mode with the forms a captured graph uses
# (out-of-place SE scaling and partial residual), to compare with its in-place ones
# an int8 mode may name a variant of the recipe after a colon, as KEY=VALUE pairs
# joined by ':' (rexnet_mm.deploy.qdq_recipe.parse_variant), to time it beside the
# default: rexnet:1.0x@ov-int8 rexnet:1.0x@ov-int8:float-outputs=none


def deploy_preset() -> list:
    """`--preset deploy`: every inference path of ReXNet-1.0x and timm's
    rexnet_100 (ov-bf16 where OpenVINO has native bf16 here)."""
    from ..deploy.backends import available
    from ..deploy.backends.openvino import native_bf16
    skip = {'deploy-functional'}
    if not available('openvino') or not native_bf16():
        skip.add('ov-bf16')
    return [f'{m}@{mode}' for m in ('timm:rexnet_100', 'rexnet:1.0x') for mode in MODES
            if mode not in skip]


def measure(named_steps, mode, warmup, rounds, device, log=print, burst=1):
    """Interleaved timing; returns {name: [seconds per step, ...]}. With
    ``burst`` > 1, each model runs that many times in a row in each round and
    the last run is timed: its weights are back in the caches, as a model
    serving request after request has them, instead of evicted by the model
    timed before it."""
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
            for _ in range(burst - 1):
                step()
            sync(device)
            t = time.perf_counter()
            step()
            sync(device)
            times[name].append(time.perf_counter() - t)
        log(f'  {mode} round {r + 1}/{rounds}', end='\r', flush=True)
    log(' ' * 40, end='\r')
    return times


def table(results, batch, title):
    """Markdown: per model, the median time per batch and per image, images/s
    and the speed per image relative to the first model. ``batch``: the batch
    size of every model, or {name: batch size}."""
    lines = [title, '| model | mode | median ms/batch | ms/img | img/s | ratio vs first |',
             '|---|---|---|---|---|---|']
    for mode, times in results.items():
        first = None
        for name, ts in times.items():
            n = batch[name] if isinstance(batch, dict) else batch
            per_img = statistics.median(ts) / n
            first = first or per_img
            lines.append(f'| {name} | {mode} | {per_img * n * 1e3:.1f} | {per_img * 1e3:.1f} | '
                         f'{1 / per_img:.1f} | {first / per_img:.2f}x |')
    return '\n'.join(lines)


def prepare_configs(configs, batch, h, w, device, modes):
    """[(name, model, eval step, train step)] for ``--configs`` specs
    (``CONFIG``, ``CONFIG@MODE``: ort or ov, then optionally -int8 and
    -dynamic, e.g. ``CONFIG@ov-int8-dynamic``)."""
    named = []
    for c in configs:
        base, _, spec_mode = c.partition('@')
        mode, quant = split_variant(c, spec_mode)
        backend, *extra = mode.split('-') if mode else ('', )
        if backend not in ('', 'ort', 'ov') or not set(extra) <= {'int8', 'dynamic', 'bf16'} \
                or ('bf16' in extra and (backend != 'ov' or 'int8' in extra)):
            raise UserError(f'config spec {c!r}: the mode after @ must be ort or ov, optionally '
                            f'followed by -int8 (or, for ov, -int8 or -bf16) and -dynamic (the '
                            f'detector exported to ONNX, in onnxruntime or OpenVINO, fp32, int8 '
                            f'or OpenVINO\'s bf16, static or dynamic)')
        if mode and (device.type != 'cpu' or list(modes) != ['eval']):
            raise UserError(f'{c}: @{mode} times CPU inference: use --modes eval (and '
                            f'--device cpu)')
        if mode:
            print(f'[benchmark] exporting {base} to ONNX ...', flush=True)
        model, ev, tr = config_steps(base, batch, h, w, device,
                                     {'ort': 'onnxruntime', 'ov': 'openvino'}.get(backend),
                                     torch.get_num_threads(), int8='int8' in extra,
                                     dynamic='dynamic' in extra, quant=quant,
                                     precision='bf16' if 'bf16' in extra else 'fp32')
        named.append((base.split('/')[-1].replace('.py', '')
                      + (f'@{spec_mode}' if mode else ''), model, ev, tr))
    return named


def prepare_configs_at(configs, batches, h, w, device, modes):
    """:func:`prepare_configs` at each batch size of ``batches`` (names get
    ' bN' when there are several): (named steps, {name: batch size})."""
    named, sizes = [], {}
    for b in batches:
        for name, *rest in prepare_configs(configs, b, h, w, device, modes):
            name += f' b{b}' if len(batches) > 1 else ''
            named.append((name, *rest))
            sizes[name] = b
    return named, sizes


def prepare_models(specs, batch, size, device, modes, amp=None, channels_last=False):
    """[(name, model, eval step, train step)] for model specs
    (``KIND:NAME`` or ``KIND:NAME@MODE``, see :data:`MODES`)."""
    named = []
    for spec in specs:
        base, _, mode = spec.partition('@')
        mode, quant = split_variant(spec, mode)
        if mode and mode not in MODES:
            raise UserError(f'model spec {spec!r}: the mode after @ must be one of '
                            f'{", ".join(MODES)}')
        model = build_backbone(base).to(device)
        n = sum(q.numel() for q in model.parameters()) / 1e6
        if not mode:
            ev, tr = backbone_steps(model, batch, size, device, amp, channels_last)
            named.append((f'{spec} ({n:.2f}M)', model, ev, tr))
            continue
        if device.type != 'cpu' or list(modes) != ['eval']:
            raise UserError(f'{spec}: @modes time CPU inference: use --modes eval (and '
                            f'--device cpu)')
        print(f'[benchmark] preparing {spec} ...', flush=True)
        model, ev = deploy_steps(f'{base}@{mode}', model, batch, size,
                                 torch.get_num_threads(), quant)
        if mode.startswith('compile'):
            ev()  # compiles (minutes); then warm-up as every model
        named.append((f'{spec} ({n:.2f}M)', model, ev, None))
    return named


def split_variant(spec: str, mode: str):
    """(mode, QuantOptions or None) of a spec's ``MODE[:KEY=VALUE...]``: a
    variant of the int8 recipe for ``-int8`` modes."""
    mode, _, variant = mode.partition(':')
    if not variant:
        return mode, None
    if 'int8' not in mode.split('-'):
        raise UserError(f'{spec}: a recipe variant after {mode} needs an int8 mode '
                        f'(ort-int8, ov-int8)')
    from ..deploy.errors import DeployError
    from ..deploy.qdq_recipe import parse_variant
    try:
        return mode, parse_variant(variant, 'openvino' if mode.startswith('ov') else
                                   'onnxruntime')
    except DeployError as e:
        raise UserError(f'{spec}: {e}') from None


def ort_profiles(named) -> list:
    """'name: onnxruntime kernel time by op type: ...' for each @ort model."""
    return [f'{name}: onnxruntime kernel time by op type: '
            + ', '.join(f'{op} {pct:.1f}%' for op, pct in step.profile())
            for name, _, step, _ in named
            if isinstance(step, OnnxStep) and step.engine.name == 'onnxruntime']
