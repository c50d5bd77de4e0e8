# Faster R-CNN + FPN with a ReXNet-1.0x backbone on COCO 2017, 1x schedule
# (12 epochs), batch 16 (8 GPUs x 2), SGD lr 0.02 -- the paper's setting.
#   python tools/train.py configs/faster_rcnn_rexnet_fpn_coco.py
#   tools/dist_train.sh configs/faster_rcnn_rexnet_fpn_coco.py 8 --auto-scale-lr
# ImageNet weights: python tools/model_converters/rexnet_to_mm.py \
#   rexnetv1_1.0.pth checkpoints/rexnet_1.0x.pth   (train from scratch instead:
#   --cfg-options model.backbone.init_cfg=None)

_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
from rexnet_mm import arch_out_channels  # noqa: E402

custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

arch = '1.0x'
out_indices = (1, 2, 4, 5)  # strides 4, 8, 16, 32
pretrained = f'checkpoints/rexnet_{arch}.pth'

model = dict(
    backbone=dict(
        _delete_=True,
        type='ReXNet',
        arch=arch,
        out_indices=out_indices,
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=arch_out_channels(arch, out_indices)))

# batch 16 = 8 GPUs x 2 images; --auto-scale-lr adapts lr 0.02 to other sizes
auto_scale_lr = dict(base_batch_size=16)
