"""The detector half of :mod:`.export`: the options a detector takes, its
graph module (:class:`.detector.DetectorExport`), its metadata, the
TorchScript export (data-dependent NMS) and the check against mmdet's own
``test_step``."""
import os.path as osp
import warnings

import torch

from .errors import DeployError


def check_options(opts, detector: bool) -> None:
    """Refuse the options that do not apply to what is exported."""
    if detector:
        if opts.exporter == 'dynamo':
            raise DeployError('detectors export with --exporter torchscript (their NMS keeps a '
                              'data-dependent number of boxes)')
        if opts.batch != 1 or opts.softmax:
            raise DeployError('detectors export at batch 1 and output detections (--batch and '
                              '--softmax are for classifiers)')
    elif opts.max_dets is not None or opts.score_thr is not None:
        raise DeployError('--max-dets and --score-thr apply to detectors')


def default_shape(pipeline, model):
    """The test pipeline's Resize scale (H, W), padded as the data
    preprocessor pads (a static graph's input size)."""
    d = getattr(model.data_preprocessor, 'pad_size_divisor', 1) or 1
    for t in pipeline:
        if t.get('type') == 'Resize' and t.get('scale'):
            scale = t['scale']
            w, h = (scale, scale) if isinstance(scale, int) else scale
            return -(-h // d) * d, -(-w // d) * d
    return 320, 320


def example_input(opts, h: int, w: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    img = torch.rand(1, 3, h, w, generator=g) * 255 if opts.preprocess else \
        torch.randn(1, 3, h, w, generator=g)
    return img, torch.tensor([float(h), float(w)])


def check_classes(classes, model, config: str) -> None:
    """A detector's labels index its class names: the file must name one
    class per label the head can return."""
    head = getattr(model, 'bbox_head', None) or getattr(
        getattr(model, 'roi_head', None), 'bbox_head', None)
    num = getattr(head, 'num_classes', None)
    if num is not None and len(classes) != num:
        raise DeployError(f'{config}: the detector predicts {num} classes, but the checkpoint '
                          f'and the test dataset name {len(classes)} ({classes[:3]}...); set '
                          f'test_dataloader.dataset.metainfo.classes')


def prepare(opts, cfg, model, pipeline, config: str, classes):
    """(graph module, output names, example inputs, (H, W), metadata)."""
    from .detector import DetectorExport
    try:
        net = DetectorExport(model, opts.max_dets, opts.score_thr, opts.preprocess).eval()
    except ValueError as e:
        raise DeployError(f'{config}: {e}') from None
    check_classes(classes, model, config)
    h, w = opts.shape or default_shape(pipeline, model)
    rcnn = cfg.model.test_cfg.get('rcnn', {})
    extra = dict(detector=net.kind, max_dets=net.max_dets, score_thr=net.final_cfg['score_thr'],
                 pad_size_divisor=getattr(model.data_preprocessor, 'pad_size_divisor', 1),
                 mask_thr_binary=rcnn.get('mask_thr_binary', 0.5))
    return net, net.output_names, example_input(opts, h, w, 0), (h, w), extra


def export_graph(net, example, out: str, opts) -> None:
    kw = dict(input_names=['img', 'img_shape'], output_names=net.output_names,
              opset_version=max(opts.opset, 16))  # RoiAlign's half_pixel needs 16
    if opts.dynamic:
        kw['dynamic_axes'] = {'img': {2: 'height', 3: 'width'}}
    with warnings.catch_warnings():  # the tracer's notes on shape arithmetic
        warnings.simplefilter('ignore')
        torch.onnx.export(net, example, out, dynamo=False, **kw)


def default_check_image() -> str:
    import matplotlib
    path = osp.join(matplotlib.get_data_path(), 'sample_data', 'grace_hopper.jpg')
    if not osp.isfile(path):
        raise DeployError("--check without images uses matplotlib's sample photograph, which "
                          f'is not at {path}; pass images to --check')
    return path


def check_detector(opts, model, path: str) -> float:
    """Each runtime of ``opts.backends`` (default: every installed one)
    against ``model.test_step`` on each image: the share of PyTorch's
    detections (score >= 0.05) that the file reproduces (same label, IoU >=
    0.99, score within 1e-3); a DeployError under 99% in any of them."""
    from .backends import checked_backends
    from .runtime import OnnxDetector
    worst = 1.
    for backend in checked_backends(opts.backends):
        det = OnnxDetector(path, backend=backend)
        matched = total = 0
        for img in opts.check or [default_check_image()]:
            data = det.pipeline(dict(img_path=img))
            meta = data['data_samples'].metainfo
            h, w = meta['img_shape'][:2]
            static = det.inputs['img'].shape[2:]
            if not opts.dynamic and (h > static[0] or w > static[1]):
                raise DeployError(f"--check {img}: the config's test pipeline makes it "
                                  f"{h}x{w}, larger than the graph's {static[0]}x{static[1]}; "
                                  f'export with --dynamic (or --shape {h} {w})')
            with torch.no_grad():
                ref = model.test_step(dict(inputs=[data['inputs']],
                                           data_samples=[data['data_samples']]))[0]
            got = det.predict(data['inputs'].numpy(), meta).pred_instances
            m, n = match_detections(ref.pred_instances, got)
            matched, total = matched + m, total + n
            print(f"[check] {backend} {img} ({h}x{w}): {m}/{n} of PyTorch's detections with "
                  f'score >= 0.05 reproduced (same label, IoU >= 0.99, score within 1e-3); '
                  f'{len(got.scores)} ONNX detections', flush=True)
        share = matched / total if total else 1.
        if share < 0.99:
            raise DeployError(f"{backend} reproduces {100 * share:.1f}% of PyTorch's "
                              f'detections (< 99%); {opts.out} not written')
        print(f"[check] {backend} reproduces {matched}/{total} ({100 * share:.1f}%) of "
              "PyTorch's detections")
        worst = min(worst, share)
    return worst


def match_detections(ref, got, min_score: float = 0.05, min_iou: float = 0.99,
                     score_tol: float = 1e-3):
    """How many of the reference detections (``InstanceData`` with bboxes,
    scores, labels) scoring >= ``min_score`` have a detection in ``got`` of
    the same label with IoU >= ``min_iou`` and a score within ``score_tol``:
    (matched, total)."""
    from mmdet.structures.bbox import bbox_overlaps
    keep = ref.scores >= min_score
    boxes, scores, labels = ref.bboxes[keep], ref.scores[keep], ref.labels[keep]
    if len(boxes) == 0 or len(got.bboxes) == 0:
        return 0, len(boxes)
    iou = bbox_overlaps(boxes.float(), got.bboxes.float())
    ok = ((iou >= min_iou) & (labels[:, None] == got.labels[None])
          & ((scores[:, None] - got.scores[None]).abs() <= score_tol))
    return int(ok.any(1).sum()), len(boxes)
