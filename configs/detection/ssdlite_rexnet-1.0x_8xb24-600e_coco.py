# SSDLite 320x320 with a ReXNet-1.0x backbone, in the style of mmdet's
# SSDLite-MobileNetV2 (depthwise SSD neck and head): taps at the stride-16
# stage (out_index 4, 128 channels) and the head conv (out_index 6, 1280
# channels), 600 epochs, batch 192 (8 GPUs x 24).
#   python tools/train.py configs/detection/ssdlite_rexnet-1.0x_8xb24-600e_coco.py
_base_ = [
    'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py',
    '../_base_/models/rexnet_det.py',
]
# rexnet_mm.mmdet_compat: mmdet 3.3's SSDHead cannot run inference without it
custom_imports = dict(
    imports=['rexnet_mm', 'rexnet_mm.mmdet_compat'], allow_failed_imports=False)

# the taps' widths, then the extra layers the SSD neck adds
ssd_channels = (128, 1280, 512, 256, 256, 128)
model = dict(
    # all stages train, BN too (as mmdet's SSDLite-MobileNetV2)
    backbone=dict(_base_.rexnet_backbone, out_indices=(4, 6), frozen_stages=-1,
                  norm_eval=False),
    neck=dict(in_channels=(128, 1280), out_channels=ssd_channels),
    bbox_head=dict(in_channels=ssd_channels))
