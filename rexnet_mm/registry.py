"""Register rexnet_mm's modules in each installed OpenMMLab toolkit.

Each toolkit is optional: one that is not importable is skipped, and
``REGISTERED_IN`` lists those that got the modules.
"""
import importlib
import importlib.util
import os.path as osp

REGISTERED_IN = []


def mim_root() -> str:
    """Where the configs and the model index are: ``rexnet_mm/.mim`` in an
    installed wheel (setup.py copies them there, as OpenMMLab's toolkits
    ship theirs), else the checkout that holds this package."""
    here = osp.dirname(osp.abspath(__file__))
    mim = osp.join(here, '.mim')
    return mim if osp.isdir(mim) else osp.dirname(here)


# the classifiers' model index, beside the configs it names
CLS_MODEL_INDEX = osp.join(mim_root(), 'metafile-cls.yml')

# toolkit -> module holding its MODELS registry
_TOOLKITS = {
    'mmdet': 'mmdet.registry',
    'mmpretrain': 'mmpretrain.registry',
    'mmseg': 'mmseg.registry',
}


def _models(toolkit):
    """The modules registered in ``toolkit``: the backbone everywhere, each
    toolkit's heads in that toolkit only."""
    from .models import ReXNet
    mods = {'ReXNet': ReXNet}
    if toolkit == 'mmpretrain':
        from .models.heads import ReXNetClsHead
        mods['ReXNetClsHead'] = ReXNetClsHead
    elif toolkit == 'mmseg':
        from .models.seg_heads import SizedLRASPPHead
        mods['SizedLRASPPHead'] = SizedLRASPPHead
    return mods


def register_all():
    for toolkit, registry_module in _TOOLKITS.items():
        try:
            if importlib.util.find_spec(toolkit) is None:
                continue
            registry = importlib.import_module(registry_module).MODELS
            mods = _models(toolkit)
        except Exception:  # an absent or broken toolkit must not break the others
            continue
        for name, cls in mods.items():
            registry.register_module(name=name, module=cls, force=True)
        if toolkit == 'mmpretrain':
            _register_model_index()
        if toolkit not in REGISTERED_IN:
            REGISTERED_IN.append(toolkit)


def _register_model_index():
    """The ReXNet classifiers in mmpretrain's ModelHub (``list_models``,
    ``get_model``, ``ImageClassificationInferencer`` by name), once."""
    if not osp.isfile(CLS_MODEL_INDEX):
        return
    from mmpretrain.apis import ModelHub
    if not ModelHub.has('rexnet-1.0x_in1k'):
        ModelHub.register_model_index(CLS_MODEL_INDEX,
                                      config_prefix=osp.dirname(CLS_MODEL_INDEX))
