# timm's ReXNet-R 2.0x (rexnetr_200: every width a multiple of 8) on ImageNet-1k
# with the recipe of rexnet-2.0x_4xb128_in1k.py. timm publishes its weights
# (rexnetr_200.sw_in12k_ft_in1k: ImageNet-12k, then 1k): convert them with
#   python tools/model_converters/rexnet_to_mm.py rexnetr_200.pth checkpoints/rexnet_r-2.0x.pth
_base_ = './rexnet-2.0x_4xb128_in1k.py'

arch = 'r-2.0x'
model = dict(
    backbone=dict(arch=arch),
    head=dict(arch=arch))
