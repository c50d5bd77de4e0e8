# Fine-grained transfer from ImageNet weights (the paper's section 5 setting),
# shared by the per-dataset configs beside this file. Recipe: the ImageNet
# model with a new classifier, initialised from the converted ImageNet
# checkpoint; 224 bicubic random-resized crops and flips (resize-256 + centre
# crop for evaluation); SGD nesterov lr 0.01 (batch 64, --auto-scale-lr),
# weight decay 1e-4, 1 warm-up epoch then cosine over 100 epochs, label
# smoothing 0.1, dropout 0.2.
_base_ = '../rexnet-1.0x_4xb128_in1k.py'

pretrained = 'checkpoints/rexnet_1.0x.pth'
num_classes = 1000  # set by each dataset config
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=64, num_workers=8,
                        dataset=dict(_delete_=True, pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, num_workers=8,
                      dataset=dict(_delete_=True, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 100
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1,
         end=max_epochs, eta_min=0.)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
auto_scale_lr = dict(base_batch_size=64)
