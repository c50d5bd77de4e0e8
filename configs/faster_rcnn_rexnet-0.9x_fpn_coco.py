# Faster R-CNN + FPN with ReXNet-0.9x (the paper's other rows); see
# faster_rcnn_rexnet_fpn_coco.py for the recipe.

_base_ = './faster_rcnn_rexnet_fpn_coco.py'
from rexnet_mm import arch_out_channels  # noqa: E402

arch = '0.9x'
model = dict(
    backbone=dict(
        arch=arch, init_cfg=dict(checkpoint=f'checkpoints/rexnet_{arch}.pth')),
    neck=dict(in_channels=arch_out_channels(arch, _base_.out_indices)))
