#!/usr/bin/env python
"""Run a trained model on your own image(s), for mmdet, mmseg or mmpretrain configs.

Detection / instance segmentation: draws boxes (and masks) into --out-dir.
    python tools/infer.py configs/demo/faster_rcnn_rexnet_demo.py work_dirs/demo/iter_160.pth \\
        img.png --out-dir vis/
Semantic segmentation: prints the classes found and draws the predicted mask
over each image into --out-dir.
    python tools/infer.py configs/demo/fpn_rexnet_demo_seg.py work_dirs/demo_seg/iter_600.pth \\
        img.png --out-dir vis/
Classification: prints the top-k labels and scores. An exported classifier or
detector (tools/deployment/export_onnx.py) runs in onnxruntime in place of
CONFIG + CKPT.
    python tools/infer.py configs/rexnet_1.0x_imagenet.py checkpoints/rexnet_1.0x.pth img.jpg
    python tools/infer.py rexnet_1.0x.onnx img.jpg
    python tools/infer.py det.onnx img.png --out-dir vis/
"""
import argparse
import os
import os.path as osp
import sys

import rexnet_mm  # noqa: F401
from rexnet_mm.runner.checks import check_checkpoint_fits
from rexnet_mm.runner.run_cfg import add_precision_arg, apply_precision, load_config


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


def detect(cfg, checkpoint, images, out_dir, score_thr, device, precision):
    from mmdet.apis import inference_detector, init_detector
    from mmdet.registry import VISUALIZERS
    model = apply_precision(init_detector(cfg, checkpoint, device=device), precision, device)
    vis = VISUALIZERS.build(model.cfg.visualizer)
    vis.dataset_meta = model.dataset_meta
    for path in images:
        show_detections(vis, path, inference_detector(model, path), out_dir, score_thr)


def detect_onnx(det, images, out_dir, score_thr):
    """An exported detector (rexnet_mm.deploy.OnnxDetector)."""
    from mmdet.visualization import DetLocalVisualizer
    vis = DetLocalVisualizer(name='onnx')
    vis.dataset_meta = dict(classes=det.classes)
    for image in images:
        show_detections(vis, image, det([image])[0], out_dir, score_thr)


def show_detections(vis, path, result, out_dir, score_thr):
    """Print the detections of one image above ``score_thr`` and draw them
    into ``out_dir``."""
    import mmcv
    os.makedirs(out_dir, exist_ok=True)
    inst = result.pred_instances
    keep = inst.scores >= score_thr
    classes = vis.dataset_meta.get('classes') or ()
    print(f'{path}: {int(keep.sum())} detections with score >= {score_thr}')
    for box, label, score in zip(inst.bboxes[keep], inst.labels[keep], inst.scores[keep]):
        name = classes[label] if label < len(classes) else str(int(label))
        print(f'  {name:>12s} {float(score):.3f}  box {[round(float(v), 1) for v in box]}')
    img = mmcv.imread(path, channel_order='rgb')
    out = osp.join(out_dir, osp.basename(path))
    vis.add_datasample('result', img, data_sample=result, draw_gt=False, show=False,
                       pred_score_thr=score_thr, out_file=out)
    print(f'  drawn: {out}')


def segment(cfg, checkpoint, images, out_dir, device, precision):
    import numpy as np
    from mmseg.apis import inference_model, init_model, show_result_pyplot
    model = apply_precision(init_model(cfg, checkpoint, device=device), precision, device)
    classes = model.dataset_meta['classes']
    os.makedirs(out_dir, exist_ok=True)
    for path in images:
        result = inference_model(model, path)
        pred = result.pred_sem_seg.data[0].cpu().numpy()
        counts = np.bincount(pred.ravel(), minlength=len(classes))
        found = [f'{classes[i]} {100 * c / pred.size:.1f}%' for i, c in enumerate(counts) if c]
        print(f'{path}: {pred.shape[1]}x{pred.shape[0]} pixels: {", ".join(found)}')
        out = osp.join(out_dir, osp.basename(path))
        show_result_pyplot(model, path, result, draw_gt=False, show=False, out_file=out)
        print(f'  drawn: {out}')


def classify(cfg, checkpoint, images, topk, device, precision):
    from mmpretrain.apis import ImageClassificationInferencer
    inferencer = ImageClassificationInferencer(model=cfg, pretrained=checkpoint, device=device)
    apply_precision(inferencer.model, precision, device)
    for path, res in zip(images, inferencer(images)):
        scores = res['pred_scores']
        order = scores.argsort()[::-1][:topk]
        classes = inferencer.classes or []
        print(f'{path}:')
        for i in order:
            name = classes[i] if i < len(classes) else str(int(i))
            print(f'  {name:>24s} {float(scores[i]):.4f}')


def classify_onnx(clf, images, topk):
    """An exported classifier (rexnet_mm.deploy.OnnxClassifier)."""
    for image, res in zip(images, clf(images)):
        scores = res['pred_scores']
        print(f'{image}:')
        for i in scores.argsort()[::-1][:topk]:
            name = clf.classes[i] if i < len(clf.classes) else str(int(i))
            print(f'  {name:>24s} {float(scores[i]):.4f}')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('model', help='a config, or a classifier or detector exported by '
                   'tools/deployment/export_onnx.py (.onnx)')
    p.add_argument('inputs', nargs='+', metavar='[CHECKPOINT] IMAGE',
                   help="the config's checkpoint (none for an .onnx file), then the images")
    p.add_argument('--out-dir', default='work_dirs/infer',
                   help='detection and segmentation: drawn images')
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--topk', type=int, default=5)
    p.add_argument('--device', default='cpu')
    add_precision_arg(p)
    args = p.parse_args(argv)
    onnx = args.model.endswith('.onnx')
    if onnx:
        if not osp.isfile(args.model):
            raise SystemExit(f'error: ONNX file {args.model} does not exist')
        images = args.inputs
    else:
        if len(args.inputs) < 2:
            p.error('give the checkpoint and at least one image after the config')
        checkpoint, images = args.inputs[0], args.inputs[1:]
        if osp.isdir(checkpoint) or not osp.isfile(checkpoint):
            raise SystemExit(f'error: checkpoint {checkpoint} '
                             f'{"is a directory" if osp.isdir(checkpoint) else "does not exist"}')
    for path in images:
        check_image(path)
    if onnx:
        if args.precision != 'fp32':
            p.error('--precision applies to PyTorch models; an .onnx file runs as exported '
                    '(int8: tools/deployment/quantize_onnx.py)')
        from rexnet_mm.deploy import load_exported
        exported = load_exported(args.model)
        if exported.kind == 'detector':
            detect_onnx(exported, images, args.out_dir, args.score_thr)
        else:
            classify_onnx(exported, images, args.topk)
        return 0
    cfg = load_config(args.model)
    # the checkpoint must fit before the toolkit's loader (which only warns) runs
    from rexnet_mm.runner.build import build_from_config
    check_checkpoint_fits(build_from_config(cfg.copy())[0], checkpoint, 'test')
    if cfg.default_scope == 'mmdet':
        detect(cfg, checkpoint, images, args.out_dir, args.score_thr, args.device,
               args.precision)
    elif cfg.default_scope == 'mmseg':
        segment(cfg, checkpoint, images, args.out_dir, args.device, args.precision)
    else:
        classify(cfg, checkpoint, images, args.topk, args.device, args.precision)
    return 0


if __name__ == '__main__':
    sys.exit(main())
