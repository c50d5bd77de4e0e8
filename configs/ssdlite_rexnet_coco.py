# SSDLite 320x320 with a ReXNet-1.0x backbone, in the style of mmdet's
# SSDLite-MobileNetV2 (depthwise SSD neck and head): taps at the stride-16
# stage (out_index 4) and the head conv (out_index 6), 600 epochs, batch 192.
#   python tools/train.py configs/ssdlite_rexnet_coco.py

_base_ = 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'
from rexnet_mm import arch_out_channels  # noqa: E402

# rexnet_mm.mmdet_compat: mmdet 3.3's SSDHead cannot run inference without it
custom_imports = dict(
    imports=['rexnet_mm', 'rexnet_mm.mmdet_compat'], allow_failed_imports=False)

arch = '1.0x'
out_indices = (4, 6)  # stride 16 stage, stride 32 head conv
pretrained = f'checkpoints/rexnet_{arch}.pth'
in_channels = tuple(arch_out_channels(arch, out_indices))
ssd_channels = in_channels + (512, 256, 256, 128)

model = dict(
    backbone=dict(
        _delete_=True,
        type='ReXNet',
        arch=arch,
        out_indices=out_indices,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=in_channels, out_channels=ssd_channels),
    bbox_head=dict(in_channels=ssd_channels))
