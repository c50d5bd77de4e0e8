# Semantic FPN with a ReXNet-1.0x backbone on ADE20K (150 classes), 512x512
# crops, 160k iterations, batch 16 (4 GPUs x 4): mmseg's FPN recipe, the one
# RepViT and PoolFormer report on ADE20K.
#   tools/dist_train.sh configs/segmentation/fpn_rexnet-1.0x_4xb4-160k_ade20k-512x512.py 4
# ImageNet weights: python tools/model_converters/rexnet_to_mm.py \
#   rexnetv1_1.0.pth checkpoints/rexnet_1.0x.pth   (train from scratch instead:
#   --cfg-options model.backbone.init_cfg=None)
_base_ = [
    'mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py',
    '../_base_/models/rexnet_seg.py',
]

model = dict(
    # the base's open-mmlab://resnet50_v1c: EncoderDecoder would hand it to
    # the backbone as `pretrained=` (ReXNet loads through init_cfg instead)
    pretrained=None,
    backbone=_base_.rexnet_backbone,  # strides 4, 8, 16, 32
    neck=dict(in_channels=[38, 61, 128, 185]))
