# timm's ReXNet-R 3.0x (rexnetr_300: every width a multiple of 16) on ImageNet-1k
# with the recipe of rexnet-3.0x_4xb128_in1k.py. timm publishes its weights
# (rexnetr_300.sw_in12k_ft_in1k: ImageNet-12k, then 1k): convert them with
#   python tools/model_converters/rexnet_to_mm.py rexnetr_300.pth checkpoints/rexnet_r-3.0x.pth
_base_ = './rexnet-3.0x_4xb128_in1k.py'

arch = 'r-3.0x'
model = dict(
    backbone=dict(arch=arch),
    head=dict(arch=arch))
