#!/usr/bin/env python
"""Evaluate a checkpoint with an mmdet, mmpretrain or mmseg config.

    python tools/test.py CONFIG CHECKPOINT [--out results.pkl] [--show-dir vis] [--precision bf16]

A detector exported by tools/deployment/export_onnx.py (.onnx) evaluates in
onnxruntime (or OpenVINO) in place of the checkpoint, with the config's data
and metric:
    python tools/test.py configs/demo/faster-rcnn_rexnet-1.0x_fpn_demo-coco.py det.onnx \
        [--backend openvino]
"""
import argparse
import os.path as osp

import torch

import rexnet_mm  # noqa: F401  registers ReXNet; lets torch.load read mmengine checkpoints
from rexnet_mm.deploy.backends import add_backend_arg, check_precision
from rexnet_mm.runner.checks import check_checkpoint_fits
from rexnet_mm.runner.cli import add_precision_arg, parse_common_args
from rexnet_mm.runner.config import build_runner, load_config
from rexnet_mm.runner.datasets import check_datasets
from rexnet_mm.runner.distributed import setup_cpu_distributed, teardown_distributed
from rexnet_mm.runner.precision import apply_precision
from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_input_file, check_output_file


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file, or an exported detector (.onnx)')
    parser.add_argument('--work-dir', help='the dir to save evaluation metrics')
    parser.add_argument('--out', help='dump predictions to this pickle file')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing --out')
    parser.add_argument('--show-dir', help='draw predictions of every image into this dir '
                        '(relative to the run\'s timestamped work dir)')
    add_precision_arg(parser)
    add_backend_arg(parser, 'an exported detector')
    args = parse_common_args(parser, argv)
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out must be a .pkl or .pickle file, but got {args.out}')
    return args


@one_line_errors
def main(argv=None):
    args = parse_args(argv)
    check_input_file(args.checkpoint, 'checkpoint')
    if args.out is not None:
        check_output_file(args.out, '--out', overwrite=args.overwrite,
                          inputs=[args.config, args.checkpoint])
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.arch)
    cfg.launcher = args.launcher
    setup_cpu_distributed(cfg, args.launcher)
    check_datasets(cfg, splits=('test_dataloader', ))
    onnx = args.checkpoint.endswith('.onnx')
    scope = cfg.default_scope
    if onnx and scope != 'mmdet':
        raise SystemExit(f'error: an .onnx file evaluates with mmdet configs (an exported '
                         f'detector), but {args.config} is an {scope} config')
    if onnx:  # --precision bf16: OpenVINO's; refused before the test set is read
        check_precision(args.backend, args.precision)
    cfg.load_from = None if onnx else args.checkpoint
    if args.show_dir:
        vis = cfg.default_hooks.get('visualization')
        if vis is None:
            raise SystemExit('error: --show-dir needs default_hooks.visualization in the config')
        if scope == 'mmdet':
            vis.update(draw=True, test_out_dir=args.show_dir)
        elif scope == 'mmseg':  # as mmseg's tools/test.py: the visualizer saves
            vis.update(draw=True, interval=1)
            cfg.visualizer['save_dir'] = osp.join(cfg.work_dir, args.show_dir)
        else:
            vis.update(enable=True, out_dir=args.show_dir)

    if onnx:
        import rexnet_mm.deploy.evaluation  # noqa: F401  registers ExportedDetector
        cfg.model = dict(type='ExportedDetector', path=args.checkpoint, backend=args.backend,
                         precision=args.precision)
        cfg.pop('data_preprocessor', None)  # (the file holds its normalisation)
    runner = build_runner(cfg)
    if onnx:
        runner.model.check_classes(runner.test_dataloader.dataset.metainfo.get('classes') or [])
    else:
        check_checkpoint_fits(runner.model, args.checkpoint, 'test')
    if args.out:
        if scope == 'mmdet':
            from mmdet.evaluation import DumpDetResults as Dump
        else:
            from mmengine.evaluator import DumpResults as Dump
        runner.test_evaluator.metrics.append(Dump(out_file_path=args.out))
    if not onnx:
        apply_precision(runner.model, args.precision,
                        'cuda' if torch.cuda.is_available() else 'cpu')
    metrics = runner.test()
    teardown_distributed()
    return metrics


if __name__ == '__main__':
    main()
