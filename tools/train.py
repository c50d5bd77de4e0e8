#!/usr/bin/env python
"""Train a model from an mmdet, mmpretrain or mmseg config (OpenMMLab's train.py).

    python tools/train.py configs/detection/faster-rcnn_rexnet-1.0x_fpn_1x_coco.py
    python tools/train.py CONFIG --resume            # latest checkpoint in work_dir
    tools/dist_train.sh CONFIG 8                     # torchrun, 8 processes
"""
import argparse
import os.path as osp

import rexnet_mm  # noqa: F401  registers ReXNet; lets torch.load read mmengine checkpoints
from rexnet_mm.runner import ExactResumeHook
from rexnet_mm.runner.checks import check_checkpoint_fits, read_checkpoint
from rexnet_mm.runner.cli import parse_common_args
from rexnet_mm.runner.config import build_runner, convert_official_load_from, load_config
from rexnet_mm.runner.datasets import check_datasets
from rexnet_mm.runner.distributed import setup_cpu_distributed, teardown_distributed
from rexnet_mm.runner.exact_resume import CKPT_KEY, check_rng_states
from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_input_file


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a detector, classifier or segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the actual batch size (auto_scale_lr)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or (no value) from the latest one in work_dir')
    args = parse_common_args(parser, argv)
    return args


@one_line_errors
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.arch)
    cfg.launcher = args.launcher
    setup_cpu_distributed(cfg, args.launcher)
    check_datasets(cfg)

    if args.amp:
        opt = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if opt == 'AmpOptimWrapper':
            print('[rexnet_mm] AMP is already enabled in the config')
        else:
            if opt != 'OptimWrapper':
                raise SystemExit(f'error: --amp needs optim_wrapper.type OptimWrapper, '
                                 f'but the config has {opt}')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'auto_scale_lr' in cfg and 'base_batch_size' in cfg.auto_scale_lr:
            cfg.auto_scale_lr.enable = True
        else:
            raise SystemExit('error: --auto-scale-lr needs auto_scale_lr.base_batch_size '
                             'in the config')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        check_input_file(args.resume, '--resume checkpoint')
        cfg.resume = True
        cfg.load_from = args.resume
    # resumed runs continue exactly (RNG states in every checkpoint)
    custom_imports = cfg.setdefault('custom_imports', dict(imports=[]))
    if 'rexnet_mm.runner' not in custom_imports.setdefault('imports', []):
        custom_imports['imports'] = list(custom_imports['imports']) + ['rexnet_mm.runner']
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') in ('ExactResumeHook', ExactResumeHook) for h in hooks):
        cfg.custom_hooks = hooks + [dict(type='ExactResumeHook')]

    convert_official_load_from(cfg)  # official / timm weights load without a conversion step
    path = cfg.load_from
    if args.resume == 'auto':
        from mmengine.runner import find_latest_checkpoint
        path = find_latest_checkpoint(cfg.work_dir) if osp.isdir(cfg.work_dir) else None
    mode = 'resume' if cfg.resume else 'load_from'
    ckpt = read_checkpoint(path, f'--{mode} checkpoint' if cfg.resume else 'load_from '
                           'checkpoint') if path else None
    if ckpt is not None and cfg.resume:  # what the hook restores, checked before any work
        check_rng_states(ckpt.get(CKPT_KEY), f'--resume checkpoint {path}')
    runner = build_runner(cfg)
    # the checkpoint must fit the model before any work (mmengine would only warn)
    if ckpt is not None:
        check_checkpoint_fits(runner.model, path, mode, ckpt)
    runner.train()
    teardown_distributed()


if __name__ == '__main__':
    main()
