"""Register rexnet_mm's modules in each installed OpenMMLab toolkit.

Each toolkit is optional: one that is not importable is skipped, and
``REGISTERED_IN`` lists those that got the modules.
"""
import importlib
import importlib.util

REGISTERED_IN = []

# toolkit -> module holding its MODELS registry
_TOOLKITS = {
    'mmdet': 'mmdet.registry',
    'mmpretrain': 'mmpretrain.registry',
    'mmseg': 'mmseg.registry',
}


def _models():
    from .models import ReXNet
    mods = {'ReXNet': ReXNet}
    try:
        from .models.heads import ReXNetClsHead
        mods['ReXNetClsHead'] = ReXNetClsHead
    except ImportError:  # mmpretrain not installed
        pass
    return mods


def register_all():
    mods = _models()
    for toolkit, registry_module in _TOOLKITS.items():
        try:
            if importlib.util.find_spec(toolkit) is None:
                continue
            registry = importlib.import_module(registry_module).MODELS
        except Exception:  # an absent or broken toolkit must not break the others
            continue
        for name, cls in mods.items():
            if name == 'ReXNetClsHead' and toolkit != 'mmpretrain':
                continue
            registry.register_module(name=name, module=cls, force=True)
        if toolkit not in REGISTERED_IN:
            REGISTERED_IN.append(toolkit)
