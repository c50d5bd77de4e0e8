# configs/detection/mask-rcnn_rexnet-1.0x_fpn_1x_coco.py on the generated demo
# set (polygon masks), with the data, model changes and schedule of
# faster-rcnn_rexnet-1.0x_fpn_demo-coco.py.
#   python tools/train.py configs/demo/mask-rcnn_rexnet-1.0x_fpn_demo-coco.py
_base_ = [
    '../detection/mask-rcnn_rexnet-1.0x_fpn_1x_coco.py',
    '../_base_/datasets/demo_coco.py',
]

model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    roi_head=dict(bbox_head=dict(num_classes=4), mask_head=dict(num_classes=4)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=500),
                   rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))

# the demo pipelines with masks
train_pipeline = [
    dict(t, with_mask=True) if t['type'] == 'LoadAnnotations' else t
    for t in _base_.demo_train_pipeline
]
test_pipeline = [
    dict(t, with_mask=True) if t['type'] == 'LoadAnnotations' else t
    for t in _base_.demo_test_pipeline
]
train_dataloader = dict(
    _base_.demo_train_dataloader,
    dataset=dict(_base_.demo_train_dataset, pipeline=train_pipeline))
val_dataloader = dict(
    _base_.demo_val_dataloader, dataset=dict(_base_.demo_val_dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_base_.demo_val_evaluator, metric=['bbox', 'segm'])
test_evaluator = val_evaluator

train_cfg = _base_.demo_train_cfg
param_scheduler = _base_.demo_param_scheduler
optim_wrapper = dict(optimizer=dict(lr=0.02, weight_decay=1e-4),
                     clip_grad=dict(max_norm=10, norm_type=2))
default_hooks = _base_.demo_default_hooks
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False)
