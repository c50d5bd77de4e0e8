# `make demo`: configs/detection/faster-rcnn_rexnet-1.0x_fpn_1x_coco.py on the
# generated shapes set (tools/misc/make_demo_coco.py) at 256x192, trained from
# scratch (no ImageNet weights offline) for a few minutes.
#   python tools/misc/make_demo_coco.py data/demo_coco
#   python tools/train.py configs/demo/faster-rcnn_rexnet-1.0x_fpn_demo-coco.py
_base_ = [
    '../detection/faster-rcnn_rexnet-1.0x_fpn_1x_coco.py',
    '../_base_/datasets/demo_coco.py',
]

model = dict(
    # from scratch: BN trains, nothing frozen, no checkpoint to load
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    roi_head=dict(bbox_head=dict(num_classes=4)),
    # few objects per image: 128 sampled RoIs (not 512) keep the RoI head,
    # which dominates a CPU step at this size, 4x cheaper
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=500),
                   rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))

train_pipeline = _base_.demo_train_pipeline
test_pipeline = _base_.demo_test_pipeline
train_dataloader = _base_.demo_train_dataloader
val_dataloader = _base_.demo_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.demo_val_evaluator
test_evaluator = val_evaluator

train_cfg = _base_.demo_train_cfg
param_scheduler = _base_.demo_param_scheduler
optim_wrapper = dict(optimizer=dict(lr=0.02, weight_decay=1e-4),
                     clip_grad=dict(max_norm=10, norm_type=2))
default_hooks = _base_.demo_default_hooks
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False)
