#!/usr/bin/env python
"""The paper's rank study (section 3): mean rank ratio rank(f(X))/d_out of
building blocks per dimension ratio d_in/d_out and nonlinearity.

    python tools/analysis/rank_study.py --out work_dirs/rank_study          # full, < 15 min
    python tools/analysis/rank_study.py --out work_dirs/rank_study --quick  # < 1 min

Writes OUT/rank_study.csv (block, activation, dim_ratio, rank_ratio, ...) and
OUT/rank_study.png (Figure-1 style: one panel per block, a line per
activation). Rank: singular values above RTOL * sigma_max, in float64.
"""
import argparse
import csv
import os
import os.path as osp
import sys
import time

from rexnet_mm.research import rank_study as rs
from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_output_dir


def plot(rows, path, tol):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    blocks = list(dict.fromkeys(r['block'] for r in rows))
    fig, axes = plt.subplots(1, len(blocks), figsize=(5 * len(blocks), 4), squeeze=False)
    for ax, block in zip(axes[0], blocks):
        for act in dict.fromkeys(r['activation'] for r in rows):
            pts = [(r['dim_ratio'], r['rank_ratio']) for r in rows
                   if r['block'] == block and r['activation'] == act]
            ax.plot(*zip(*pts), marker='o', ms=3, label=act,
                    lw=2.5 if act in ('silu', 'elu', 'relu', 'identity') else 1)
        ax.set_title(block)
        ax.set_xlabel('dimension ratio d_in / d_out')
        ax.set_ylabel('rank ratio rank(f) / d_out')
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc='lower right')
    fig.suptitle(f'ReXNet rank study (numerical rank, rtol {tol:g})')
    fig.tight_layout()
    fig.savefig(path, dpi=110)


@one_line_errors
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--out', required=True, help='output directory')
    p.add_argument('--overwrite', action='store_true',
                   help='write into an existing, non-empty folder')
    p.add_argument('--quick', action='store_true', help='fewer draws and ratios (< 1 min)')
    p.add_argument('--draws', type=int, default=None, help='random draws per point')
    p.add_argument('--rtol', type=float, default=rs.RTOL)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    check_output_dir(args.out, '--out', overwrite=args.overwrite)
    if args.quick:
        ratios = (0.1, 0.25, 0.5, 0.75, 1.0)
        acts = ('identity', 'relu', 'relu6', 'elu', 'silu', 'gelu')
        draws, d_range = args.draws or 3, (48, 96)
    else:
        ratios = tuple(round(0.1 * k, 1) for k in range(1, 11))
        acts = tuple(rs.ACTIVATIONS)
        draws, d_range = args.draws or 10, (64, 192)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()

    def progress(done, total, row):
        print(f'\r[rank_study] {done}/{total} {row["block"]:>10s} {row["activation"]:>10s} '
              f'ratio {row["dim_ratio"]:.2f}: {row["rank_ratio"]:.3f} '
              f'({time.time() - t0:.0f}s)', end='', flush=True)

    rows = rs.run_study(activations=acts, ratios=ratios, draws=draws, d_out_range=d_range,
                        seed=args.seed, rtol=args.rtol, progress=progress)
    print()
    csv_path = osp.join(args.out, 'rank_study.csv')
    with open(csv_path, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    png = osp.join(args.out, 'rank_study.png')
    plot(rows, png, args.rtol)
    print(f'[rank_study] wrote {csv_path} and {png} in {time.time() - t0:.0f}s')
    for line in rs.findings(rows):
        print(f'[rank_study] {line}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
