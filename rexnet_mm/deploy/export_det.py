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
        if opts.softmax:
            raise DeployError('detectors output detections (--softmax is for classifiers)')
    elif opts.max_dets is not None or opts.score_thr is not None:
        raise DeployError('--max-dets and --score-thr apply to detectors')


def pipeline_size(pipeline, model):
    """The test pipeline's Resize scale as (H, W) padded as the data
    preprocessor pads, and whether every image comes out that size (a
    Resize without keep_ratio) rather than within it (keep_ratio: a portrait
    image comes out as tall as a landscape one is wide)."""
    d = getattr(model.data_preprocessor, 'pad_size_divisor', 1) or 1
    for t in pipeline:
        if t.get('type') == 'Resize' and t.get('scale'):
            scale = t['scale']
            w, h = (scale, scale) if isinstance(scale, int) else scale
            return (-(-h // d) * d, -(-w // d) * d), not t.get('keep_ratio', False)
    return (320, 320), False


def graph_axes(opts, pipeline, model):
    """((H, W) of the example input, dynamic batch, dynamic height and
    width). The default takes every image the test pipeline makes: a static
    size where it makes one size, dynamic height and width where it keeps the
    aspect ratio; ``--shape`` fixes the size, ``--dynamic`` frees all three."""
    size, fixed = pipeline_size(pipeline, model)
    return (opts.shape or size, opts.dynamic,
            opts.dynamic or (opts.shape is None and not fixed))


def example_input(opts, batch: int, h: int, w: int, seed: int):
    """A batch of random images and their sizes (the last ones smaller, as
    padded in a batch of mixed sizes)."""
    g = torch.Generator().manual_seed(seed)
    img = torch.rand(batch, 3, h, w, generator=g) * 255 if opts.preprocess else \
        torch.randn(batch, 3, h, w, generator=g)
    shapes = torch.tensor([[float(h - 32 * i), float(w - 16 * i)] for i in range(batch)])
    return img, shapes.clamp(min=16)


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
    (h, w), dyn_batch, dyn_size = graph_axes(opts, pipeline, model)
    net.dynamic = dyn_batch, dyn_size
    rcnn = cfg.model.test_cfg.get('rcnn', {})
    extra = dict(detector=net.kind, max_dets=net.max_dets, score_thr=net.final_cfg['score_thr'],
                 pad_size_divisor=getattr(model.data_preprocessor, 'pad_size_divisor', 1),
                 mask_thr_binary=rcnn.get('mask_thr_binary', 0.5))
    batch = max(opts.batch, 2) if dyn_batch else opts.batch
    return net, net.output_names, example_input(opts, batch, h, w, 0), (h, w), extra


def export_graph(net, example, out: str, opts) -> None:
    dyn_batch, dyn_size = net.dynamic
    batch = {0: 'batch'} if dyn_batch else {}
    size = {2: 'height', 3: 'width'} if dyn_size else {}
    kw = dict(input_names=['img', 'img_shape'], output_names=net.output_names,
              opset_version=max(opts.opset, 16))  # RoiAlign's half_pixel needs 16
    if dyn_batch or dyn_size:
        kw['dynamic_axes'] = {'img': {**batch, **size}, 'img_shape': batch,
                              **{n: batch for n in net.output_names}}
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


def check_batches(images, batch) -> list:
    """The batches a file is checked on: each image alone where the graph
    takes a batch of 1 (or any), and all of them together, cycled to the
    graph's batch (2 or more where it is dynamic)."""
    alone = [[img] for img in images] if batch in (1, None) else []
    n = batch or max(2, len(images))
    return alone + [[images[i % len(images)] for i in range(n)]] if n > 1 else alone


def check_detector(opts, model, path: str) -> float:
    """Each runtime of ``opts.backends`` (default: every installed one)
    against ``model.test_step`` on the same batches (the same images, padded
    alike): the share of PyTorch's detections (score >= 0.05) that the file
    reproduces (same label, IoU >= 0.99, score within 1e-3); a DeployError
    under 99% in any of them."""
    from .backends import checked_backends
    from .runtime_det import OnnxDetector
    worst = 1.
    for backend in checked_backends(opts.backends):
        det = OnnxDetector(path, backend=backend)
        matched = total = 0
        for batch in check_batches(opts.check or [default_check_image()], det.batch):
            data = [det.pipeline(dict(img_path=img)) for img in batch]
            metas = [d['data_samples'].metainfo for d in data]
            det.check_fits(metas, batch[0])
            with torch.no_grad():
                refs = model.test_step(dict(inputs=[d['inputs'] for d in data],
                                            data_samples=[d['data_samples'] for d in data]))
            gots = det.predict_batch([d['inputs'].numpy() for d in data], metas)
            for img, meta, ref, got in zip(batch, metas, refs, gots):
                m, n = match_detections(ref.pred_instances, got.pred_instances)
                matched, total = matched + m, total + n
                print(f"[check] {backend} batch of {len(batch)}: {img} "
                      f"({'x'.join(map(str, meta['img_shape'][:2]))}): {m}/{n} of PyTorch's "
                      f'detections with score >= 0.05 reproduced (same label, IoU >= 0.99, '
                      f'score within 1e-3); {len(got.pred_instances)} ONNX detections',
                      flush=True)
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
