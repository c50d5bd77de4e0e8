# `make demo`: configs/faster_rcnn_rexnet_fpn_coco.py pointed at the generated
# shapes set (tools/misc/make_demo_coco.py), at a CPU-friendly 256x192 size,
# trained from scratch (no ImageNet weights offline) for a few minutes.
#   python tools/misc/make_demo_coco.py data/demo_coco
#   python tools/train.py configs/demo/faster_rcnn_rexnet_demo.py
_base_ = '../faster_rcnn_rexnet_fpn_coco.py'

data_root = 'data/demo_coco/'
metainfo = dict(
    classes=('square', 'circle', 'triangle', 'star'),
    palette=[(220, 60, 50), (50, 170, 60), (50, 90, 220), (230, 200, 40)])
img_scale = (256, 192)
max_iters = 160
batch_size = 4

model = dict(
    # from scratch: BN trains, nothing frozen, no checkpoint to load
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    roi_head=dict(bbox_head=dict(num_classes=len(metainfo['classes']))),
    # few objects per image: 128 sampled RoIs (not 512) keep the RoI head,
    # which dominates a CPU step at this size, 4x cheaper
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=500),
                   rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=8),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=40),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=40, end=max_iters, eta_min=1e-4)
]
optim_wrapper = dict(optimizer=dict(lr=0.02, weight_decay=1e-4),
                     clip_grad=dict(max_norm=10, norm_type=2))
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False)
