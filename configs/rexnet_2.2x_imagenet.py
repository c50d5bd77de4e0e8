# ReXNet-2.2x on ImageNet-1k (no released ImageNet weights); the recipe of rexnet_1.0x_imagenet.py.
_base_ = './rexnet_1.0x_imagenet.py'

arch = '2.2x'
drop_path_rate = 0.2  # stochastic depth for the large models, as advised
model = dict(
    backbone=dict(arch=arch, drop_path_rate=drop_path_rate),
    head=dict(arch=arch))
