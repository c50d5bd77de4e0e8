"""The test pipeline of an exported file, rebuilt from its validated
metadata (:mod:`rexnet_mm.deploy.metadata`): each transform is looked up by
its exact name in the toolkit's own registry and constructed with checked
arguments, never through a registry's ``build`` (whose import fallback would
run what an untrusted file names)."""
from typing import Callable

from .errors import MetadataError
from .metadata import TRANSFORMS


def _registered(toolkit: str, name: str) -> Callable:
    """The class registered under exactly ``name`` in ``toolkit``'s transform
    registry or its parents (mmcv's transforms live in mmengine's root
    registry), without the registry's import fallback."""
    if toolkit == 'mmpretrain':
        from mmpretrain.registry import TRANSFORMS as registry
        from mmpretrain.utils import register_all_modules
    else:
        from mmdet.registry import TRANSFORMS as registry
        from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    node = registry
    while node is not None:
        cls = node._module_dict.get(name)
        if cls is not None:
            return cls
        node = node.parent
    raise MetadataError(f'{name} is not registered in {toolkit}\'s transforms; is {toolkit} '
                        f'installed at the version the file was exported with?')


def build_pipeline(meta: dict, skip=('LoadAnnotations', )):
    """The validated test pipeline of ``meta``, each transform constructed
    from the allow-list (never through a registry's ``build``), composed."""
    from mmengine.dataset import Compose
    toolkit = TRANSFORMS[meta['kind']][0]
    return Compose([_registered(toolkit, name)(**args)
                    for name, args in meta['test_pipeline'] if name not in skip])
