"""Checkpoint key map between the released layouts and rexnet_mm: one place.

Layouts:
- ``official``: clovaai's ReXNetV1 (``features.*`` nn.Sequential, SE, conv
  classifier ``output.1``),
- ``official-lite``: clovaai's ReXNet-lite (no SE, ``output.0/1/4`` head),
- ``timm``: timm's rexnet_* and rexnetr_* (``stem``, ``features.k.conv_exp`` ...,
  ``head.fc``).

rexnet_mm: backbone ``stem``, ``layer{1..6}.{j}.{conv_exp,conv_dw,se,conv_pwl}``,
``conv_head``; head (ReXNetClsHead) ``fc`` and, for lite, ``hidden.0/1``.
"""
from typing import Dict, List, Tuple

import torch

from .channels import ARCH_SETTINGS, build_schedule, released_archs

LAYOUTS = ('official', 'official-lite', 'timm')
_BN = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
_CONV_BIAS = ('weight', 'bias')


def _blocks(sched):
    """(index, BlockSpec, rexnet_mm module name) of every block, in order."""
    j = 0
    for k, spec in enumerate(sched.blocks):
        j = 0 if k == 0 or sched.blocks[k - 1].stage != spec.stage else j + 1
        yield k, spec, f'backbone.layer{spec.stage + 1}.{j}'


def module_map(arch, layout: str) -> List[Tuple[str, str, Tuple[str, ...]]]:
    """(source module, rexnet_mm module, tensor names) for every module holding
    weights, derived from the channel schedule of ``arch``."""
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, but got {layout!r}')
    sched = build_schedule(arch)
    timm = layout == 'timm'
    pairs = []

    def convbn(src_conv, src_bn, dst):
        pairs.append((src_conv, f'{dst}.conv', ('weight', )))
        pairs.append((src_bn, f'{dst}.bn', _BN))

    convbn('stem.conv' if timm else 'features.0', 'stem.bn' if timm else 'features.1',
           'backbone.stem')
    for k, spec, dst in _blocks(sched):
        if timm:
            src = f'features.{k}'
            if spec.expand_ratio != 1:
                convbn(f'{src}.conv_exp.conv', f'{src}.conv_exp.bn', f'{dst}.conv_exp')
            convbn(f'{src}.conv_dw.conv', f'{src}.conv_dw.bn', f'{dst}.conv_dw')
            if spec.use_se:
                pairs += [(f'{src}.se.fc1', f'{dst}.se.conv1', _CONV_BIAS),
                          (f'{src}.se.bn', f'{dst}.se.bn', _BN),
                          (f'{src}.se.fc2', f'{dst}.se.conv2', _CONV_BIAS)]
            convbn(f'{src}.conv_pwl.conv', f'{src}.conv_pwl.bn', f'{dst}.conv_pwl')
            continue
        # official nn.Sequential indices: [exp conv, BN, act] dw conv, BN,
        # [SE], act, pw conv, BN
        src = f'features.{3 + k}.out'
        i = 0
        if spec.expand_ratio != 1:
            convbn(f'{src}.0', f'{src}.1', f'{dst}.conv_exp')
            i = 3
        convbn(f'{src}.{i}', f'{src}.{i + 1}', f'{dst}.conv_dw')
        i += 2
        if spec.use_se:
            pairs += [(f'{src}.{i}.fc.0', f'{dst}.se.conv1', _CONV_BIAS),
                      (f'{src}.{i}.fc.1', f'{dst}.se.bn', _BN),
                      (f'{src}.{i}.fc.3', f'{dst}.se.conv2', _CONV_BIAS)]
            i += 1
        i += 1  # ReLU6
        convbn(f'{src}.{i}', f'{src}.{i + 1}', f'{dst}.conv_pwl')
    n = len(sched.blocks)
    if timm:
        convbn(f'features.{n}.conv', f'features.{n}.bn', 'backbone.conv_head')
        pairs.append(('head.fc', 'head.fc', _CONV_BIAS))
    else:
        convbn(f'features.{3 + n}', f'features.{4 + n}', 'backbone.conv_head')
        if sched.lite:
            pairs += [('output.0', 'head.hidden.0', _CONV_BIAS),
                      ('output.1', 'head.hidden.1', _BN),
                      ('output.4', 'head.fc', _CONV_BIAS)]
        else:
            pairs.append(('output.1', 'head.fc', _CONV_BIAS))
    return pairs


def key_map(arch, layout: str) -> Dict[str, str]:
    """Source tensor name -> rexnet_mm tensor name."""
    return {f'{s}.{t}': f'{d}.{t}' for s, d, names in module_map(arch, layout) for t in names}


def detect_layout(state: Dict[str, torch.Tensor]) -> str:
    keys = set(state)
    if 'stem.conv.weight' in keys and 'features.0.conv_dw.conv.weight' in keys:
        return 'timm'
    if 'features.0.weight' in keys and 'output.4.weight' in keys:
        return 'official-lite'
    if 'features.0.weight' in keys and 'output.1.weight' in keys:
        return 'official'
    sample = sorted(keys)[:6]
    raise ValueError(
        'unknown checkpoint layout: expected the official ReXNetV1 keys (features.0.weight, '
        'output.1.weight), the official ReXNet-lite keys (features.0.weight, output.4.weight) '
        f'or timm keys (stem.conv.weight, features.0.conv_dw.conv.weight), but found '
        f'{len(keys)} keys '
        f'starting with {sample}')


def strip_prefix(state: dict, prefix: str) -> dict:
    """The entries of ``state`` whose keys start with ``prefix``, without it
    (all of them for an empty prefix)."""
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def unwrap_state_dict(ckpt, tensors_only: bool = True) -> dict:
    """A state dict, or a dict holding one ('state_dict', 'model', 'state_dict_ema');
    strips a DataParallel 'module.' prefix. ``tensors_only``: refuse a dict
    holding anything else (a ValueError)."""
    if isinstance(ckpt, dict):
        for key in ('state_dict', 'model', 'state_dict_ema', 'model_ema'):
            if isinstance(ckpt.get(key), dict):
                ckpt = ckpt[key]
                break
    if not isinstance(ckpt, dict) or (
            tensors_only and not all(isinstance(v, torch.Tensor) for v in ckpt.values())):
        raise ValueError('the checkpoint holds no state dict of tensors '
                         f'(found {type(ckpt).__name__})')
    if ckpt and all(isinstance(k, str) and k.startswith('module.') for k in ckpt):
        ckpt = strip_prefix(ckpt, 'module.')
    return ckpt


def expected_shapes(arch, num_classes: int) -> Dict[str, Tuple[int, ...]]:
    """Shapes of rexnet_mm's tensors for ``arch`` (backbone and the released
    classifier), from the schedule: the same widths the modules are built
    with (tests/test_models/test_converter.py checks them against built models)."""
    sched = build_schedule(arch)
    shapes = {}

    def bn(name, c):
        shapes.update({f'{name}.{t}': (c, ) for t in _BN[:4]})
        shapes[f'{name}.num_batches_tracked'] = ()

    def convbn(name, c_out, c_in, k=1, groups=1):
        shapes[f'{name}.conv.weight'] = (c_out, c_in // groups, k, k)
        bn(f'{name}.bn', c_out)

    convbn('backbone.stem', sched.stem_channels, 3, k=3)
    for _, spec, dst in _blocks(sched):
        mid = spec.mid_channels
        if spec.expand_ratio != 1:
            convbn(f'{dst}.conv_exp', mid, spec.in_channels)
        convbn(f'{dst}.conv_dw', mid, mid, k=3, groups=mid)
        if spec.use_se:
            se = spec.se_channels
            shapes.update({f'{dst}.se.conv1.weight': (se, mid, 1, 1),
                           f'{dst}.se.conv1.bias': (se, ),
                           f'{dst}.se.conv2.weight': (mid, se, 1, 1),
                           f'{dst}.se.conv2.bias': (mid, )})
            bn(f'{dst}.se.bn', se)
        convbn(f'{dst}.conv_pwl', spec.out_channels, mid)
    convbn('backbone.conv_head', sched.head_channels, sched.blocks[-1].out_channels)
    fc_in = sched.head_channels
    if sched.cls_mid_channels is not None:
        fc_in = sched.cls_mid_channels
        shapes.update({'head.hidden.0.weight': (fc_in, sched.head_channels),
                       'head.hidden.0.bias': (fc_in, )})
        bn('head.hidden.1', fc_in)
    n = max(num_classes, 1)
    shapes.update({'head.fc.weight': (n, fc_in), 'head.fc.bias': (n, )})
    return shapes


def _family(layout: str) -> List[str]:
    """The named variants a layout can hold: official lite files the lite
    ones, official V1 files the official V1 ones, timm files every non-lite
    one (V1 and rexnetr)."""
    if layout == 'official-lite':
        return [a for a in ARCH_SETTINGS if build_schedule(a).lite]
    if layout == 'official':
        return [a for a in released_archs('official') if not build_schedule(a).lite]
    return [a for a in ARCH_SETTINGS if not build_schedule(a).lite]


def _try_convert(state, arch, layout):
    """Converted state dict for ``arch``, or a one-line reason it does not fit."""
    kmap = key_map(arch, layout)
    if layout == 'timm' and 'head.fc.weight' not in state:
        # timm features-only models (num_classes=0) have no classifier
        kmap = {k: v for k, v in kmap.items() if not v.startswith('head.')}
    missing = [k for k in kmap if k not in state]
    extra = [k for k in state if k not in kmap]
    if missing or extra:
        return None, (f'{len(missing)} keys missing (e.g. {missing[:2]}), '
                      f'{len(extra)} unexpected (e.g. {extra[:2]})')
    fc = [k for k in kmap if kmap[k] == 'head.fc.weight']
    num_classes = state[fc[0]].shape[0] if fc else 0
    shapes = expected_shapes(arch, num_classes)
    out = {}
    for src, dst in kmap.items():
        v = state[src]
        if v.dim() == 4 and len(shapes[dst]) == 2:  # 1x1 conv classifier -> linear
            v = v.flatten(1)
        if tuple(v.shape) != shapes[dst]:
            return None, f'{src} has shape {tuple(v.shape)}, {arch} needs {shapes[dst]}'
        out[dst] = v
    return out, None


def nonfinite_tensors(state: Dict[str, torch.Tensor]) -> List[str]:
    """Names of the floating-point tensors holding NaN or infinite values."""
    return [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]


def convert_rexnet(ckpt, arch=None, allow_nonfinite=False):
    """Convert an official ReXNetV1 / ReXNet-lite or timm checkpoint.

    Args:
        ckpt: a state dict or a dict holding one.
        arch: the variant expected; None infers it from the tensor shapes.
        allow_nonfinite: convert even when some weights are NaN or infinite
            (refused by default: a diverged or corrupt file).

    Returns:
        (layout, arch, state_dict with 'backbone.' and 'head.' keys).

    Raises:
        ValueError: unknown layout, no variant (or not ``arch``) fits, or
        non-finite weights; the message names what was found and what was
        expected.
    """
    state = unwrap_state_dict(ckpt)
    layout = detect_layout(state)
    stem = tuple(state['stem.conv.weight' if layout == 'timm' else 'features.0.weight'].shape)
    candidates = _family(layout) if arch is None else [arch]
    reasons = {}
    for a in candidates:
        out, why = _try_convert(state, a, layout)
        if out is not None:
            bad = [] if allow_nonfinite else nonfinite_tensors(out)
            if bad:
                raise ValueError(
                    f'{len(bad)} of {len(out)} tensors hold NaN or infinite values (e.g. '
                    f'{", ".join(bad[:3])}): a diverged or corrupt checkpoint? '
                    f'tools/model_converters/rexnet_to_mm.py --allow-nonfinite converts it '
                    f'anyway')
            return layout, a, out
        reasons[a] = why
    if arch is not None:
        raise ValueError(f'the {layout} checkpoint (stem conv {stem}) does not fit arch '
                         f'{arch!r}: {reasons[arch]}')
    detail = '; '.join(f'{a}: {r}' for a, r in reasons.items())
    raise ValueError(f'no released variant fits the {layout} checkpoint (stem conv {stem}, '
                     f'{len(state)} tensors). Tried {detail}')
