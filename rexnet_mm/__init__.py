"""rexnet_mm: ReXNet as an OpenMMLab backbone.

``custom_imports=dict(imports=['rexnet_mm'], allow_failed_imports=False)`` in a
config registers ``type='ReXNet'`` (and the ReXNet heads) in every installed
toolkit's registry: mmdet, mmpretrain and mmseg; none of them is required.
"""
import warnings

# mmengine 0.10.7 imports pkg_resources (and needs it for `mmdet::` configs,
# hence setuptools < 81): its deprecation notice is not actionable here.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

from .models.channels import ARCH_SETTINGS, arch_out_channels, build_schedule  # noqa: E402
from .registry import REGISTERED_IN, register_all  # noqa: E402
from .utils.checkpoint import allow_mmengine_checkpoints  # noqa: E402
from .version import __version__  # noqa: E402

allow_mmengine_checkpoints()
register_all()

__all__ = ['ARCH_SETTINGS', 'arch_out_channels', 'build_schedule', 'register_all',
           'REGISTERED_IN', '__version__']
