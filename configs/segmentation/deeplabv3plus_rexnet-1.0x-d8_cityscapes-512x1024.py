# DeepLabV3+ with a ReXNet-1.0x backbone at output stride 8 on Cityscapes,
# 512x1024 crops, 80k iterations, batch 8 (4 GPUs x 2): mmseg's MobileNetV2
# DeepLabV3+ recipe (mobilenet-v2-d8_deeplabv3plus_4xb2-80k_cityscapes).
#   tools/dist_train.sh configs/segmentation/deeplabv3plus_rexnet-1.0x-d8_cityscapes-512x1024.py 4
# ImageNet weights: python tools/model_converters/rexnet_to_mm.py \
#   rexnetv1_1.0.pth checkpoints/rexnet_1.0x.pth

_base_ = 'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py'
from rexnet_mm import arch_out_channels  # noqa: E402

custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

arch = '1.0x'
# strides 4, 8, 8, 8: stages 2, 3, 5 and 6. Stage 2 is the decoder's
# low-level (c1) input, stage 5 feeds the auxiliary FCN head and stage 6 the
# ASPP, as mmseg's MobileNetV2 config taps (1, 2, 4, 6).
out_indices = (1, 2, 4, 5)
widths = arch_out_channels(arch, out_indices)
pretrained = f'checkpoints/rexnet_{arch}.pth'

model = dict(
    pretrained=None,  # the base's resnet50_v1c would go to the backbone
    backbone=dict(
        _delete_=True,
        type='ReXNet',
        arch=arch,
        out_indices=out_indices,
        output_stride=8,  # stages 4-5 dilate by 2, stage 6 by 4
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    decode_head=dict(in_channels=widths[3], c1_in_channels=widths[0]),
    auxiliary_head=dict(in_channels=widths[2]))
