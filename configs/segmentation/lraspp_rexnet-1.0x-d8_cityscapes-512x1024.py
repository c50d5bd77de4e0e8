# LR-ASPP with a ReXNet-1.0x backbone at output stride 8 on Cityscapes,
# 512x1024 crops, batch 16 (4 GPUs x 4): mmseg's MobileNetV3 LR-ASPP recipe
# (mobilenet-v3-d8_lraspp_4xb4-320k_cityscapes-512x1024).
#   tools/dist_train.sh configs/segmentation/lraspp_rexnet-1.0x-d8_cityscapes-512x1024.py 4
# ImageNet weights: python tools/model_converters/rexnet_to_mm.py \
#   rexnetv1_1.0.pth checkpoints/rexnet_1.0x.pth

_base_ = 'mmseg::mobilenet_v3/mobilenet-v3-d8_lraspp_4xb4-320k_cityscapes-512x1024.py'
from rexnet_mm import arch_out_channels  # noqa: E402

custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

arch = '1.0x'
output_stride = 8
# strides 4, 8 and 8: stage 2, stage 3 and the head conv (1280 channels), as
# MobileNetV3's taps (1, 3, 16) end in its 960-channel conv.
out_indices = (1, 2, 6)
pretrained = f'checkpoints/rexnet_{arch}.pth'
crop_size = (512, 1024)

# The image pooling. mmseg's LRASPPHead hard-codes AvgPool2d(49, stride=(16, 20)):
# MobileNetV3's window for a 64x128 feature map, giving 1x4 pooled cells. Here
# the window follows the feature map this config trains on (crop / output
# stride: 64x128 for 512x1024 at 8, hence the same 49 / (16, 20)), so changing
# crop_size or output_stride keeps the 1x4 cells. SizedLRASPPHead also clips the
# window to smaller maps (small or odd inputs), where mmseg's pooling fails.
feat = (crop_size[0] // output_stride, crop_size[1] // output_stride)
pool_kernel = (round(feat[0] * 49 / 64), ) * 2
pool_stride = (round(feat[0] * 16 / 64), round(feat[1] * 20 / 128))

model = dict(
    pretrained=None,  # the base's open-mmlab://contrib/mobilenet_v3_large
    backbone=dict(
        _delete_=True,
        type='ReXNet',
        arch=arch,
        out_indices=out_indices,
        output_stride=output_stride,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    decode_head=dict(
        type='SizedLRASPPHead',
        in_channels=tuple(arch_out_channels(arch, out_indices)),
        pool_kernel=pool_kernel,
        pool_stride=pool_stride))
