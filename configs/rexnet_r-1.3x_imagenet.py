# timm's ReXNet-R 1.3x (rexnetr_130: every width a multiple of 8) on ImageNet-1k with
# the recipe of rexnet_1.0x_imagenet.py. No weights are published for it.
_base_ = './rexnet_1.0x_imagenet.py'

arch = 'r-1.3x'
model = dict(
    backbone=dict(arch=arch),
    head=dict(arch=arch))
