# Faster R-CNN + FPN with ReXNet-0.9x: the recipe of
# faster-rcnn_rexnet-1.0x_fpn_1x_coco.py with the 0.9x backbone and its widths.
#   python tools/train.py configs/detection/faster-rcnn_rexnet-0.9x_fpn_1x_coco.py
_base_ = './faster-rcnn_rexnet-1.0x_fpn_1x_coco.py'

model = dict(
    backbone=dict(arch='0.9x', init_cfg=dict(checkpoint='checkpoints/rexnet_0.9x.pth')),
    neck=dict(in_channels=[36, 56, 117, 168]))
