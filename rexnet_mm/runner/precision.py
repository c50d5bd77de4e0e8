"""Inference precision for PyTorch models: ``--precision bf16`` runs the
feature extractor (backbone and neck, the bulk of the work in mmdet,
mmpretrain and mmseg models alike) under autocast, through forward hooks on
those modules: the model's methods, its state dict and its heads are left as
they are, so heads, box decoding, NMS and post-processing stay float32
(mmpretrain's post-processing cannot take bf16 scores)."""
import torch
import torch.nn as nn

PRECISIONS = ('fp32', 'bf16')
FEATURE_MODULES = ('backbone', 'neck')


def _to_float(x):
    if isinstance(x, torch.Tensor):
        return x.float() if x.is_floating_point() else x
    if isinstance(x, (list, tuple)):
        return type(x)(_to_float(v) for v in x)
    return x


def autocast_module(module: nn.Module, device_type: str, dtype=torch.bfloat16) -> list:
    """Run ``module``'s forward under ``torch.autocast(device_type, dtype)``
    and hand float32 outputs on. Returns the hook handles (``.remove()``
    undoes it)."""
    active = []

    def enter(mod, args):
        ctx = torch.autocast(device_type, dtype=dtype)
        ctx.__enter__()
        active.append(ctx)

    def leave(mod, args, output):
        active.pop().__exit__(None, None, None)
        return _to_float(output)

    return [module.register_forward_pre_hook(enter),
            module.register_forward_hook(leave, always_call=True)]


def apply_precision(model, precision: str, device: str = 'cpu'):
    """Run ``model`` (or the model a wrapper holds) at an inference
    ``precision``, one of :data:`PRECISIONS`; returns it."""
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {PRECISIONS}, but got {precision!r}')
    if precision == 'fp32':
        return model
    from mmengine.model import is_model_wrapper
    net = model.module if is_model_wrapper(model) else model
    kind = torch.device(device).type
    for name in FEATURE_MODULES:
        sub = getattr(net, name, None)
        if isinstance(sub, nn.Module):
            autocast_module(sub, kind)
    return model
