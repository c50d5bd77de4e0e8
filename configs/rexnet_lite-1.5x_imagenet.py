# ReXNet-lite-1.5x on ImageNet-1k (released top-1 78.6%); the recipe of rexnet_1.0x_imagenet.py.
_base_ = './rexnet_1.0x_imagenet.py'
from rexnet_mm import build_schedule  # noqa: E402

arch = 'lite-1.5x'
model = dict(
    backbone=dict(arch=arch),
    head=dict(in_channels=build_schedule(arch).head_channels,
              mid_channels=1024 if build_schedule(arch).lite else None))
