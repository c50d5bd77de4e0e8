# The ReXNet-1.0x backbone block of the segmentation configs: taps at strides
# 4, 8, 16, 32 (widths 38, 61, 128, 185), SyncBN training, ImageNet weights
# from the converted file (or an official / timm file: converted on the fly).
# A config takes it with
#   _base_ = ['mmseg::...', '../_base_/models/rexnet_seg.py']
#   model = dict(pretrained=None, backbone=dict(_base_.rexnet_backbone, ...))
# (`pretrained=None`: mmseg's EncoderDecoder would hand the base's ResNet
# weights to the backbone).
custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

rexnet_backbone = dict(
    _delete_=True,  # replaces the base's ResNet / MobileNet settings
    type='ReXNet',
    arch='1.0x',
    out_indices=(1, 2, 4, 5),
    output_stride=32,
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    norm_eval=False,
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rexnet_1.0x.pth'))
