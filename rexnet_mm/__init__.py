"""rexnet_mm: ReXNet as an OpenMMLab backbone.

``custom_imports=dict(imports=['rexnet_mm'], allow_failed_imports=False)`` in a
config registers ``type='ReXNet'`` (and the ReXNet heads) in every installed
toolkit's registry: mmdet, mmpretrain and mmseg; none of them is required.
"""
from .models.channels import ARCH_SETTINGS, arch_out_channels, build_schedule
from .registry import REGISTERED_IN, register_all
from .utils.checkpoint import allow_mmengine_checkpoints
from .version import __version__

allow_mmengine_checkpoints()
register_all()

__all__ = ['ARCH_SETTINGS', 'arch_out_channels', 'build_schedule', 'register_all',
           'REGISTERED_IN', '__version__']
