# Mask R-CNN + FPN with a ReXNet-1.0x backbone on COCO 2017: the Faster R-CNN
# config (same backbone, schedule and batch) plus mmdet's mask branch.
#   python tools/train.py configs/detection/mask-rcnn_rexnet-1.0x_fpn_1x_coco.py
_base_ = './faster-rcnn_rexnet-1.0x_fpn_1x_coco.py'

model = dict(
    type='MaskRCNN',
    data_preprocessor=dict(pad_mask=True),
    roi_head=dict(
        mask_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32]),
        mask_head=dict(
            type='FCNMaskHead',
            num_convs=4,
            in_channels=256,
            conv_out_channels=256,
            num_classes=80,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(mask_size=28)),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))


def _with_masks(pipeline):
    return [dict(t, with_mask=True) if t['type'] == 'LoadAnnotations' else t for t in pipeline]


train_pipeline = _with_masks(_base_.train_pipeline)
test_pipeline = _with_masks(_base_.test_pipeline)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(metric=['bbox', 'segm'])
test_evaluator = val_evaluator
del _with_masks
