"""Exporting a model to ONNX: a classifier, a backbone (one output per tap)
or a whole detector, with the config's test pipeline, normalisation and
class names in the file's metadata, checked in onnxruntime (and OpenVINO,
where installed) against PyTorch before the file appears.
``tools/deployment/export_onnx.py`` is its command line; :func:`export_onnx`
is the API."""
import contextlib
import io
import json
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from ..utils.files import partial_path, publish, remove_quietly
from .describe import class_names, default_shape, file_meta, norm_of, test_pipeline
from .errors import DeployError
from .metadata import META_KEY

MAX_REL = 1e-4  # a check fails above this relative difference
MIN_DYNAMIC = 64  # smallest height and width of a dynamic graph


@dataclass
class ExportOptions:
    """What to export and how (the command line's options).

    ``shape``: (H, W), default the config's test crop (classifiers) or
    resize (detectors); ``check``: None for no check, else the images to
    check on besides random input (an empty list: random input only; a
    detector then uses matplotlib's sample photograph)."""
    out: str
    shape: Optional[Tuple[int, int]] = None
    batch: int = 1
    dynamic: bool = False
    deploy: bool = False
    opset: int = 18
    backbone: bool = False
    softmax: bool = False
    preprocess: bool = False
    check: Optional[List[str]] = None
    max_dets: Optional[int] = None
    score_thr: Optional[float] = None
    exporter: Optional[str] = None
    cfg_options: Optional[dict] = field(default=None)
    backends: Optional[Tuple[str, ...]] = None  # checked in; default: every one installed


class Exportable(nn.Module):
    """What a classifier's or a backbone's graph computes: (normalisation)
    then logits / scores, or the backbone's taps."""

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


def random_input(opts: ExportOptions, h: int, w: int, batch: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if opts.preprocess:
        return torch.randint(0, 256, (batch, h, w, 3), generator=g, dtype=torch.uint8)
    return torch.randn(batch, 3, h, w, generator=g)


def export_graph(net, example, out: str, opts: ExportOptions, output_names) -> None:
    """Write a classifier's or backbone's graph to ``out`` with the chosen
    exporter."""
    kw = dict(input_names=['input'], output_names=output_names, opset_version=opts.opset)
    hw_axes = (1, 2) if opts.preprocess else (2, 3)
    if opts.exporter == 'torchscript':
        if opts.dynamic:
            axes = {0: 'batch', hw_axes[0]: 'height', hw_axes[1]: 'width'}
            kw['dynamic_axes'] = {'input': axes, **{n: {0: 'batch'} for n in output_names}}
        torch.onnx.export(net, (example, ), out, dynamo=False, **kw)
        return
    if opts.dynamic:
        from torch.export import Dim

        # (torch.export specialises sizes of 1: the example has batch >= 2 and
        # sizes that stay > 1 at stride 32)
        kw['dynamic_shapes'] = ({0: Dim('batch', min=1, max=1024),
                                 hw_axes[0]: Dim('height', min=MIN_DYNAMIC, max=8192),
                                 hw_axes[1]: Dim('width', min=MIN_DYNAMIC, max=8192)}, )
    log = io.StringIO()  # the exporter's progress lines; shown on failure
    try:
        with contextlib.redirect_stdout(log):
            program = torch.onnx.export(net, (example, ), dynamo=True, **kw)
    except Exception as e:
        print(log.getvalue(), end='')
        raise DeployError(f'the dynamo exporter failed ({type(e).__name__}: '
                          f'{str(e).strip().splitlines()[0][:300]}); try --exporter '
                          f'torchscript') from None
    program.save(out)


def compare(net, engine, x, names) -> List[tuple]:
    """(output, max absolute difference, max relative difference to the
    output's max magnitude) between PyTorch and a runtime's
    :class:`~.backends.Engine`."""
    with torch.no_grad():
        ref = net(x)
    ref = [ref] if isinstance(ref, torch.Tensor) else list(ref)
    got = engine.run({'input': x.numpy()})
    rows = []
    for name, r, o in zip(names, ref, got):
        r = r.numpy()
        if r.shape != o.shape:
            raise DeployError(f'output {name}: {engine.name} shape {o.shape} vs PyTorch '
                              f'{r.shape}')
        diff = float(np.abs(r - o).max())
        rows.append((name, diff, diff / max(float(np.abs(r).max()), 1e-12)))
    return rows


def image_input(opts: ExportOptions, path: str, meta: dict) -> torch.Tensor:
    """An image through the file's test pipeline, as the graph's input (the
    preprocessing OnnxClassifier applies, from the same validated metadata)."""
    from .pipeline import build_pipeline
    from .runtime import graph_input
    data = build_pipeline(meta)(dict(img_path=path))
    return torch.from_numpy(graph_input(data, meta, opts.preprocess))[None]


def check_classifier(opts: ExportOptions, net, path: str, names, h: int, w: int,
                     meta: dict) -> float:
    """Each runtime of ``opts.backends`` against PyTorch on random input
    (another batch and an odd size too when dynamic) and on ``opts.check``'s
    images; the worst relative difference, or a DeployError above
    :data:`MAX_REL`."""
    from .backends import checked_backends, open_engine
    cases = [('random', random_input(opts, h, w, opts.batch, 1))]
    if opts.dynamic:
        cases.append(('random, odd size', random_input(opts, h + 13, w - 7, opts.batch + 1, 2)))
    for img in opts.check or []:
        if opts.backbone or not meta['test_pipeline']:
            raise DeployError('--check IMG needs a classifier config with a test pipeline')
        x = image_input(opts, img, meta)
        size = tuple(x.shape[1:3] if opts.preprocess else x.shape[2:])
        if not opts.dynamic and size != (h, w):
            raise DeployError(f"--check {img}: the config's test pipeline makes it "
                              f'{size[0]}x{size[1]}, but the graph takes {h}x{w}; export with '
                              f'--dynamic (or --shape {size[0]} {size[1]})')
        if not opts.dynamic:
            x = x.expand(opts.batch, *x.shape[1:]).contiguous()
        cases.append((img, x))
    overall = 0.
    for backend in checked_backends(opts.backends):
        engine, worst = open_engine(path, backend), 0.
        for what, x in cases:
            for name, diff, rel in compare(net, engine, x, names):
                worst = max(worst, rel)
                print(f'[check] {backend} {what} {tuple(x.shape)}: {name} max abs diff '
                      f'{diff:.3g}, max rel diff {rel:.3g}', flush=True)
        if worst > MAX_REL:
            raise DeployError(f'{backend} differs from PyTorch by {worst:.3g} relative '
                              f'(> {MAX_REL:g}); {opts.out} not written')
        print(f'[check] {backend} equals PyTorch within {worst:.2g} relative '
              f'(limit {MAX_REL:g})')
        overall = max(overall, worst)
    return overall


def _classifier_or_backbone(opts: ExportOptions, model, pipeline, norm):
    """(graph module, output names, example input, (H, W))."""
    h, w = opts.shape or default_shape(pipeline)
    if opts.backbone:
        backbone = model.backbone
        net = Exportable(backbone, True).eval()
        strides = getattr(backbone, 'out_strides', None) or [None] * len(backbone.out_indices)
        names = [f'tap{i}_stride{s}' if s else f'tap{i}'
                 for i, s in zip(backbone.out_indices, strides)]
    else:
        net = Exportable(model, False, opts.softmax, norm if opts.preprocess else None).eval()
        names = ['scores' if opts.softmax else 'logits']
    batch = max(opts.batch, 2) if opts.dynamic else opts.batch
    return net, names, (random_input(opts, h, w, batch, 0), ), (h, w)


def _load(config: str, checkpoint: str, opts: ExportOptions):
    """(config, model): the toolkit checked before the checkpoint is read."""
    from ..runner.config import load_config
    from .loading import load_for_inference
    cfg = load_config(config, opts.cfg_options)
    if cfg.default_scope not in ('mmpretrain', 'mmdet') and not opts.backbone:
        raise DeployError(f'{config} is an {cfg.default_scope} config: the whole model exports '
                          f'for mmpretrain classifiers and mmdet detectors; pass --backbone to '
                          f'export its backbone alone')
    return load_for_inference(cfg, checkpoint, fuse=opts.deploy, backbone_only=opts.backbone)


def export_onnx(config: str, checkpoint: str, opts: ExportOptions) -> str:
    """Export ``config`` + ``checkpoint`` to ``opts.out`` (written whole or not
    at all, after the check when one is asked); returns the path."""
    from . import export_det
    from .backends import require
    require('onnx', 'onnxruntime')
    import onnx
    cfg, model = _load(config, checkpoint, opts)
    detector = cfg.default_scope == 'mmdet' and not opts.backbone
    export_det.check_options(opts, detector)
    opts.exporter = opts.exporter or ('torchscript' if detector else 'dynamo')
    if opts.exporter == 'dynamo':
        require('onnxscript')
    pipeline = test_pipeline(cfg)
    norm = norm_of(model) if cfg.default_scope in ('mmpretrain', 'mmdet') else None
    classes = [] if opts.backbone else class_names(cfg, checkpoint)
    if detector:
        net, names, example, (h, w), extra = export_det.prepare(opts, cfg, model, pipeline,
                                                                config, classes)
    else:
        net, names, example, (h, w) = _classifier_or_backbone(opts, model, pipeline, norm)
        extra = {}
    kind = 'detector' if detector else 'backbone' if opts.backbone else 'classifier'
    meta, checked = file_meta(opts, config, checkpoint, kind, names, pipeline, classes, norm,
                              extra)
    tmp = partial_path(opts.out)
    try:
        t = time.time()
        axes = getattr(net, 'dynamic', (opts.dynamic, opts.dynamic))
        dyn = ', '.join(n for n, d in zip(('batch', 'H, W'), axes) if d)
        dyn = f' (dynamic {dyn})' if dyn else ''
        print(f'[export] {opts.exporter} exporter, opset {opts.opset}, input '
              f'{tuple(example[0].shape)}{dyn}{", BN folded" if opts.deploy else ""} ...',
              flush=True)
        with torch.no_grad():
            if detector:
                export_det.export_graph(net, example, tmp, opts)
            else:
                export_graph(net, example[0], tmp, opts, names)
        graph = onnx.load(tmp)
        entry = graph.metadata_props.add()
        entry.key, entry.value = META_KEY, json.dumps(meta)
        onnx.checker.check_model(graph)
        onnx.save(graph, tmp)
        print(f'[export] graph: {len(graph.graph.node)} nodes, {osp.getsize(tmp) / 1e6:.1f} MB, '
              f'in {time.time() - t:.1f}s', flush=True)
        if opts.check is not None:
            if detector:
                export_det.check_detector(opts, model, tmp)
            else:
                check_classifier(opts, net, tmp, names, h, w, checked)
        publish(tmp, opts.out)
    finally:
        remove_quietly(tmp)
    return opts.out
