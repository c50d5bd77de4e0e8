"""rexnet_mm: ReXNet as an OpenMMLab backbone.

``custom_imports=dict(imports=['rexnet_mm'], allow_failed_imports=False)`` in a
config registers ``type='ReXNet'`` (and the ReXNet heads) in every installed
toolkit's registry: mmdet, mmpretrain and mmseg; none of them is required.
Importing it does that and lets ``torch.load`` read mmengine checkpoints (see
``rexnet_mm.utils.checkpoint``), nothing else.
"""
import random as _random

# mmengine's and the toolkits' imports draw from Python's global RNG
# (mmengine.utils, mmpretrain.apis): importing the plugin must not change a
# user's seeded stream, so the state is put back once everything is imported.
_rng_state = _random.getstate()

import warnings  # noqa: E402

from .models.channels import ARCH_SETTINGS, arch_out_channels, build_schedule  # noqa: E402
from .registry import REGISTERED_IN, register_all  # noqa: E402
from .version import __version__  # noqa: E402

# The toolkits are imported here for the first time, and mmengine 0.10.7
# imports pkg_resources (now or when it reads an `mmdet::` config), whose
# deprecation notice is not actionable (mmengine needs it, hence setuptools
# < 81). Silenced for these imports only: the filter is removed again, and
# filters the toolkits install while they import stay (which
# warnings.catch_warnings would drop).
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
_quiet = warnings.filters[0]
try:
    try:  # mmengine imports it lazily, when a config names an `mmdet::` base
        import pkg_resources  # noqa: F401
    except ImportError:
        pass
    from .utils.checkpoint import allow_mmengine_checkpoints
    allow_mmengine_checkpoints()
    register_all()
finally:
    if _quiet in warnings.filters:
        warnings.filters.remove(_quiet)
        getattr(warnings, '_filters_mutated', lambda: None)()
    del _quiet
    _random.setstate(_rng_state)
    del _rng_state

__all__ = ['ARCH_SETTINGS', 'arch_out_channels', 'build_schedule', 'register_all',
           'REGISTERED_IN', '__version__']
