# A custom image-folder dataset with ReXNet in mmpretrain: the generated shapes
# set of tools/misc/make_demo_cls.py (OUT/{train,val}/<class>/*.png).
#   python tools/misc/make_demo_cls.py data/demo_cls
#   python tools/train.py configs/demo/rexnet-w0.5_demo-cls.py
_base_ = '../classification/rexnet-1.0x_4xb128_in1k.py'

data_root = 'data/demo_cls'
num_classes = 4
demo_arch = dict(width_mult=0.5)  # a custom half-width ReXNet: quick on a CPU
model = dict(
    backbone=dict(arch=dict(_delete_=True, **demo_arch)),
    head=dict(arch=dict(_delete_=True, **demo_arch), num_classes=num_classes, dropout_rate=0.,
              topk=(1, )))
data_preprocessor = dict(num_classes=num_classes)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=16, num_workers=1,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root, data_prefix='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=1,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root, data_prefix='val',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

max_epochs = 8
optim_wrapper = dict(optimizer=dict(lr=0.1, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1,
         end=max_epochs, eta_min=0.)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=max_epochs))
auto_scale_lr = dict(enable=False)
