# ReXNet-3.0x on ImageNet-1k (released top-1 82.8%); the recipe of rexnet_1.0x_imagenet.py.
_base_ = './rexnet_1.0x_imagenet.py'
from rexnet_mm import build_schedule  # noqa: E402

arch = '3.0x'
drop_path_rate = 0.2  # stochastic depth for the large models, as advised
model = dict(
    backbone=dict(arch=arch, drop_path_rate=drop_path_rate),
    head=dict(in_channels=build_schedule(arch).head_channels,
              mid_channels=1024 if build_schedule(arch).lite else None))
