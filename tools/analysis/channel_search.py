#!/usr/bin/env python
"""The paper's channel-configuration search (section 4).

Enumerates block widths c_i = a * f(i) + b (f linear, or piecewise linear
with a knee) and depths, keeps those within the params / FLOPs budgets,
emits each as a ReXNet ``arch`` dict, and optionally trains candidates on an
mmpretrain config for a few epochs (several seeds, early stopping) to rank
them. Writes OUT/candidates.csv and OUT/channels.png (width against block
index for the best, middle and worst candidates, as in the paper's Figure 2).

    # the paper-size budget (ReXNet-1.0x: 4.8M params, 0.40 GFLOPs), no training
    python tools/analysis/channel_search.py --params 4.8 --flops 0.40 --out work_dirs/search
    # a tiny budget, each of 4 candidates trained 3 epochs x 2 seeds on the demo set
    python tools/misc/make_demo_cls.py data/demo_cls
    python tools/analysis/channel_search.py --params 0.6 --flops 0.02 --size 64 \\
        --num-classes 4 --train configs/demo/rexnet-w0.5_demo-cls.py --max-train 4 \\
        --epochs 3 --seeds 0 1 --out work_dirs/search_demo
"""
import copy
import csv
import json
import os
import os.path as osp
import statistics
import sys
import time

from rexnet_mm.research.search import candidates
from rexnet_mm.runner.cli import add_cfg_options_arg, doc_parser
from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_output_dir


def pick_spread(rows, k):
    """k candidates spread evenly over the list (sorted by FLOPs)."""
    if k >= len(rows):
        return list(rows)
    step = (len(rows) - 1) / max(k - 1, 1)
    return [rows[round(i * step)] for i in range(k)]


def train_candidate(config, arch, seed, epochs, patience, work_dir, cfg_options=None):
    """Train one candidate; returns the best val top-1 seen."""
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS
    from mmengine.runner import Runner

    import rexnet_mm  # noqa: F401
    from rexnet_mm.models import build_schedule

    @HOOKS.register_module(force=True)
    class _RecordTop1(Hook):
        scores = []

        def after_val_epoch(self, runner, metrics=None):
            if metrics and 'accuracy/top1' in metrics:
                _RecordTop1.scores.append(float(metrics['accuracy/top1']))

    _RecordTop1.scores = []
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.model.backbone.arch = copy.deepcopy(arch)
    if cfg.model.head.get('arch') is not None:  # the head's widths follow its arch
        cfg.model.head.arch = copy.deepcopy(arch)
    else:
        cfg.model.head.in_channels = build_schedule(arch).head_channels
    cfg.train_cfg = dict(by_epoch=True, max_epochs=epochs, val_interval=1)
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', T_max=epochs, by_epoch=True,
                                begin=0, end=epochs)]
    cfg.custom_hooks = [dict(type='_RecordTop1'),
                        dict(type='EarlyStoppingHook', monitor='accuracy/top1', rule='greater',
                             patience=patience)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1)
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.train()
    return max(_RecordTop1.scores) if _RecordTop1.scores else float('nan')


def plot(rows, path, key):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    ranked = sorted(rows, key=lambda r: -r[key])
    picks = [('best', ranked[0]), ('middle', ranked[len(ranked) // 2]), ('worst', ranked[-1])]
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, r in picks:
        w = r['arch']['widths']
        ax.plot(range(len(w)), w, marker='o', ms=3,
                label=f'{label}: {key} {r[key]:.4g} (a={r["a"]}, b={r["b"]}, knee={r["knee"]})')
    ax.set_xlabel('block index')
    ax.set_ylabel('output channels')
    ax.set_title('channel configuration of searched candidates')
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


@one_line_errors
def main(argv=None):
    p = doc_parser(__doc__)
    p.add_argument('--params', type=float, required=True, help='params budget, millions')
    p.add_argument('--flops', type=float, required=True, help='FLOPs (MAC) budget, G')
    p.add_argument('--size', type=int, default=224, help='input size for the FLOPs')
    p.add_argument('--num-classes', type=int, default=1000)
    p.add_argument('--out', required=True)
    p.add_argument('--train', help='mmpretrain config to train candidates with')
    p.add_argument('--max-train', type=int, default=6, help='candidates to train')
    p.add_argument('--epochs', type=int, default=30)
    p.add_argument('--patience', type=int, default=5, help='early stopping (epochs)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    add_cfg_options_arg(p)
    p.add_argument('--overwrite', action='store_true',
                   help='write into an existing, non-empty --out folder')
    args = p.parse_args(argv)
    check_output_dir(args.out, '--out', overwrite=args.overwrite)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    rows = candidates(args.params * 1e6, args.flops * 1e9, args.size, args.num_classes)
    print(f'[search] {len(rows)} candidates fit {args.params}M params and {args.flops}G FLOPs '
          f'at {args.size}x{args.size} ({time.time() - t0:.1f}s)')
    if not rows:
        raise SystemExit('[search] nothing fits: raise the budgets')
    rows.sort(key=lambda r: r['flops'])
    key = 'flops'
    if args.train:
        opts = args.cfg_options
        rows = pick_spread(rows, args.max_train)
        for i, r in enumerate(rows):
            accs = []
            for seed in args.seeds:
                wd = osp.join(args.out, f'cand{i}_seed{seed}')
                accs.append(train_candidate(args.train, r['arch'], seed, args.epochs,
                                            args.patience, wd, opts))
                print(f'[search] candidate {i + 1}/{len(rows)} seed {seed}: top-1 {accs[-1]:.2f} '
                      f'({time.time() - t0:.0f}s)', flush=True)
            r['top1_mean'] = statistics.mean(accs)
            r['top1_std'] = statistics.pstdev(accs)
        key = 'top1_mean'
    with open(osp.join(args.out, 'candidates.csv'), 'w', newline='') as f:
        cols = ['rank', 'a', 'b', 'knee', 'depth_mult', 'params', 'flops'] + (
            ['top1_mean', 'top1_std'] if args.train else []) + ['arch']
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for rank, r in enumerate(sorted(rows, key=lambda r: -r[key]), 1):
            w.writerow({**{c: r.get(c) for c in cols}, 'rank': rank,
                        'arch': json.dumps(r['arch'])})
    plot(rows, osp.join(args.out, 'channels.png'), key)
    best = max(rows, key=lambda r: r[key])
    print(f'[search] best by {key}: {best[key]:.4g}, params {best["params"] / 1e6:.2f}M, '
          f'FLOPs {best["flops"] / 1e9:.3f}G')
    print(f'[search] arch={json.dumps(best["arch"])}')
    print(f'[search] wrote {args.out}/candidates.csv and {args.out}/channels.png')
    return 0


if __name__ == '__main__':
    sys.exit(main())
