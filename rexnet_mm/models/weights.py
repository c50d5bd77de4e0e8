"""Weights into a ReXNet: what an init_cfg's checkpoint holds for the
backbone, in rexnet_mm's layout or converted on the fly from an official or
timm file. (File reading and its safety live in :mod:`rexnet_mm.utils`.)"""
from ..utils.checkpoint import check_checkpoint_file
from .channels import ARCH_SETTINGS
from .convert import convert_rexnet, detect_layout, unwrap_state_dict


def official_layout(state) -> bool:
    """Whether ``state`` (a checkpoint or its state dict) is an official
    ReXNetV1 / ReXNet-lite or timm ReXNet file, which the converter reads."""
    try:
        detect_layout(unwrap_state_dict(state))
    except ValueError:
        return False
    return True


def pretrained_backbone_state(checkpoint: str, prefix: str = 'backbone.', arch=None,
                              map_location='cpu'):
    """The backbone tensors a ``Pretrained`` init_cfg points at, keys relative
    to the backbone, and a description of the source.

    ``checkpoint`` is an rexnet_mm / mmpretrain-format file (the tensors under
    ``prefix``), or an official ReXNetV1 / ReXNet-lite or timm file, converted
    here as tools/model_converters/rexnet_to_mm.py would (same layout
    detection and checks; ``arch``, when a released variant, must fit).
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    check_checkpoint_file(checkpoint, what='ReXNet init_cfg checkpoint')
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location=map_location)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'init_cfg.checkpoint: {checkpoint} holds no state dict')
    meta_arch = ckpt.get('meta', {}).get('arch') if isinstance(ckpt.get('meta'), dict) else None
    source = f'{checkpoint} (arch {meta_arch})' if meta_arch else checkpoint
    if prefix and not prefix.endswith('.'):
        prefix += '.'
    sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if sub:
        return sub, source
    if prefix in ('', 'backbone.') and official_layout(ckpt):
        want = arch if isinstance(arch, str) and arch in ARCH_SETTINGS else None
        try:
            layout, found, converted = convert_rexnet(ckpt, want)
        except ValueError as e:
            raise ValueError(f'init_cfg.checkpoint: {checkpoint}: {e}') from None
        sub = {k[len('backbone.'):]: v for k, v in converted.items()
               if k.startswith('backbone.')}
        return sub, f'{checkpoint} ({layout} layout, arch {found}, converted on the fly)'
    if not prefix:
        return state, source
    raise ValueError(f'init_cfg: no key of {checkpoint} starts with the prefix {prefix!r}, and '
                     f'it is not an official or timm ReXNet file either (e.g. '
                     f'{sorted(state)[:3]})')


def load_strict(module, state, source: str, skip: tuple = (), name: str = 'the model'):
    """Load ``state`` into ``module`` strictly: every tensor of the module
    present with its shape, every tensor of ``state`` the module's, except
    keys starting with one of ``skip`` (layers not built). Otherwise a
    ValueError lists what differs (five of each kind) and how to convert
    official or timm weights."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own and not k.startswith(skip)]
    mismatched = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(v.shape)}'
                  for k, v in own.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or mismatched:
        lines = [f'{source} does not fit {name}:']
        for title, items in (('shape mismatch', mismatched), ('missing', missing),
                             ('unexpected', unexpected)):
            if items:
                lines.append(f'  {title} ({len(items)}): ' + ', '.join(items[:5]) +
                             (' ...' if len(items) > 5 else ''))
        lines.append('  Convert official/timm weights with '
                     'tools/model_converters/rexnet_to_mm.py, which names their variant.')
        raise ValueError('\n'.join(lines))
    module.load_state_dict({k: state[k] for k in own}, strict=True)
