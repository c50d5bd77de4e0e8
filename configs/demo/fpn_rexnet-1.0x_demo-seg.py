# `make demo-seg`: configs/segmentation/fpn_rexnet-1.0x_4xb4-160k_ade20k-512x512.py (Semantic
# FPN, ReXNet-1.0x) pointed at the generated shapes set of
# tools/misc/make_demo_seg.py (mmseg's custom-dataset layout), 128x160 images,
# trained from scratch (no ImageNet weights offline), 200 iterations of batch 8:
# about 4 minutes on 2 CPU cores.
#   python tools/misc/make_demo_seg.py data/demo_seg
#   python tools/train.py configs/demo/fpn_rexnet-1.0x_demo-seg.py
_base_ = '../segmentation/fpn_rexnet-1.0x_4xb4-160k_ade20k-512x512.py'

data_root = 'data/demo_seg'
metainfo = dict(
    classes=('background', 'square', 'circle', 'triangle', 'star'),
    palette=[(0, 0, 0), (220, 60, 50), (50, 170, 60), (50, 90, 220), (230, 200, 40)])
max_iters = 200
batch_size = 8

model = dict(
    # the images are 128x160: pad to a multiple of 32, not to 512x512
    data_preprocessor=dict(size=None, size_divisor=32),
    # from scratch: plain BN (one process), no checkpoint to load
    backbone=dict(norm_cfg=dict(type='BN', requires_grad=True), init_cfg=None),
    decode_head=dict(num_classes=len(metainfo['classes']),
                     norm_cfg=dict(type='BN', requires_grad=True)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
dataset = dict(type='BaseSegDataset', data_root=data_root, metainfo=metainfo,
               img_suffix='.png', seg_map_suffix='.png')
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=1,
    dataset=dict(_delete_=True, **dataset, pipeline=train_pipeline,
                 data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train')))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(_delete_=True, **dataset, pipeline=test_pipeline,
                 data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val')))
test_dataloader = val_dataloader

train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, by_epoch=False, begin=20, end=max_iters)
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
