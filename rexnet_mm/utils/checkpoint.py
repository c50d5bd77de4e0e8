"""Checkpoint helpers: torch >= 2.6 compatibility for mmengine checkpoints and
clear errors for missing files.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7
checkpoints (``--resume``, ``load_from``) hold a few non-tensor objects: the
message hub's ``HistoryBuffer`` (numpy arrays inside) and numpy scalars in
the logged metrics. :func:`allow_mmengine_checkpoints` maps exactly those
names to validating stand-ins (plain numeric dtypes only, states checked
before numpy sees them; see :mod:`.safe_unpickle`), so the weights-only
protection stays on: a checkpoint that pickles anything else (``os.system``,
an arbitrary class, an object array, a forged dtype, a ``getattr`` of any
other attribute, ...) is refused with ``pickle.UnpicklingError``.
"""
import os
import os.path as osp

import torch


def mmengine_safe_globals():
    """Everything an mmengine 0.10.x checkpoint may pickle besides tensors,
    as validating stand-ins (see :mod:`rexnet_mm.utils.safe_unpickle`)."""
    from .safe_unpickle import safe_globals
    return safe_globals()


def allow_mmengine_checkpoints():
    """Let ``torch.load(weights_only=True)`` read mmengine checkpoints.

    Idempotent; a no-op on torch versions without ``add_safe_globals``.
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return
    add(mmengine_safe_globals())


def check_checkpoint_file(path: str, what: str = 'checkpoint') -> None:
    """Fail early, saying where a local checkpoint was looked for and how to
    produce it."""
    if not isinstance(path, str):
        raise TypeError(f'{what} must be a path string, but got {type(path).__name__}')
    if '://' in path or path.startswith(('open-mmlab:', 'mmcls:', 'torchvision:')):
        return  # remote / model-zoo names: mmengine handles them
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{what} not found: {path!r} (looked in {osp.abspath(path)}; cwd {os.getcwd()}).\n'
            f'Produce it from the official or timm weights with\n'
            f'  python tools/model_converters/rexnet_to_mm.py SRC.pth {path}\n'
            f'or train from scratch with --cfg-options model.backbone.init_cfg=None')


def save_whole(obj, dst):
    """Write ``obj`` to ``dst`` completely or not at all: a partial file in
    the same directory (``.<name>.<pid>.part``), renamed over ``dst`` at the
    end, removed on failure (see :mod:`.files`)."""
    from .files import partial_path, publish, remove_quietly
    tmp = partial_path(dst)
    try:
        with open(tmp, 'wb') as f:
            torch.save(obj, f)
        publish(tmp, dst)
    except BaseException:
        remove_quietly(tmp)
        raise


def official_layout(state) -> bool:
    """Whether ``state`` (a checkpoint or its state dict) is an official
    ReXNetV1 / ReXNet-lite or timm ReXNet file, which the converter reads."""
    from ..models.convert import detect_layout, unwrap_state_dict
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

    from ..models.channels import ARCH_SETTINGS
    from ..models.convert import convert_rexnet
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
