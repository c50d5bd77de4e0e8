# configs/ssdlite_rexnet_coco.py (its own 320x320 SSD pipeline) on the
# generated demo set, with the schedule of faster_rcnn_rexnet_demo.py.
_base_ = '../ssdlite_rexnet_coco.py'
from mmengine import Config  # noqa: E402

_demo = Config.fromfile('{{fileDirname}}/faster_rcnn_rexnet_demo.py')
metainfo = _demo.metainfo
model = dict(
    backbone=dict(init_cfg=None),
    bbox_head=dict(num_classes=len(metainfo['classes'])))
_ds = {k: _demo.train_dataloader.dataset[k]
       for k in ('data_root', 'metainfo', 'ann_file', 'data_prefix', 'filter_cfg')}
train_dataloader = dict(
    batch_size=_demo.batch_size, num_workers=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(times=1, dataset=_ds))
val_dataloader = dict(
    batch_size=4, num_workers=1,
    dataset={k: _demo.val_dataloader.dataset[k]
             for k in ('data_root', 'metainfo', 'ann_file', 'data_prefix')})
test_dataloader = val_dataloader
val_evaluator = _demo.val_evaluator
test_evaluator = val_evaluator
train_cfg = dict(_demo.train_cfg, _delete_=True)
param_scheduler = _demo.param_scheduler
optim_wrapper = dict(optimizer=dict(lr=_demo.optim_wrapper.optimizer.lr))
default_hooks = _demo.default_hooks
log_processor = _demo.log_processor
auto_scale_lr = _demo.auto_scale_lr
del _demo, _ds, Config
