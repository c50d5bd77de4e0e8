#!/usr/bin/env python
"""Run a trained model on your own image(s), for mmdet, mmseg or mmpretrain configs.

Detection / instance segmentation: draws boxes (and masks) into --out-dir.
    python tools/infer.py configs/demo/faster-rcnn_rexnet-1.0x_fpn_demo-coco.py \\
        work_dirs/demo/iter_160.pth \\
        img.png --out-dir vis/
Semantic segmentation: prints the classes found and draws the predicted mask
over each image into --out-dir.
    python tools/infer.py configs/demo/fpn_rexnet-1.0x_demo-seg.py \\
        work_dirs/demo_seg/iter_600.pth \\
        img.png --out-dir vis/
Classification: prints the top-k labels and scores. An exported classifier or
detector (tools/deployment/export_onnx.py) runs in onnxruntime (or OpenVINO:
--backend openvino) in place of CONFIG + CKPT.
    python tools/infer.py configs/classification/rexnet-1.0x_4xb128_in1k.py \\
        checkpoints/rexnet_1.0x.pth img.jpg
    python tools/infer.py rexnet_1.0x.onnx img.jpg
    python tools/infer.py det.onnx img.png --out-dir vis/
"""
import argparse
import os
import os.path as osp
import sys

import rexnet_mm  # noqa: F401
from rexnet_mm.deploy.backends import BACKENDS
from rexnet_mm.runner.checks import check_checkpoint_fits
from rexnet_mm.runner.cli import add_precision_arg
from rexnet_mm.runner.config import load_config
from rexnet_mm.runner.precision import apply_precision
from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_input_file, check_output_file, outputs_in
from rexnet_mm.utils.images import MAX_PIXELS, check_image


def drawing_paths(args, images, inputs):
    """Where each image's drawing goes: one distinct file per image in
    --out-dir, never one of the inputs, an existing one only with
    --overwrite; all checked before any work."""
    if osp.exists(args.out_dir) and not osp.isdir(args.out_dir):
        raise SystemExit(f'error: --out-dir {args.out_dir} is a file, not a folder')
    outs = outputs_in(args.out_dir, images)
    for out in outs:
        check_output_file(out, '--out-dir drawing', overwrite=args.overwrite, inputs=inputs)
    return outs


def detect(cfg, checkpoint, images, outs, score_thr, device, precision):
    """mmdet's DetInferencer predicts; its visualizer draws into ``outs``."""
    from mmdet.apis import DetInferencer
    inferencer = DetInferencer(model=cfg, weights=checkpoint, device=device,
                               show_progress=False)
    apply_precision(inferencer.model, precision, device)
    for path, out in zip(images, outs):
        result = inferencer(path, return_datasamples=True, no_save_vis=True)['predictions'][0]
        show_detections(inferencer.visualizer, path, result, out, score_thr)


def detect_onnx(det, images, outs, score_thr):
    """An exported detector (rexnet_mm.deploy.OnnxDetector)."""
    from mmdet.visualization import DetLocalVisualizer
    vis = DetLocalVisualizer(name='onnx')
    vis.dataset_meta = dict(classes=det.classes)
    for image, out in zip(images, outs):
        show_detections(vis, image, det(image), out, score_thr)


def show_detections(vis, path, result, out, score_thr):
    """Print the detections of one image above ``score_thr`` and draw them
    into ``out``."""
    import mmcv
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    inst = result.pred_instances
    keep = inst.scores >= score_thr
    classes = vis.dataset_meta.get('classes') or ()
    print(f'{path}: {int(keep.sum())} detections with score >= {score_thr}')
    for box, label, score in zip(inst.bboxes[keep], inst.labels[keep], inst.scores[keep]):
        name = classes[label] if label < len(classes) else str(int(label))
        print(f'  {name:>12s} {float(score):.3f}  box {[round(float(v), 1) for v in box]}')
    img = mmcv.imread(path, channel_order='rgb')
    vis.add_datasample('result', img, data_sample=result, draw_gt=False, show=False,
                       pred_score_thr=score_thr, out_file=out)
    print(f'  drawn: {out}')


def segment(cfg, checkpoint, images, outs, device, precision):
    """mmseg's MMSegInferencer predicts; its visualizer draws into ``outs``."""
    import mmcv
    import numpy as np
    from mmseg.apis import MMSegInferencer
    inferencer = MMSegInferencer(model=cfg, weights=checkpoint, device=device)
    apply_precision(inferencer.model, precision, device)
    classes = inferencer.model.dataset_meta['classes']
    for path, out in zip(images, outs):
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        result = inferencer(path, return_datasamples=True)
        pred = result.pred_sem_seg.data[0].cpu().numpy()
        counts = np.bincount(pred.ravel(), minlength=len(classes))
        found = [f'{classes[i]} {100 * c / pred.size:.1f}%' for i, c in enumerate(counts) if c]
        print(f'{path}: {pred.shape[1]}x{pred.shape[0]} pixels: {", ".join(found)}')
        inferencer.visualizer.add_datasample(osp.basename(path),
                                             mmcv.imread(path, channel_order='rgb'), result,
                                             draw_gt=False, show=False, out_file=out)
        print(f'  drawn: {out}')


def print_topk(path, scores, classes, topk):
    print(f'{path}:')
    for i in scores.argsort()[::-1][:topk]:
        name = classes[i] if i < len(classes) else str(int(i))
        print(f'  {name:>24s} {float(scores[i]):.4f}')


def classify(cfg, checkpoint, images, topk, device, precision):
    from mmpretrain.apis import ImageClassificationInferencer
    inferencer = ImageClassificationInferencer(model=cfg, pretrained=checkpoint, device=device)
    apply_precision(inferencer.model, precision, device)
    for path, res in zip(images, inferencer(images)):
        print_topk(path, res['pred_scores'], inferencer.classes or [], topk)


def classify_onnx(clf, images, topk):
    """An exported classifier (rexnet_mm.deploy.OnnxClassifier)."""
    for image, res in zip(images, clf(images)):
        print_topk(image, res['pred_scores'], clf.classes, topk)


def parser():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('model', help='a config, or a classifier or detector exported by '
                   'tools/deployment/export_onnx.py (.onnx)')
    p.add_argument('inputs', nargs='+', metavar='[CHECKPOINT] IMAGE',
                   help="the config's checkpoint (none for an .onnx file), then the images")
    p.add_argument('--out-dir', default='work_dirs/infer',
                   help='detection and segmentation: drawn images, one per image, named after '
                   'it (x.jpg, x-2.jpg for a second x.jpg)')
    p.add_argument('--overwrite', action='store_true', help='replace existing drawings')
    p.add_argument('--max-pixels', type=int, default=MAX_PIXELS,
                   help=f'refuse larger images, from their header (default {MAX_PIXELS})')
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--topk', type=int, default=5)
    p.add_argument('--device', default='cpu')
    add_precision_arg(p)
    p.add_argument('--backend', choices=BACKENDS,
                   help='the runtime that runs an .onnx file (default onnxruntime)')
    return p


@one_line_errors
def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    if args.max_pixels < 1:
        p.error(f'--max-pixels must be >= 1, but got {args.max_pixels}')
    onnx = args.model.endswith('.onnx')
    if onnx:
        check_input_file(args.model, 'ONNX file')
        images, inputs = args.inputs, [args.model]
    else:
        if len(args.inputs) < 2:
            p.error('give the checkpoint and at least one image after the config')
        checkpoint, images = args.inputs[0], args.inputs[1:]
        check_input_file(checkpoint, 'checkpoint')
        inputs = [args.model, checkpoint]
    for path in images:
        check_image(path, max_pixels=args.max_pixels)
    inputs += images
    if onnx:  # --precision bf16: OpenVINO's (rexnet_mm.deploy.backends.check_precision)
        from rexnet_mm.deploy import load_exported
        exported = load_exported(args.model, backend=args.backend or 'onnxruntime',
                                 max_pixels=args.max_pixels, precision=args.precision)
        if exported.kind == 'detector':
            detect_onnx(exported, images, drawing_paths(args, images, inputs), args.score_thr)
        else:
            classify_onnx(exported, images, args.topk)
        return 0
    if args.backend:
        p.error(f'--backend runs .onnx files; {args.model} runs in PyTorch (export it with '
                f'tools/deployment/export_onnx.py)')
    cfg = load_config(args.model)
    drawing = cfg.default_scope in ('mmdet', 'mmseg')
    outs = drawing_paths(args, images, inputs) if drawing else None
    # the checkpoint must fit before the toolkit's loader (which only warns) runs
    from rexnet_mm.runner.build import build_from_config
    check_checkpoint_fits(build_from_config(cfg.copy())[0], checkpoint, 'test')
    if cfg.default_scope == 'mmdet':
        detect(cfg, checkpoint, images, outs, args.score_thr, args.device, args.precision)
    elif cfg.default_scope == 'mmseg':
        segment(cfg, checkpoint, images, outs, args.device, args.precision)
    else:
        classify(cfg, checkpoint, images, args.topk, args.device, args.precision)
    return 0


if __name__ == '__main__':
    sys.exit(main())
