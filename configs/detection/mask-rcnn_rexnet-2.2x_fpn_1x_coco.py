# Mask R-CNN + FPN with ReXNet-2.2x: the recipe of
# mask-rcnn_rexnet-1.0x_fpn_1x_coco.py with the 2.2x backbone and its widths.
#   python tools/train.py configs/detection/mask-rcnn_rexnet-2.2x_fpn_1x_coco.py
_base_ = './mask-rcnn_rexnet-1.0x_fpn_1x_coco.py'

model = dict(
    backbone=dict(arch='2.2x', init_cfg=dict(checkpoint='checkpoints/rexnet_2.2x.pth')),
    neck=dict(in_channels=[85, 134, 283, 406]))
