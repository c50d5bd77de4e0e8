#!/usr/bin/env python
"""Run a trained model on your own image(s), for mmdet or mmpretrain configs.

Detection / instance segmentation: draws boxes (and masks) into --out-dir.
    python tools/infer.py configs/demo/faster_rcnn_rexnet_demo.py work_dirs/demo/iter_160.pth \\
        img.png --out-dir vis/
Classification: prints the top-k labels and scores.
    python tools/infer.py configs/rexnet_1.0x_imagenet.py checkpoints/rexnet_1.0x.pth img.jpg
"""
import argparse
import os
import os.path as osp
import sys

import rexnet_mm  # noqa: F401
from rexnet_mm.utils.run_cfg import load_config


def check_image(path):
    """Stop with one line unless ``path`` is a readable image file."""
    if osp.isdir(path):
        raise SystemExit(f'error: image {path} is a directory; pass image files '
                         f'(e.g. {osp.join(path, "*.jpg")})')
    if not osp.isfile(path):
        raise SystemExit(f'error: image {path} does not exist')
    if osp.getsize(path) == 0:
        raise SystemExit(f'error: image {path} is an empty file')
    import mmcv
    try:
        img = mmcv.imread(path)
    except Exception as e:
        img, why = None, f' ({type(e).__name__}: {str(e).strip()[:120]})'
    else:
        why = ''
    if img is None or img.size == 0:
        raise SystemExit(f'error: image {path} cannot be decoded as an image{why}; '
                         f'JPEG, PNG, BMP, TIFF and WebP files are read')


def detect(cfg, checkpoint, images, out_dir, score_thr, device):
    import mmcv
    from mmdet.apis import inference_detector, init_detector
    from mmdet.registry import VISUALIZERS
    model = init_detector(cfg, checkpoint, device=device)
    vis = VISUALIZERS.build(model.cfg.visualizer)
    vis.dataset_meta = model.dataset_meta
    os.makedirs(out_dir, exist_ok=True)
    for path in images:
        result = inference_detector(model, path)
        inst = result.pred_instances
        keep = inst.scores >= score_thr
        classes = model.dataset_meta.get('classes', ())
        print(f'{path}: {int(keep.sum())} detections with score >= {score_thr}')
        for box, label, score in zip(inst.bboxes[keep], inst.labels[keep], inst.scores[keep]):
            name = classes[label] if label < len(classes) else str(int(label))
            print(f'  {name:>12s} {float(score):.3f}  box {[round(float(v), 1) for v in box]}')
        img = mmcv.imread(path, channel_order='rgb')
        out = osp.join(out_dir, osp.basename(path))
        vis.add_datasample('result', img, data_sample=result, draw_gt=False, show=False,
                           pred_score_thr=score_thr, out_file=out)
        print(f'  drawn: {out}')


def classify(cfg, checkpoint, images, topk, device):
    from mmpretrain.apis import ImageClassificationInferencer
    inferencer = ImageClassificationInferencer(model=cfg, pretrained=checkpoint, device=device)
    for path, res in zip(images, inferencer(images)):
        scores = res['pred_scores']
        order = scores.argsort()[::-1][:topk]
        classes = inferencer.classes or []
        print(f'{path}:')
        for i in order:
            name = classes[i] if i < len(classes) else str(int(i))
            print(f'  {name:>24s} {float(scores[i]):.4f}')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('images', nargs='+')
    p.add_argument('--out-dir', default='work_dirs/infer', help='detection: drawn images')
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--topk', type=int, default=5)
    p.add_argument('--device', default='cpu')
    args = p.parse_args(argv)
    if osp.isdir(args.checkpoint) or not osp.isfile(args.checkpoint):
        raise SystemExit(f'error: checkpoint {args.checkpoint} '
                         f'{"is a directory" if osp.isdir(args.checkpoint) else "does not exist"}')
    for path in args.images:
        check_image(path)
    cfg = load_config(args.config)
    if cfg.default_scope == 'mmdet':
        detect(cfg, args.checkpoint, args.images, args.out_dir, args.score_thr, args.device)
    else:
        classify(cfg, args.checkpoint, args.images, args.topk, args.device)
    return 0


if __name__ == '__main__':
    sys.exit(main())
