# configs/mask_rcnn_rexnet_fpn_coco.py on the generated demo set (polygon
# masks), with the data and schedule of faster_rcnn_rexnet_demo.py.
_base_ = '../mask_rcnn_rexnet_fpn_coco.py'
from mmengine import Config  # noqa: E402

_demo = Config.fromfile('{{fileDirname}}/faster_rcnn_rexnet_demo.py')
metainfo = _demo.metainfo
model = dict(
    backbone=_demo.model.backbone,
    roi_head=dict(bbox_head=dict(num_classes=len(metainfo['classes'])),
                  mask_head=dict(num_classes=len(metainfo['classes']))),
    train_cfg=_demo.model.train_cfg,
    test_cfg=_demo.model.test_cfg)


def _with_masks(pipeline):
    return [dict(t, with_mask=True) if t['type'] == 'LoadAnnotations' else t for t in pipeline]


train_dataloader = _demo.train_dataloader
train_dataloader.dataset.pipeline = _with_masks(_demo.train_pipeline)
val_dataloader = _demo.val_dataloader
val_dataloader.dataset.pipeline = _with_masks(_demo.test_pipeline)
test_dataloader = val_dataloader
val_evaluator = dict(_demo.val_evaluator, metric=['bbox', 'segm'])
test_evaluator = val_evaluator
train_cfg = dict(_demo.train_cfg, _delete_=True)
param_scheduler = _demo.param_scheduler
optim_wrapper = _demo.optim_wrapper
default_hooks = _demo.default_hooks
log_processor = _demo.log_processor
auto_scale_lr = _demo.auto_scale_lr
del _demo, _with_masks, Config
