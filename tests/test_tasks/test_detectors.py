"""The detection configs: they build, their detectors train (loss forward and
backward), infer on odd-sized images and run a short training with evaluation
through tools/train.py."""
import glob
import os.path as osp

import pytest
import torch

from helpers.tool import ROOT  # noqa: E402

pytest.importorskip('mmdet')

from mmengine.config import Config  # noqa: E402

from rexnet_mm.models import build_schedule  # noqa: E402
from rexnet_mm.runner.build import build_from_config, demo_det_batch  # noqa: E402
from helpers.tool import DEMO_DETECTORS, repo_configs  # noqa: E402

# the COCO configs: every mmdet config but the demo ones (found by their base chain)
DET_CONFIGS = [p for p in repo_configs('mmdet') if osp.basename(osp.dirname(p)) != 'demo']
DEMOS = DEMO_DETECTORS


@pytest.mark.parametrize('path', DET_CONFIGS, ids=osp.basename)
def test_config_builds_with_backbone_widths(path):
    cfg = Config.fromfile(path)
    bb = cfg.model.backbone
    assert bb.type == 'ReXNet' and bb.init_cfg.type == 'Pretrained'
    assert bb.init_cfg.checkpoint == f'checkpoints/rexnet_{bb.arch}.pth'
    chans = build_schedule(bb.arch).out_channels
    neck_in = list(cfg.model.neck.in_channels)
    assert neck_in == [chans[i] for i in bb.out_indices]
    model, scope = build_from_config(cfg)
    assert scope == 'mmdet'
    assert model.backbone.out_channels == neck_in
    if 'faster' in path or 'mask' in path:
        assert cfg.auto_scale_lr.base_batch_size == 16
        assert cfg.optim_wrapper.optimizer.lr == 0.02
        assert cfg.train_cfg.max_epochs == 12
    if 'mask' in path:
        assert cfg.model.type == 'MaskRCNN' and 'segm' in cfg.val_evaluator.metric


def test_paper_param_counts():
    """Faster / Mask R-CNN ReXNet-1.0x within 3% of the paper's 20.7M / 23.3M."""
    for name, paper in (('faster-rcnn_rexnet-1.0x_fpn_1x_coco.py', 20.7e6),
                        ('mask-rcnn_rexnet-1.0x_fpn_1x_coco.py', 23.3e6)):
        model, _ = build_from_config(osp.join(ROOT, 'configs', 'detection', name))
        n = sum(p.numel() for p in model.parameters())
        assert abs(n - paper) / paper <= 0.03, (name, n)


@pytest.mark.parametrize('kind', list(DEMOS))
def test_loss_backward_and_odd_size_inference(kind):
    torch.manual_seed(0)
    model, _ = build_from_config(osp.join(ROOT, DEMOS[kind]))
    h, w = (160, 192) if kind != 'ssdlite' else (320, 320)
    model.train()
    batch = demo_det_batch(model, 2, h, w, num_gt=3, num_classes=4, with_mask=kind == 'mask')
    losses = model(**batch, mode='loss')
    total = sum(v.sum() if isinstance(v, torch.Tensor) else sum(x.sum() for x in v)
                for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    if kind == 'mask':
        assert 'loss_mask' in losses
    # inference on a 150x203 image (not a multiple of 32): boxes inside the image
    model.eval()
    oh, ow = 150, 203
    if kind != 'ssdlite':  # the data preprocessor pads to 32 (batch_input_shape)
        batch = demo_det_batch(model, 1, oh, ow, training=False)
    else:  # SSDLite sees the image resized to 320x320
        batch = demo_det_batch(model, 1, 320, 320, training=False)
        batch['data_samples'][0].set_metainfo(dict(ori_shape=(oh, ow),
                                                   scale_factor=(320 / ow, 320 / oh)))
    x, sample = batch['inputs'], batch['data_samples'][0]
    model.test_cfg.get('rcnn', model.test_cfg)['score_thr'] = 0.0
    with torch.no_grad():
        res = model.predict(x, [sample])[0].pred_instances
    assert len(res.bboxes) > 0
    assert (res.bboxes[:, 0::2] >= 0).all() and (res.bboxes[:, 0::2] <= ow).all()
    assert (res.bboxes[:, 1::2] >= 0).all() and (res.bboxes[:, 1::2] <= oh).all()
    if kind == 'mask':
        assert res.masks.shape[-2:] == (oh, ow)


@pytest.mark.parametrize('kind', list(DEMOS))
def test_short_training_with_evaluation(kind, short_trained, tiny_coco):
    work_dir, out = short_trained(kind)
    assert 'Iter(train) [2/2]' in out
    assert 'coco/bbox_mAP:' in out
    if kind == 'mask':
        assert 'coco/segm_mAP:' in out
    if kind == 'faster':
        _mmdet_apis_agree(osp.join(ROOT, DEMOS[kind]), str(work_dir / 'iter_2.pth'),
                          str(next((tiny_coco / 'coco' / 'val').glob('*.png'))))


def _mmdet_apis_agree(config, checkpoint, image):
    """mmdet's own inference APIs run our config and checkpoint: DetInferencer
    and init_detector + inference_detector give the same detections."""
    from mmdet.apis import DetInferencer, inference_detector, init_detector
    cfg = Config.fromfile(config)
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    inferencer = DetInferencer(model=cfg, weights=checkpoint, device='cpu', show_progress=False)
    pred = inferencer(image, return_datasamples=True)['predictions'][0].pred_instances
    ref = inference_detector(init_detector(cfg, checkpoint, device='cpu'), image).pred_instances
    assert len(ref.bboxes) > 0
    torch.testing.assert_close(pred.bboxes, ref.bboxes)
    torch.testing.assert_close(pred.scores, ref.scores)
    assert torch.equal(pred.labels, ref.labels)


# every config a user runs (the _base_ files are parts of them)
ALL_CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                     if '_base_' not in p)


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_every_config_parses_and_dumps(path):
    """The Runner dumps the config: nothing unprintable (helpers, classes) may stay in it."""
    cfg = Config.fromfile(path)
    text = cfg.pretty_text
    assert '<function' not in text and '<class' not in text
    assert cfg.default_scope in ('mmdet', 'mmpretrain', 'mmseg')
