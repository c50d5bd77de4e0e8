# The ReXNet-1.0x backbone block of the detection configs: FPN taps at strides
# 4, 8, 16, 32 (widths 38, 61, 128, 185), stem and stage 1 frozen, BN in eval
# mode, ImageNet weights from the converted file (or an official / timm file
# itself: converted on the fly). A config takes it with
#   _base_ = ['mmdet::...', '../_base_/models/rexnet_det.py']
#   model = dict(backbone=_base_.rexnet_backbone, neck=dict(in_channels=[...]))
# and switches arch together with its widths by --arch (tools/train.py).
custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

rexnet_backbone = dict(
    _delete_=True,  # replaces the base's ResNet / MobileNet settings
    type='ReXNet',
    arch='1.0x',
    out_indices=(1, 2, 4, 5),
    frozen_stages=1,
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=True,
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rexnet_1.0x.pth'))
