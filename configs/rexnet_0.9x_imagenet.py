# ReXNet-0.9x on ImageNet-1k (released top-1 77.2%); the recipe of rexnet_1.0x_imagenet.py.
_base_ = './rexnet_1.0x_imagenet.py'

arch = '0.9x'
model = dict(
    backbone=dict(arch=arch),
    head=dict(arch=arch))
