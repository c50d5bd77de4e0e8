# The generated shapes set of tools/misc/make_demo_coco.py (COCO layout, 4
# classes, polygon masks) and a 160-iteration CPU schedule, shared by the
# demo detection configs. Every name starts with `demo_`: it sits beside an
# mmdet base, whose keys a second base must not repeat, and a config takes
# what it needs, e.g. `train_cfg = _base_.demo_train_cfg`.
demo_data_root = 'data/demo_coco/'
demo_metainfo = dict(
    classes=('square', 'circle', 'triangle', 'star'),
    palette=[(220, 60, 50), (50, 170, 60), (50, 90, 220), (230, 200, 40)])
demo_img_scale = (256, 192)  # CPU-friendly
demo_batch_size = 4
demo_max_iters = 160

demo_train_dataset = dict(
    data_root=demo_data_root,
    metainfo=demo_metainfo,
    ann_file='annotations/instances_train.json',
    data_prefix=dict(img='train/'),
    filter_cfg=dict(filter_empty_gt=True, min_size=8))
demo_val_dataset = dict(
    data_root=demo_data_root,
    metainfo=demo_metainfo,
    ann_file='annotations/instances_val.json',
    data_prefix=dict(img='val/'))
demo_val_evaluator = dict(ann_file=demo_data_root + 'annotations/instances_val.json')

demo_train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=demo_max_iters,
                      val_interval=demo_max_iters)
demo_param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=40),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=40, end=demo_max_iters, eta_min=1e-4)
]
demo_default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(by_epoch=False, interval=demo_max_iters, max_keep_ckpts=1))

# the pipelines and loaders of the demo configs at demo_img_scale (boxes; Mask R-CNN
# adds with_mask=True to its own), e.g. `train_dataloader = _base_.demo_train_dataloader`
demo_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=demo_img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
demo_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=demo_img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
demo_train_dataloader = dict(
    batch_size=demo_batch_size,
    num_workers=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(demo_train_dataset, pipeline=demo_train_pipeline))
demo_val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(demo_val_dataset, pipeline=demo_test_pipeline))
