# configs/detection/ssdlite_rexnet-1.0x_8xb24-600e_coco.py (its own 320x320
# SSD pipeline) on the generated demo set, with the schedule of
# faster-rcnn_rexnet-1.0x_fpn_demo-coco.py.
#   python tools/train.py configs/demo/ssdlite_rexnet-1.0x_demo-coco.py
_base_ = [
    '../detection/ssdlite_rexnet-1.0x_8xb24-600e_coco.py',
    '../_base_/datasets/demo_coco.py',
]

model = dict(
    backbone=dict(init_cfg=None),
    bbox_head=dict(num_classes=4))
train_dataloader = dict(
    batch_size=_base_.demo_batch_size, num_workers=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(times=1, dataset=_base_.demo_train_dataset))
val_dataloader = dict(batch_size=4, num_workers=1, dataset=_base_.demo_val_dataset)
test_dataloader = val_dataloader
val_evaluator = _base_.demo_val_evaluator
test_evaluator = val_evaluator

train_cfg = _base_.demo_train_cfg
param_scheduler = _base_.demo_param_scheduler
optim_wrapper = dict(optimizer=dict(lr=0.02))
default_hooks = _base_.demo_default_hooks
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False)
