"""Weights into a ReXNet: what an init_cfg's checkpoint holds for the
backbone, in rexnet_mm's layout or converted on the fly from an official or
timm file; the strict loader; the arch a state dict was built for. (File
reading and its safety live in :mod:`rexnet_mm.utils`.)

``init_cfg=dict(type='ReXNetPretrained', checkpoint=..., prefix=...)`` is the
registered mmengine initializer; ``type='Pretrained'`` in a ReXNet's init_cfg
means the same (see :func:`pretrained_last`).
"""
from typing import Dict, Optional

from mmengine.logging import MMLogger
from mmengine.model.weight_init import update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS

from ..utils.checkpoint import check_checkpoint_file
from .channels import ARCH_SETTINGS
from .convert import convert_rexnet, detect_layout, expected_shapes, strip_prefix, unwrap_state_dict

PRETRAINED_TYPES = ('Pretrained', 'ReXNetPretrained')


def official_layout(state) -> bool:
    """Whether ``state`` (a checkpoint or its state dict) is an official
    ReXNetV1 / ReXNet-lite or timm ReXNet file, which the converter reads."""
    try:
        detect_layout(unwrap_state_dict(state))
    except ValueError:
        return False
    return True


def guess_arch(state: dict, prefix: str = 'backbone.') -> Optional[str]:
    """The released ReXNet arch whose backbone tensor shapes the ``prefix``
    part of a state dict has (the shapes come from the schedule), or None."""
    sub = {k: tuple(v.shape) for k, v in strip_prefix(state, prefix).items()
           if hasattr(v, 'shape')}
    for arch in ARCH_SETTINGS:
        shapes = strip_prefix(expected_shapes(arch, 1), 'backbone.')
        common = [k for k in sub if k in shapes]
        if common and len(common) == len(sub) and all(sub[k] == shapes[k] for k in common):
            return arch
    return None


def pretrained_backbone_state(checkpoint: str, prefix: Optional[str] = None, arch=None,
                              map_location='cpu'):
    """The backbone tensors an init_cfg's checkpoint holds, keys relative to
    the backbone, and a description of the source.

    ``checkpoint`` is an official ReXNetV1 / ReXNet-lite or timm file
    (converted here as tools/model_converters/rexnet_to_mm.py would, with the
    same checks; ``arch``, when a released variant, must fit), or a
    rexnet_mm / mmpretrain file with the backbone's tensors under ``prefix``.
    With no prefix (None or ''), a file whose keys start with 'backbone.'
    gives those, any other file all its keys.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    check_checkpoint_file(checkpoint, what='ReXNet init_cfg checkpoint')
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location=map_location)
    try:
        state = unwrap_state_dict(ckpt)
    except ValueError as e:
        raise ValueError(f'init_cfg.checkpoint: {checkpoint}: {e}') from None
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    meta_arch = meta.get('arch') if isinstance(meta, dict) else None
    prefix = prefix or ''
    if prefix in ('', 'backbone.') and official_layout(state):
        want = arch if isinstance(arch, str) and arch in ARCH_SETTINGS else None
        try:
            layout, found, converted = convert_rexnet(state, want)
        except ValueError as e:
            raise ValueError(f'init_cfg.checkpoint: {checkpoint}: {e}') from None
        return (strip_prefix(converted, 'backbone.'),
                f'{checkpoint} ({layout} layout, arch {found}, converted on the fly)')
    if prefix and not prefix.endswith('.'):
        prefix += '.'
    if not prefix and any(k.startswith('backbone.') for k in state):
        prefix = 'backbone.'
    sub = strip_prefix(state, prefix)
    if not sub:
        raise ValueError(
            f'init_cfg: no key of {checkpoint} starts with the prefix {prefix!r}, and it is '
            f'not an official or timm ReXNet file either (e.g. {sorted(state)[:3]})')
    return sub, f'{checkpoint} (arch {meta_arch})' if meta_arch else checkpoint


def pretrained_last(init_cfg):
    """A ReXNet's init_cfg with its checkpoint entry (``Pretrained`` or
    ``ReXNetPretrained``) as ``ReXNetPretrained``, after the other
    initialisers: mmengine runs the others first, then the children's own
    ``init_weights``, then only ``type='Pretrained'``; the strict loader marks
    the children initialised so nothing overwrites what it loaded."""
    if not init_cfg:
        return init_cfg
    cfgs = list(init_cfg) if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    loads = [dict(c, type='ReXNetPretrained') for c in cfgs if c.get('type') in PRETRAINED_TYPES]
    if len(loads) > 1:
        raise ValueError(f'ReXNet init_cfg names {len(loads)} checkpoints; give one '
                         f'(got {init_cfg})')
    others = [c for c in cfgs if c.get('type') not in PRETRAINED_TYPES]
    if not loads:
        return init_cfg
    return others + loads if others else loads[0]


@WEIGHT_INITIALIZERS.register_module(name='ReXNetPretrained')
class ReXNetPretrainedInit:
    """Load a ReXNet backbone strictly from an official, timm or rexnet_mm
    checkpoint (see :func:`pretrained_backbone_state`).

    Args:
        checkpoint (str): the file.
        prefix (str, optional): where the backbone's tensors sit in a
            rexnet_mm / mmpretrain file, e.g. 'backbone.'. Defaults to None
            ('backbone.' when the file has such keys, else the whole file).
        map_location (str): where to load the tensors. Defaults to 'cpu'.
    """

    def __init__(self, checkpoint: str, prefix: Optional[str] = None, map_location='cpu'):
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.map_location = map_location

    def __call__(self, module):
        if not hasattr(module, 'load_state_dict_checked'):
            raise TypeError(f'init_cfg type ReXNetPretrained initialises a ReXNet backbone, '
                            f'not a {type(module).__name__}; use type=Pretrained there')
        state, source = pretrained_backbone_state(self.checkpoint, self.prefix, module.arch,
                                                  self.map_location)
        module.load_state_dict_checked(state, source=source)
        for child in module.children():  # mmengine skips children marked initialised
            child.is_init = True
        MMLogger.get_current_instance().info(
            f'ReXNet({module.arch!r}): loaded {len(state)} tensors from {source}')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return f'{type(self).__name__}: load from {self.checkpoint}'


def load_strict(module, state: Dict, source: str, skip: tuple = (), name: str = 'the model'):
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
