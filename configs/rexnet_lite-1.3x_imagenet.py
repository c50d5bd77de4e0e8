# ReXNet-lite-1.3x on ImageNet-1k (released top-1 77.8%); the recipe of rexnet_1.0x_imagenet.py.
_base_ = './rexnet_1.0x_imagenet.py'

arch = 'lite-1.3x'
model = dict(
    backbone=dict(arch=arch),
    head=dict(arch=arch))
