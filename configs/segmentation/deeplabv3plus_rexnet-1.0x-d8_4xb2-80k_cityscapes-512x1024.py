# DeepLabV3+ with a ReXNet-1.0x backbone at output stride 8 on Cityscapes,
# 512x1024 crops, 80k iterations, batch 8 (4 GPUs x 2): mmseg's MobileNetV2
# DeepLabV3+ recipe (mobilenet-v2-d8_deeplabv3plus_4xb2-80k_cityscapes).
#   tools/dist_train.sh \
#       configs/segmentation/deeplabv3plus_rexnet-1.0x-d8_4xb2-80k_cityscapes-512x1024.py 4
# ImageNet weights: python tools/model_converters/rexnet_to_mm.py \
#   rexnetv1_1.0.pth checkpoints/rexnet_1.0x.pth
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/models/rexnet_seg.py',
]

model = dict(
    pretrained=None,  # the base's resnet50_v1c would go to the backbone
    # output stride 8: stages 4-5 dilate by 2, stage 6 by 4
    backbone=dict(_base_.rexnet_backbone, output_stride=8),
    # taps 38, 61, 128, 185 wide: the decoder reads the first and last,
    # the auxiliary head the third
    decode_head=dict(in_channels=185, c1_in_channels=38),
    auxiliary_head=dict(in_channels=128))
