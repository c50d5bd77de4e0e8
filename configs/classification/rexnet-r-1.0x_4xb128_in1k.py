# timm's ReXNet-R 1.0x (rexnetr_100: every width a multiple of 8) on ImageNet-1k with
# the recipe of rexnet-1.0x_4xb128_in1k.py. No weights are published for it.
_base_ = './rexnet-1.0x_4xb128_in1k.py'

arch = 'r-1.0x'
model = dict(
    backbone=dict(arch=arch),
    head=dict(arch=arch))
