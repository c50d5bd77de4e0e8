from .blocks import LinearBottleneck, SEWithNorm
from .channels import (ARCH_DEFAULTS, ARCH_SETTINGS, BlockSpec, Schedule, arch_out_channels,
                       build_schedule, make_divisible, released_archs)
from .rexnet import ReXNet

__all__ = ['ARCH_DEFAULTS', 'ARCH_SETTINGS', 'BlockSpec', 'Schedule', 'arch_out_channels',
           'build_schedule', 'make_divisible', 'released_archs', 'ReXNet', 'LinearBottleneck',
           'SEWithNorm']
