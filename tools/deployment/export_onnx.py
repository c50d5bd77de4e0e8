#!/usr/bin/env python
"""Export a ReXNet classifier (mmpretrain config), detector (mmdet config) or
backbone to ONNX, then check it in onnxruntime against PyTorch.

    python tools/deployment/export_onnx.py configs/rexnet_1.0x_imagenet.py CKPT \\
        --out rexnet.onnx --deploy --check [IMG ...]
    python tools/deployment/export_onnx.py configs/demo/faster_rcnn_rexnet_demo.py CKPT \\
        --out det.onnx --dynamic --check [IMG ...]
    python tools/deployment/export_onnx.py configs/faster_rcnn_rexnet_fpn_coco.py CKPT \\
        --backbone --out backbone.onnx --dynamic --check

Detectors (SSD/SSDLite, Faster R-CNN, Mask R-CNN): the whole test path up to
NMS in standard ONNX ops (rexnet_mm/deploy/detector.py), inputs ``img``
[1, 3, H, W] (normalised, or BGR 0-255 with --preprocess) and ``img_shape``
[2] (its unpadded height and width); outputs ``dets`` [1, N, 5], ``labels``
[1, N] (-1: no detection) and for Mask R-CNN ``masks`` [1, N, 28, 28] (mask
logits, pasted into the image by rexnet_mm.deploy.OnnxDetector). Exported
with the TorchScript exporter (data-dependent NMS); batch 1. ``--check``
compares onnxruntime's detections with ``model.test_step``'s on images
(default: matplotlib's sample photograph).

Graph input ``input``: the network's input, a normalised float NCHW tensor
(what ``model(x, mode='tensor')`` takes), as timm exports; with --preprocess a
uint8 NHWC image in the config's channel order instead, normalised in the graph.
Outputs: ``logits`` (``scores`` with --softmax), or one ``tapI_strideS`` per
backbone out_index. The config's test pipeline, normalisation and classes go
into the file's metadata, for rexnet_mm.deploy.OnnxClassifier and tools/infer.py.

Exporter: torch's dynamo exporter (``torch.onnx.export(dynamo=True)``, torch
2.14's default); ``--exporter torchscript`` selects the legacy one.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

import numpy as np
import torch
import torch.nn as nn

import rexnet_mm  # noqa: F401
from rexnet_mm.deploy.metadata import MAX_DETS, MAX_SIDE
from rexnet_mm.runner.run_cfg import CfgOptionsAction
from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_input_file, check_output_file, partial_path, publish
from rexnet_mm.utils.images import check_image

MAX_REL = 1e-4  # --check fails above this relative difference
MIN_DYNAMIC = 64  # smallest height and width of a --dynamic graph


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config', help='an mmpretrain or mmdet config (or any config, with '
                   '--backbone)')
    p.add_argument('checkpoint', help='its checkpoint (a deploy checkpoint with '
                   '--cfg-options model.backbone.deploy=True ...)')
    p.add_argument('--out', required=True, help='the .onnx file to write')
    p.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                   help="input size (default: the config's test crop, else 224 224)")
    p.add_argument('--batch', type=int, default=1, help='batch size of the graph (default 1)')
    p.add_argument('--dynamic', action='store_true',
                   help=f'dynamic batch, height and width (height, width >= {MIN_DYNAMIC})')
    p.add_argument('--deploy', action='store_true',
                   help='fold every BatchNorm first (switch_to_deploy): fewer, faster ops')
    p.add_argument('--opset', type=int, default=18, help='ONNX opset (default 18)')
    p.add_argument('--backbone', action='store_true',
                   help="export the config's backbone alone: every out_index as an output")
    p.add_argument('--softmax', action='store_true', help='classifier: output scores, not logits')
    p.add_argument('--preprocess', action='store_true',
                   help="put the config's normalisation (and BGR->RGB) into the graph: its "
                   'input is then a uint8 NHWC image')
    p.add_argument('--check', nargs='*', metavar='IMG',
                   help='run the file in onnxruntime on random input (and on these images) '
                   f'and fail if it differs from PyTorch by more than {MAX_REL:g} relative')
    p.add_argument('--max-dets', type=int,
                   help="detectors: rows N of the outputs (default: the config's max_per_img)")
    p.add_argument('--score-thr', type=float,
                   help="detectors: final score threshold (default: the config's)")
    p.add_argument('--exporter', choices=['dynamo', 'torchscript'],
                   help='default: dynamo; torchscript for detectors (the only one they take)')
    p.add_argument('--overwrite', action='store_true', help='replace an existing --out')
    p.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                   help='override config settings, KEY=VALUE items')
    args = p.parse_args(argv)
    if not args.out.endswith('.onnx'):
        p.error(f'--out must name a .onnx file, but got {args.out}')
    if not 1 <= args.batch <= 1024:
        p.error(f'--batch must be in 1-1024, but got {args.batch}')
    if args.shape and not all(MIN_DYNAMIC <= v <= MAX_SIDE for v in args.shape):
        p.error(f'--shape H W must be in {MIN_DYNAMIC}-{MAX_SIDE} each, but got '
                f'{" ".join(map(str, args.shape))}')
    if not 14 <= args.opset <= 23:
        p.error(f'--opset must be in 14-23, but got {args.opset}')
    if args.backbone and (args.softmax or args.preprocess):
        p.error('--softmax and --preprocess apply to classifiers, not to --backbone')
    if args.max_dets is not None and not 1 <= args.max_dets <= MAX_DETS:
        p.error(f'--max-dets must be in 1-{MAX_DETS}, but got {args.max_dets}')
    if args.score_thr is not None and not 0 <= args.score_thr < 1:
        p.error(f'--score-thr must be in [0, 1), but got {args.score_thr}')
    return args


class Exportable(nn.Module):
    """What the graph computes: (normalisation) -> classifier logits/scores,
    or backbone taps."""

    def __init__(self, model, backbone_only, softmax=False, norm=None):
        super().__init__()
        self.model = model
        self.backbone_only = backbone_only
        self.softmax = softmax
        self.norm = norm
        if norm is not None:
            self.register_buffer('mean', torch.tensor(norm['mean']).view(1, 3, 1, 1))
            self.register_buffer('std', torch.tensor(norm['std']).view(1, 3, 1, 1))

    def forward(self, x):
        if self.norm is not None:  # uint8 NHWC in the config's channel order
            x = x.permute(0, 3, 1, 2).float()
            if self.norm['to_rgb']:
                x = x.flip(1)
            x = (x - self.mean) / self.std
        if self.backbone_only:
            return tuple(self.model(x))
        out = self.model(x, mode='tensor')
        return out.softmax(-1) if self.softmax else out


def build(args):
    from mmengine.runner import load_checkpoint

    from rexnet_mm.runner.build import build_from_config
    from rexnet_mm.runner.checks import check_checkpoint_fits
    from rexnet_mm.runner.run_cfg import load_config
    cfg = load_config(args.config, args.cfg_options)
    if cfg.default_scope not in ('mmpretrain', 'mmdet') and not args.backbone:
        raise SystemExit(f'error: {args.config} is an {cfg.default_scope} config: the whole '
                         f'model exports for mmpretrain classifiers and mmdet detectors; pass '
                         f'--backbone to export its backbone alone')
    if cfg.get('data_preprocessor') is not None:  # as mmpretrain's init_model
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model, _ = build_from_config(cfg)
    if args.backbone:  # the backbone's tensors of a classifier's or a detector's checkpoint
        load_backbone(model.backbone, args.checkpoint)
    else:
        check_checkpoint_fits(model, args.checkpoint, 'test')
        load_checkpoint(model, args.checkpoint, map_location='cpu', strict=False,
                        logger='silent')
    model.eval()
    if args.deploy:
        for m in model.modules():
            if hasattr(m, 'switch_to_deploy'):
                m.switch_to_deploy()
    return cfg, model


def load_backbone(backbone, path):
    from rexnet_mm.models import ReXNet
    from rexnet_mm.runner.checks import read_checkpoint
    ckpt = read_checkpoint(path)
    state = ckpt.get('state_dict', ckpt)
    sub = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    if not sub:
        raise SystemExit(f'error: checkpoint {path} has no backbone.* tensors ({len(state)} '
                         f'tensors, e.g. {sorted(state)[:3]})')
    try:
        if isinstance(backbone, ReXNet):
            backbone.load_state_dict_checked(sub, source=path)
        else:
            backbone.load_state_dict(sub, strict=True)
    except (ValueError, RuntimeError) as e:
        raise SystemExit('error: ' + ' '.join(str(e).split())[:1200]) from None


def norm_of(model):
    pre = model.data_preprocessor
    if getattr(pre, '_enable_normalize', False):
        mean, std = pre.mean.flatten().tolist(), pre.std.flatten().tolist()
    else:
        mean, std = [0., 0., 0.], [1., 1., 1.]
    to_rgb = bool(getattr(pre, 'to_rgb', getattr(pre, '_channel_conversion', False)))
    return dict(mean=mean, std=std, to_rgb=to_rgb)


def class_names(cfg, checkpoint):
    """The checkpoint's dataset_meta classes, else the test dataset's."""
    from rexnet_mm.runner.checks import read_checkpoint
    meta = read_checkpoint(checkpoint).get('meta') or {}
    classes = (meta.get('dataset_meta') or {}).get('classes')
    if classes:
        return list(classes)
    ds = (cfg.get('test_dataloader') or {}).get('dataset', {})
    classes = (ds.get('metainfo') or {}).get('classes')
    if not classes and ds.get('type'):
        if cfg.default_scope == 'mmdet':
            from mmdet.registry import DATASETS
        else:
            from mmpretrain.registry import DATASETS
        cls = DATASETS.get(ds['type'])
        classes = getattr(cls, 'METAINFO', {}).get('classes') if cls else None
    return list(classes or [])


def test_pipeline(cfg):
    """The config's test pipeline as the file records it: plain dicts, without
    the ``_scope_`` of the config's own toolkit (the runtime takes the
    toolkit from the file's kind and refuses any ``_scope_``)."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    return [{k: v for k, v in t.items() if not (k == '_scope_' and v == cfg.default_scope)}
            for t in loader.get('dataset', {}).get('pipeline', [])]


def default_shape(pipeline):
    for t in pipeline:
        size = t.get('crop_size') if t.get('type') == 'CenterCrop' else None
        if size:
            return (size, size) if isinstance(size, int) else (size[1], size[0])
    return 224, 224


def export(net, example, out, args, output_names):
    """Write the graph to ``out`` (a temp path) with the chosen exporter."""
    h, w = example.shape[1:3] if args.preprocess else example.shape[2:]
    kw = dict(input_names=['input'], output_names=output_names, opset_version=args.opset)
    hw_axes = (1, 2) if args.preprocess else (2, 3)
    if args.exporter == 'torchscript':
        if args.dynamic:
            axes = {0: 'batch', hw_axes[0]: 'height', hw_axes[1]: 'width'}
            kw['dynamic_axes'] = {'input': axes, **{n: {0: 'batch'} for n in output_names}}
        torch.onnx.export(net, (example, ), out, dynamo=False, **kw)
        return
    if args.dynamic:
        from torch.export import Dim

        # (torch.export specialises sizes of 1: the example has batch >= 2 and
        # sizes that stay > 1 at stride 32)
        kw['dynamic_shapes'] = ({0: Dim('batch', min=1, max=1024),
                                 hw_axes[0]: Dim('height', min=MIN_DYNAMIC, max=8192),
                                 hw_axes[1]: Dim('width', min=MIN_DYNAMIC, max=8192)}, )
    import contextlib
    import io
    log = io.StringIO()  # the exporter's progress lines; shown on failure
    try:
        with contextlib.redirect_stdout(log):
            program = torch.onnx.export(net, (example, ), dynamo=True, **kw)
    except Exception as e:
        sys.stdout.write(log.getvalue())
        raise SystemExit(f'error: the dynamo exporter failed ({type(e).__name__}: '
                         f'{str(e).strip().splitlines()[0][:300]}); try --exporter torchscript')
    program.save(out)


def random_input(args, h, w, batch, seed):
    g = torch.Generator().manual_seed(seed)
    if args.preprocess:
        return torch.randint(0, 256, (batch, h, w, 3), generator=g, dtype=torch.uint8)
    return torch.randn(batch, 3, h, w, generator=g)


def image_input(args, path, meta):
    """An image through the file's test pipeline, as the graph's input (the
    preprocessing rexnet_mm.deploy.OnnxClassifier applies, from the same
    validated metadata)."""
    from rexnet_mm.deploy.metadata import build_pipeline
    from rexnet_mm.deploy.runtime import graph_input
    data = build_pipeline(meta)(dict(img_path=path))
    return torch.from_numpy(graph_input(data, meta, args.preprocess))[None]


def compare(net, sess, x, names):
    """Max absolute and relative (to the output's max magnitude) difference
    per output between PyTorch and onnxruntime."""
    with torch.no_grad():
        ref = net(x)
    ref = [ref] if isinstance(ref, torch.Tensor) else list(ref)
    got = sess.run(None, {'input': x.numpy()})
    rows = []
    for name, r, o in zip(names, ref, got):
        r = r.numpy()
        if r.shape != o.shape:
            raise SystemExit(f'error: output {name}: onnxruntime shape {o.shape} vs PyTorch '
                             f'{r.shape}')
        diff = float(np.abs(r - o).max())
        rows.append((name, diff, diff / max(float(np.abs(r).max()), 1e-12)))
    return rows


@one_line_errors
def main(argv=None):
    args = parse_args(argv)
    from rexnet_mm.deploy.metadata import META_KEY, validate_meta
    from rexnet_mm.deploy.runtime import require, session
    require('onnx', 'onnxruntime')
    import onnx
    check_input_file(args.config, 'config')
    check_input_file(args.checkpoint, 'checkpoint')
    check_output_file(args.out, '--out', overwrite=args.overwrite, suffixes=('.onnx', ),
                      inputs=[args.config, args.checkpoint, *(args.check or [])])
    for img in args.check or []:
        check_image(img, '--check image')
    cfg, model = build(args)
    detector = cfg.default_scope == 'mmdet' and not args.backbone
    if detector:
        if args.exporter == 'dynamo':
            raise SystemExit('error: detectors export with --exporter torchscript (their NMS '
                             'keeps a data-dependent number of boxes)')
        if args.batch != 1 or args.softmax:
            raise SystemExit('error: detectors export at batch 1 and output detections '
                             '(--batch and --softmax are for classifiers)')
    elif args.max_dets is not None or args.score_thr is not None:
        raise SystemExit('error: --max-dets and --score-thr apply to detectors')
    args.exporter = args.exporter or ('torchscript' if detector else 'dynamo')
    if args.exporter == 'dynamo':
        require('onnxscript')
    pipeline = test_pipeline(cfg)
    norm = norm_of(model) if cfg.default_scope in ('mmpretrain', 'mmdet') else None
    extra = {}
    if detector:
        from rexnet_mm.deploy.detector import DetectorExport
        try:
            net = DetectorExport(model, args.max_dets, args.score_thr, args.preprocess).eval()
        except ValueError as e:
            raise SystemExit(f'error: {args.config}: {e}') from None
        h, w = args.shape or det_default_shape(pipeline, model)
        names = net.output_names
        example = det_input(args, h, w, 0)
        rcnn = cfg.model.test_cfg.get('rcnn', {})
        extra = dict(detector=net.kind, max_dets=net.max_dets,
                     score_thr=net.final_cfg['score_thr'],
                     pad_size_divisor=getattr(model.data_preprocessor, 'pad_size_divisor', 1),
                     mask_thr_binary=rcnn.get('mask_thr_binary', 0.5))
    else:
        h, w = args.shape or default_shape(pipeline)
        if args.backbone:
            backbone = model.backbone
            net = Exportable(backbone, True).eval()
            strides = (getattr(backbone, 'out_strides', None)
                       or [None] * len(backbone.out_indices))
            names = [f'tap{i}_stride{s}' if s else f'tap{i}'
                     for i, s in zip(backbone.out_indices, strides)]
        else:
            net = Exportable(model, False, args.softmax,
                             norm if args.preprocess else None).eval()
            names = ['scores' if args.softmax else 'logits']
        example = (random_input(args, h, w, max(args.batch, 2) if args.dynamic else args.batch,
                                0), )
    kind = 'detector' if detector else 'backbone' if args.backbone else 'classifier'
    layout = 'NCHW float32 BGR 0-255' if detector and args.preprocess else \
        'NHWC uint8' if args.preprocess else 'NCHW float32'
    classes = [] if args.backbone else class_names(cfg, args.checkpoint)
    if detector:
        check_classes(classes, model, args)
    meta = dict(kind=kind, outputs=names,
                config=osp.basename(args.config), checkpoint=osp.basename(args.checkpoint),
                deploy=args.deploy, preprocess=args.preprocess, softmax=args.softmax,
                input_layout=layout, test_pipeline=pipeline, classes=classes,
                **(norm or dict(mean=None, std=None, to_rgb=None)), **extra)
    meta = json.loads(json.dumps(meta))  # as a reader of the file sees it
    try:  # the runtime validates what it reads; write nothing it would refuse
        checked = validate_meta(meta, args.config)
    except ValueError as e:
        raise SystemExit(f'error: cannot export {args.config} with its test pipeline and '
                         f'classes as they are: {e}') from None

    tmp = partial_path(args.out)
    try:
        t = time.time()
        print(f'[export] {args.exporter} exporter, opset {args.opset}, input '
              f'{tuple(example[0].shape)}'
              f'{" (dynamic " + ("H, W)" if detector else "batch, H, W)") if args.dynamic else ""}'
              f'{", BN folded" if args.deploy else ""} ...', flush=True)
        with torch.no_grad():
            if detector:
                export_detector(net, example, tmp, args)
            else:
                export(net, example[0], tmp, args, names)
        graph = onnx.load(tmp)
        entry = graph.metadata_props.add()
        entry.key, entry.value = META_KEY, json.dumps(meta)
        onnx.checker.check_model(graph)
        onnx.save(graph, tmp)
        print(f'[export] graph: {len(graph.graph.node)} nodes, {osp.getsize(tmp) / 1e6:.1f} MB, '
              f'in {time.time() - t:.1f}s', flush=True)
        if args.check is not None:
            if detector:
                check_detector(args, model, tmp)
            else:
                check(args, net, tmp, names, h, w, checked, session)
        publish(tmp, args.out)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    print(f'[export] wrote {args.out}')
    return 0


def check_classes(classes, model, args):
    """A detector's labels index its class names: the file must name one
    class per label the head can return."""
    head = getattr(model, 'bbox_head', None) or getattr(
        getattr(model, 'roi_head', None), 'bbox_head', None)
    num = getattr(head, 'num_classes', None)
    if num is not None and len(classes) != num:
        raise SystemExit(f'error: {args.config}: the detector predicts {num} classes, but the '
                         f'checkpoint and the test dataset name {len(classes)} '
                         f'({classes[:3]}...); set test_dataloader.dataset.metainfo.classes')


# ---------------------------------------------------------------- detectors
def det_default_shape(pipeline, model):
    """The test pipeline's Resize scale (H, W), padded as the data
    preprocessor pads (a static graph's input size)."""
    d = getattr(model.data_preprocessor, 'pad_size_divisor', 1) or 1
    for t in pipeline:
        if t.get('type') == 'Resize' and t.get('scale'):
            scale = t['scale']
            w, h = (scale, scale) if isinstance(scale, int) else scale
            return -(-h // d) * d, -(-w // d) * d
    return 320, 320


def det_input(args, h, w, seed):
    g = torch.Generator().manual_seed(seed)
    img = torch.rand(1, 3, h, w, generator=g) * 255 if args.preprocess else \
        torch.randn(1, 3, h, w, generator=g)
    return img, torch.tensor([float(h), float(w)])


def export_detector(net, example, out, args):
    kw = dict(input_names=['img', 'img_shape'], output_names=net.output_names,
              opset_version=max(args.opset, 16))  # RoiAlign's half_pixel needs 16
    if args.dynamic:
        kw['dynamic_axes'] = {'img': {2: 'height', 3: 'width'}}
    import warnings
    with warnings.catch_warnings():  # the tracer's notes on shape arithmetic
        warnings.simplefilter('ignore')
        torch.onnx.export(net, example, out, dynamo=False, **kw)


def default_check_image():
    import matplotlib
    path = osp.join(matplotlib.get_data_path(), 'sample_data', 'grace_hopper.jpg')
    if not osp.isfile(path):
        raise SystemExit('error: --check without images uses matplotlib\'s sample photograph, '
                         f'which is not at {path}; pass images to --check')
    return path


def check_detector(args, model, path):
    """onnxruntime against ``model.test_step`` on each image: the share of
    PyTorch's detections (score >= 0.05) that the ONNX file reproduces (same
    label, IoU >= 0.99, score within 1e-3)."""
    from rexnet_mm.deploy import OnnxDetector
    from rexnet_mm.deploy.detector import match_detections
    det = OnnxDetector(path)
    matched = total = 0
    for img in args.check or [default_check_image()]:
        data = det.pipeline(dict(img_path=img))
        meta = data['data_samples'].metainfo
        h, w = meta['img_shape'][:2]
        static = det.inputs['img'].shape[2:]
        if not args.dynamic and (h > static[0] or w > static[1]):
            raise SystemExit(f"error: --check {img}: the config's test pipeline makes it "
                             f'{h}x{w}, larger than the graph\'s {static[0]}x{static[1]}; '
                             f'export with --dynamic (or --shape {h} {w})')
        with torch.no_grad():
            ref = model.test_step(dict(inputs=[data['inputs']],
                                       data_samples=[data['data_samples']]))[0].pred_instances
        got = det.predict(data['inputs'].numpy(), meta).pred_instances
        m, n = match_detections(ref, got)
        matched, total = matched + m, total + n
        print(f'[check] {img} ({h}x{w}): {m}/{n} of PyTorch\'s detections with score >= 0.05 '
              f'reproduced (same label, IoU >= 0.99, score within 1e-3); {len(got.scores)} '
              f'ONNX detections', flush=True)
    share = matched / total if total else 1.
    if share < 0.99:
        raise SystemExit(f'error: onnxruntime reproduces {100 * share:.1f}% of PyTorch\'s '
                         f'detections (< 99%); {args.out} not written')
    print(f'[check] onnxruntime reproduces {matched}/{total} ({100 * share:.1f}%) of PyTorch\'s '
          'detections')


def check(args, net, path, names, h, w, meta, session):
    sess = session(path)
    cases = [('random', random_input(args, h, w, args.batch, 1))]
    if args.dynamic:  # another batch and an odd size
        cases.append(('random, odd size', random_input(args, h + 13, w - 7, args.batch + 1, 2)))
    for img in args.check:
        if args.backbone or not meta['test_pipeline']:
            raise SystemExit('error: --check IMG needs a classifier config with a test pipeline')
        x = image_input(args, img, meta)
        size = tuple(x.shape[1:3] if args.preprocess else x.shape[2:])
        if not args.dynamic and size != (h, w):
            raise SystemExit(f"error: --check {img}: the config's test pipeline makes it "
                             f'{size[0]}x{size[1]}, but the graph takes {h}x{w}; export with '
                             f'--dynamic (or --shape {size[0]} {size[1]})')
        if not args.dynamic:
            x = x.expand(args.batch, *x.shape[1:]).contiguous()
        cases.append((img, x))
    worst = 0.
    for what, x in cases:
        for name, diff, rel in compare(net, sess, x, names):
            worst = max(worst, rel)
            print(f'[check] {what} {tuple(x.shape)}: {name} max abs diff {diff:.3g}, '
                  f'max rel diff {rel:.3g}', flush=True)
    if worst > MAX_REL:
        raise SystemExit(f'error: onnxruntime differs from PyTorch by {worst:.3g} relative '
                         f'(> {MAX_REL:g}); {args.out} not written')
    print(f'[check] onnxruntime equals PyTorch within {worst:.2g} relative (limit {MAX_REL:g})')


if __name__ == '__main__':
    sys.exit(main())
