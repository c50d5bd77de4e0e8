# timm's ReXNet-R 1.5x (rexnetr_150: every width a multiple of 8) on ImageNet-1k with
# the recipe of rexnet_1.0x_imagenet.py. No weights are published for it.
_base_ = './rexnet_1.0x_imagenet.py'

arch = 'r-1.5x'
model = dict(
    backbone=dict(arch=arch),
    head=dict(arch=arch))
