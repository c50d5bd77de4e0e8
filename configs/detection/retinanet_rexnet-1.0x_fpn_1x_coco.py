# RetinaNet + FPN with a ReXNet-1.0x backbone on COCO 2017, 1x schedule
# (12 epochs), batch 16 (8 GPUs x 2), SGD lr 0.01 -- mmdet's RetinaNet R50 setting.
#   python tools/train.py configs/detection/retinanet_rexnet-1.0x_fpn_1x_coco.py
#   tools/dist_train.sh configs/detection/retinanet_rexnet-1.0x_fpn_1x_coco.py 8 --auto-scale-lr
# ImageNet weights: python tools/model_converters/rexnet_to_mm.py \
#   rexnetv1_1.0.pth checkpoints/rexnet_1.0x.pth   (train from scratch instead:
#   --cfg-options model.backbone.init_cfg=None)
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    '../_base_/models/rexnet_det.py',
]

# the FPN starts at stride 8 (start_level=1) and adds P6, P7 on its input, as for R50
model = dict(
    backbone=_base_.rexnet_backbone,
    neck=dict(in_channels=[38, 61, 128, 185]))

auto_scale_lr = dict(base_batch_size=16)
