"""A trained model ready for inference, from a config and a checkpoint: one
sequence (load the config, build, check the checkpoint fits, load, eval,
fuse, set the precision) for every tool that runs or exports a model."""
from typing import Optional, Sequence, Tuple

from .errors import DeployError


def load_backbone(backbone, path: str) -> None:
    """The ``backbone.*`` tensors of a classifier's or a detector's
    checkpoint into ``backbone``, strictly."""
    from ..models import ReXNet
    from ..models.convert import strip_prefix, unwrap_state_dict
    from ..runner.checks import read_checkpoint
    state = unwrap_state_dict(read_checkpoint(path), tensors_only=False)
    sub = strip_prefix(state, 'backbone.')
    if not sub:
        raise DeployError(f'checkpoint {path} has no backbone.* tensors ({len(state)} tensors, '
                          f'e.g. {sorted(state)[:3]})')
    try:
        if isinstance(backbone, ReXNet):
            backbone.load_state_dict_checked(sub, source=path)
        else:
            backbone.load_state_dict(sub, strict=True)
    except (ValueError, RuntimeError) as e:
        raise DeployError(' '.join(str(e).split())[:1200]) from None


def load_for_inference(config, checkpoint: str, *, fuse: bool = False,
                       precision: str = 'fp32', cfg_options: Optional[dict] = None,
                       scopes: Optional[Sequence[str]] = None, backbone_only: bool = False,
                       device: str = 'cpu') -> Tuple[object, object]:
    """(config, model) for inference.

    Args:
        config: a config path (``mmdet::...`` too) or a loaded Config.
        checkpoint: its checkpoint; it must fit the model (every tensor with
            the model's shape) before anything is loaded.
        fuse: fold every BatchNorm (``switch_to_deploy``).
        precision: 'fp32' or 'bf16' (backbone and neck under autocast).
        cfg_options: overrides merged into the config.
        scopes: the toolkits allowed (default: any of mmdet, mmpretrain, mmseg).
        backbone_only: load only the checkpoint's ``backbone.*`` tensors (into
            ``model.backbone``), e.g. to export a detector's backbone.
        device: where the model runs.
    """
    from ..models.convert import unwrap_state_dict
    from ..models.layers import fuse_model
    from ..runner.build import build_from_config
    from ..runner.checks import check_checkpoint_fits, read_checkpoint
    from ..runner.config import load_config
    from ..runner.precision import apply_precision
    cfg = load_config(config, cfg_options) if isinstance(config, str) else config
    if scopes and cfg.default_scope not in scopes:
        raise DeployError(f'{config} is an {cfg.default_scope} config; this takes '
                          f'{" or ".join(scopes)} configs')
    if cfg.get('data_preprocessor') is not None:  # as mmpretrain's init_model
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model, _ = build_from_config(cfg)
    if backbone_only:
        load_backbone(model.backbone, checkpoint)
    else:
        ckpt = read_checkpoint(checkpoint)
        check_checkpoint_fits(model, checkpoint, 'test', ckpt)
        model.load_state_dict(unwrap_state_dict(ckpt, tensors_only=False), strict=False)
    model = model.to(device).eval()
    if fuse:
        fuse_model(model)
    return cfg, apply_precision(model, precision, device)


def config_inputs(cfg, model, scope: str = 'mmpretrain'):
    """A function from an image path to ``model``'s input (a batch of one):
    the config's test pipeline, then the model's data preprocessor, as
    mmpretrain's inferencer prepares an image."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    init_default_scope(scope)
    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)

    def inputs(path: str):
        data = {'inputs': [pipeline(dict(img_path=path))['inputs']], 'data_samples': None}
        return model.data_preprocessor(data, False)['inputs']
    return inputs
