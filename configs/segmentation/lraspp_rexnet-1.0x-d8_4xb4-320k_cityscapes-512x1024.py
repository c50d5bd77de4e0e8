# LR-ASPP with a ReXNet-1.0x backbone at output stride 8 on Cityscapes,
# 512x1024 crops, batch 16 (4 GPUs x 4): mmseg's MobileNetV3 LR-ASPP recipe
# (mobilenet-v3-d8_lraspp_4xb4-320k_cityscapes-512x1024).
#   tools/dist_train.sh \
#       configs/segmentation/lraspp_rexnet-1.0x-d8_4xb4-320k_cityscapes-512x1024.py 4
# ImageNet weights: python tools/model_converters/rexnet_to_mm.py \
#   rexnetv1_1.0.pth checkpoints/rexnet_1.0x.pth
_base_ = [
    'mmseg::mobilenet_v3/mobilenet-v3-d8_lraspp_4xb4-320k_cityscapes-512x1024.py',
    '../_base_/models/rexnet_seg.py',
]

model = dict(
    pretrained=None,  # the base's open-mmlab://contrib/mobilenet_v3_large
    # taps at strides 4 and 8 (38, 61 wide) and the 1280-wide head conv, at
    # output stride 8
    backbone=dict(_base_.rexnet_backbone, out_indices=(1, 2, 6), output_stride=8),
    decode_head=dict(
        type='SizedLRASPPHead',
        in_channels=(38, 61, 1280),
        # the MobileNetV3 recipe's 49x49 / (16, 20) pooling on a 512x1024
        # crop's 64x128 feature map at output stride 8
        pool_kernel=(49, 49),
        pool_stride=(16, 20)))
