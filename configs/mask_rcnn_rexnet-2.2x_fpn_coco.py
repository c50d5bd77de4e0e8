# Mask R-CNN + FPN with ReXNet-2.2x: the 2.2x Faster R-CNN backbone on the
# 1.0x Mask R-CNN recipe.

_base_ = './mask_rcnn_rexnet_fpn_coco.py'
from rexnet_mm import arch_out_channels  # noqa: E402

arch = '2.2x'
model = dict(
    backbone=dict(
        arch=arch, init_cfg=dict(checkpoint=f'checkpoints/rexnet_{arch}.pth')),
    neck=dict(in_channels=arch_out_channels(arch, _base_.out_indices)))
