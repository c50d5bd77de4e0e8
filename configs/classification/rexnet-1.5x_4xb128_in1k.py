# ReXNet-1.5x on ImageNet-1k (released top-1 80.3%); the recipe of rexnet-1.0x_4xb128_in1k.py.
_base_ = './rexnet-1.0x_4xb128_in1k.py'

arch = '1.5x'
model = dict(
    backbone=dict(arch=arch),
    head=dict(arch=arch))
