# ReXNet-1.0x on ImageNet-1k with the paper's recipe (77.9% top-1 released):
# SGD nesterov lr 0.5 at batch 512 (4 GPUs x 128; --auto-scale-lr for other
# sizes), 5 warm-up epochs then cosine, weight decay 1e-5, label smoothing
# 0.1, dropout 0.2, RandAugment (m9, mstd 0.5), random erasing 0.2, 400
# epochs (the release's command), bicubic 224 crops, resize-256 evaluation.
# Data: data/imagenet/{train,val}/... in mmpretrain's layout.
#   tools/dist_train.sh configs/classification/rexnet-1.0x_4xb128_in1k.py 4
#   python tools/test.py configs/classification/rexnet-1.0x_4xb128_in1k.py \
#       checkpoints/rexnet_1.0x.pth
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

arch = '1.0x'
drop_path_rate = 0.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ReXNet', arch=arch, out_indices=(6, ),
                  drop_path_rate=drop_path_rate),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='ReXNetClsHead',
        num_classes=1000,
        arch=arch,  # the classifier's widths follow the arch (lite: 1024 hidden)
        dropout_rate=0.2,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5)))

train_pipeline = [
    dict(t, erase_prob=0.2) if t['type'] == 'RandomErasing' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(batch_size=128, num_workers=8,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128, num_workers=8)
test_dataloader = val_dataloader

max_epochs = 400
warmup_epochs = 5
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, nesterov=True, weight_decay=1e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, eta_min=0.)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=512)
