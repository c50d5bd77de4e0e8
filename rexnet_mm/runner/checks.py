"""Checks the tools run right after building a model, before any work: the
widths the neck and heads expect match the backbone's, and a checkpoint to
test, resume or start from fits the model.

Each failure stops with one paragraph naming the values on both sides and
the option that fixes it (a :class:`~rexnet_mm.utils.errors.UserError`, which the tools
print as one paragraph, without a traceback).
"""
import functools
import pickle
from typing import Dict, List, Optional

from ..models.convert import unwrap_state_dict
from ..models.weights import guess_arch
from ..utils.errors import UserError


def unwrap(model):
    from mmengine.model import is_model_wrapper
    return model.module if is_model_wrapper(model) else model


def _rexnet_backbone(model):
    from ..models import ReXNet
    backbone = getattr(unwrap(model), 'backbone', None)
    return backbone if isinstance(backbone, ReXNet) else None


def _as_list(v):
    return list(v) if isinstance(v, (list, tuple)) else v


def expected_widths(cfg, out_channels: List[int], arch=None) -> Dict[str, object]:
    """The config values that must follow the backbone's output widths
    (dotted key -> value), for the model in ``cfg``: FPN-style necks, the SSD
    neck and head, and a classifier head after global pooling (its
    ``in_channels``, or its ``arch``, which must be the backbone's ``arch``)."""
    model = cfg.model
    neck, want = model.get('neck'), {}
    if isinstance(neck, dict) and isinstance(neck.get('in_channels'), (list, tuple)):
        want['model.neck.in_channels'] = list(out_channels)
        if neck.get('type') == 'SSDNeck':
            n = len(out_channels)
            want['model.neck.out_channels'] = list(out_channels) + _as_list(
                neck.get('out_channels', []))[n:]
            head = model.get('bbox_head', {})
            if isinstance(head.get('in_channels'), (list, tuple)):
                want['model.bbox_head.in_channels'] = list(out_channels) + _as_list(
                    head['in_channels'])[n:]
    head = model.get('head')
    if isinstance(head, dict) and isinstance(head.get('in_channels'), int):
        want['model.head.in_channels'] = out_channels[-1]
    if isinstance(head, dict) and head.get('arch') is not None and arch is not None:
        want['model.head.arch'] = arch
    return want


def get_dotted(cfg, dotted):
    """``cfg['a']['b']`` for 'a.b' (None where absent; tuples as lists)."""
    node = cfg
    for part in dotted.split('.'):
        node = node.get(part) if hasattr(node, 'get') else None
    return _as_list(node)


def check_widths(cfg, model) -> None:
    """Stop when the neck/head widths of ``cfg`` differ from what the built
    ReXNet backbone returns (e.g. after ``model.backbone.arch=0.9x`` alone)."""
    backbone = _rexnet_backbone(model)
    if backbone is None:
        return
    out = list(backbone.out_channels)
    want = expected_widths(cfg, out, backbone.arch)
    wrong = {k: v for k, v in want.items() if get_dotted(cfg, k) != v}
    if not wrong:
        return
    have = ', '.join(f'{k}={get_dotted(cfg, k)}' for k in wrong)
    fix = ' '.join(f'{k}={str(v).replace(" ", "")}' for k, v in wrong.items())
    raise UserError(
        f'ReXNet(arch={backbone.arch!r}, out_indices={backbone.out_indices}) returns '
        f'{out} channels, but the config has {have}. Switch the arch and its widths together '
        f'with --arch {backbone.arch if isinstance(backbone.arch, str) else "ARCH"}, or set '
        f'them with --cfg-options {fix}')


# ------------------------------------------------------------------ checkpoints
@functools.lru_cache(maxsize=None)
def unpickling_reason(err) -> str:
    """Our reason inside torch's weights-only error message, without torch's
    advice around it (which suggests ``weights_only=False``: the very code
    execution the safe loader prevents)."""
    import re
    text = str(err)
    for marker in ('checkpoint refused:', 'WeightsUnpickler error:'):
        if marker in text:
            text = text.split(marker, 1)[1]
            break
    text = re.sub(r'Check the documentation of torch\.load.*', '', text, flags=re.S)
    text = re.sub(r'Please use `torch\.serialization.*?if you trust this global\.', '', text,
                  flags=re.S)
    text = re.sub(r'Weights only load failed\.|In PyTorch 2\.6, we changed[^\n]*trusted '
                  r'source\.|Please file an issue[^:]*:', '', text)
    text = ' '.join(text.replace('\x1b[1m', '').replace('\x1b[0m', '').split())
    return text[:400] or type(err).__name__


def read_checkpoint(path: str, what: str = 'checkpoint') -> dict:
    """Load a checkpoint with the safe loader; a refused, unreadable or
    malformed file stops with one paragraph."""
    from mmengine.runner.checkpoint import CheckpointLoader
    try:
        ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    except pickle.UnpicklingError as e:
        raise UserError(f'{what} {path} was refused by the safe loader '
                        f'({unpickling_reason(e)}). Only tensors and what mmengine itself '
                        f'saves are loaded from checkpoints.') from None
    except Exception as e:  # truncated, not a torch file, ...
        first = (str(e).strip().splitlines() or [''])[0][:300]
        raise UserError(f'cannot read {what} {path} ({type(e).__name__}: {first}); '
                        f'is it truncated or not a PyTorch checkpoint?') from None
    if not isinstance(ckpt, dict):
        raise UserError(f'{what} {path} holds a {type(ckpt).__name__}, not a '
                        f'checkpoint dict')
    return ckpt


def _meta(ckpt: dict) -> dict:
    return ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else {}


def _arch_hint(model, ckpt: dict, state: dict, shared: list, mismatched: list):
    """(the archs clause, the advice) of a does-not-fit error: the two archs
    are named where the backbone is a ReXNet whose tensors differ."""
    backbone = _rexnet_backbone(model)
    if backbone is None or (shared and not any(k.startswith('backbone.') for k in mismatched)):
        return '', 'Use the config the checkpoint was trained with.'
    theirs = _meta(ckpt).get('arch') or guess_arch(state)
    theirs = f'ReXNet {theirs}' if theirs else 'a backbone of unknown arch'
    return (f'the checkpoint holds {theirs}, the config builds ReXNet {backbone.arch}; ',
            "Use the config (or --arch) of the checkpoint's arch, or a checkpoint "
            'trained with this config.')


def _missing_advice(ckpt: dict) -> str:
    """What a checkpoint that lacks some of the model's tensors probably is."""
    if _meta(ckpt).get('deploy'):  # reparameterize_model.py records it
        return ('It is a fused (deploy) checkpoint, written by '
                'tools/model_converters/reparameterize_model.py: its BatchNorms are folded '
                'into the convolutions. Load it into the fused model with --cfg-options '
                'model.backbone.deploy=True (and model.head.deploy=True for a ReXNet '
                'classifier), or use the checkpoint it was fused from.')
    return ('Is it a backbone-only (ImageNet) checkpoint? Those start a training '
            "(load_from, or the backbone's init_cfg); use the checkpoint trained with "
            'this config.')


def check_checkpoint_fits(model, path: str, mode: str, ckpt: Optional[dict] = None) -> None:
    """Stop before any work when the checkpoint at ``path`` does not fit.

    ``mode`` is 'test' or 'resume' (every tensor of the model must be in the
    checkpoint with the model's shape) or 'load_from' (the backbone and
    neck must fit; other tensors of another shape, e.g. a classifier trained
    for another number of classes, are left at their init, as mmengine does,
    and listed). Either way the checkpoint must share tensors with the model.
    ``ckpt``: the file's content, when the caller has read it already.
    """
    what = {'test': 'checkpoint', 'resume': '--resume checkpoint',
            'load_from': 'load_from checkpoint'}[mode]
    ckpt = read_checkpoint(path, what) if ckpt is None else ckpt
    state = unwrap_state_dict(ckpt, tensors_only=False)
    net = unwrap(model)
    own = net.state_dict()
    shared = [k for k in own if k in state]
    mismatched = [k for k in shared
                  if not hasattr(state[k], 'shape') or tuple(state[k].shape) != own[k].shape]
    # tensors to test or resume with must all be there (mmengine would keep
    # the init of a missing one and only warn); BN step counters may be absent
    missing = [] if mode == 'load_from' else [
        k for k in own if k not in state and not k.endswith('num_batches_tracked')]
    tolerated = []
    if mode == 'load_from':
        tolerated = [k for k in mismatched if not k.startswith(('backbone.', 'neck.'))]
        mismatched = [k for k in mismatched if k not in tolerated]
    archs, advice = _arch_hint(model, ckpt, state, shared, mismatched)
    if not shared:
        raise UserError(
            f'{what} {path} shares no tensor name with the model '
            f'({len(state)} tensors, e.g. {sorted(state)[:3]}; the model has e.g. '
            f'{sorted(own)[:3]}). Is it a checkpoint of another model or layout? Official and '
            f'timm ReXNet weights are converted with tools/model_converters/rexnet_to_mm.py.')
    if mismatched:
        eg = ', '.join(f'{k} {tuple(state[k].shape) if hasattr(state[k], "shape") else "?"} vs '
                       f'{tuple(own[k].shape)}' for k in mismatched[:2])
        raise UserError(
            f'{what} {path} does not fit the model: {archs}{len(mismatched)} tensors '
            f'differ in shape (checkpoint vs model: {eg}{" ..." if len(mismatched) > 2 else ""}). '
            f'{advice}')
    if missing:
        raise UserError(
            f'{what} {path} does not fit the model: it lacks {len(missing)} of the '
            f"model's {len(own)} tensors (e.g. {', '.join(missing[:3])}), which would keep "
            f'their random init. {_missing_advice(ckpt)}')
    if tolerated:
        print(f'[rexnet_mm] load_from {path}: {len(tolerated)} tensors of another shape stay '
              f'at their init (e.g. {", ".join(tolerated[:3])}): a head for another number '
              f'of classes?', flush=True)
