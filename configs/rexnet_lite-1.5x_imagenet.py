# ReXNet-lite-1.5x on ImageNet-1k (released top-1 78.6%); the recipe of rexnet_1.0x_imagenet.py.
_base_ = './rexnet_1.0x_imagenet.py'

arch = 'lite-1.5x'
model = dict(
    backbone=dict(arch=arch),
    head=dict(arch=arch))
