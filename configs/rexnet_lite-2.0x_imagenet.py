# ReXNet-lite-2.0x on ImageNet-1k (released top-1 80.2%); the recipe of rexnet_1.0x_imagenet.py.
_base_ = './rexnet_1.0x_imagenet.py'

arch = 'lite-2.0x'
model = dict(
    backbone=dict(arch=arch),
    head=dict(arch=arch))
