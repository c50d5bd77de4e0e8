# Faster R-CNN + FPN with a ReXNet-1.0x backbone on COCO 2017, 1x schedule
# (12 epochs), batch 16 (8 GPUs x 2), SGD lr 0.02 -- the paper's setting.
#   python tools/train.py configs/detection/faster-rcnn_rexnet-1.0x_fpn_1x_coco.py
#   tools/dist_train.sh configs/detection/faster-rcnn_rexnet-1.0x_fpn_1x_coco.py 8 --auto-scale-lr
# ImageNet weights: python tools/model_converters/rexnet_to_mm.py \
#   rexnetv1_1.0.pth checkpoints/rexnet_1.0x.pth   (train from scratch instead:
#   --cfg-options model.backbone.init_cfg=None)
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/models/rexnet_det.py',
]

model = dict(
    backbone=_base_.rexnet_backbone,
    neck=dict(in_channels=[38, 61, 128, 185]))

# batch 16 = 8 GPUs x 2 images; --auto-scale-lr adapts lr 0.02 to other sizes
auto_scale_lr = dict(base_batch_size=16)
