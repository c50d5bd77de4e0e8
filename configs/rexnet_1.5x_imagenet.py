# ReXNet-1.5x on ImageNet-1k (released top-1 80.3%); the recipe of rexnet_1.0x_imagenet.py.
_base_ = './rexnet_1.0x_imagenet.py'

arch = '1.5x'
model = dict(
    backbone=dict(arch=arch),
    head=dict(arch=arch))
