#!/usr/bin/env python
"""The pinned deploy reference (rexnet_mm.deploy.reference): the demo
classifier trained with seed 0, exported and quantized by the default
recipe for each runtime, measured per backend x precision against PyTorch
fp32, compared with tests/data/deploy_reference.yml.

    python tools/analysis/deploy_reference.py            # measure and compare
    python tools/analysis/deploy_reference.py --write    # and rewrite the file
    python tools/analysis/deploy_reference.py --seed 3 --recipe input-range=calibrated

It prints every number that moved beyond its tolerance; --write replaces the
file (review the diff with git). --seed and --recipe measure another model
and recipe (a variant of each runtime's default: KEY=VALUE pairs joined by
':', keys as quantize_onnx.py's options, e.g. vectors=int8:avg-pools=float);
only seed 0 with the default recipe is compared and written. Where OpenVINO
computes bf16 natively it also prints openvino/bf16, the fp32 file in
OpenVINO's bf16, never pinned (the CPU decides). About a minute on 2 cores.
--keep DIR keeps what the run made (demo_cls/, train/epoch_8.pth, demo.onnx
and each backend's demo-int8-<backend>.onnx) in a new folder, to measure it
further (precision_agreement.py, int8_bound.py).
"""
import argparse
import os.path as osp
import sys
import tempfile

import yaml

from rexnet_mm.deploy.backends import BACKENDS, available
from rexnet_mm.deploy.reference import (BF16, DEMO_CONFIG, TOLERANCES, differences, measure,
                                        train_demo)
from rexnet_mm.utils.cpu import describe_cpu
from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_output_dir, partial_path, publish, remove_quietly

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PINNED = osp.join(ROOT, 'tests', 'data', 'deploy_reference.yml')


def read_pinned(path: str) -> dict:
    with open(path) as f:
        return yaml.safe_load(f) or {}


@one_line_errors
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--file', default=PINNED, help='the pinned table (default: %(default)s)')
    p.add_argument('--write', action='store_true', help='rewrite --file with what was measured')
    p.add_argument('--seed', type=int, default=0,
                   help='train the demo classifier with this seed (pinned: 0)')
    p.add_argument('--recipe', default='', metavar='VARIANT',
                   help='a variant of the int8 recipe, e.g. vectors=int8 (pinned: none)')
    p.add_argument('--keep', metavar='DIR', help='keep the demo set, checkpoint and files in '
                   'this new folder (default: a temporary one, removed)')
    args = p.parse_args(argv)
    pinned_run = args.seed == 0 and not args.recipe
    if args.write and not pinned_run:
        p.error(f'--write pins seed 0 with the default recipe, but got --seed {args.seed} '
                f'--recipe {args.recipe!r}')
    from rexnet_mm.deploy.qdq_recipe import parse_variant
    for backend in BACKENDS:
        parse_variant(args.recipe, backend)  # refused before training
    if args.keep:
        check_output_dir(args.keep, '--keep', flag=None)
    backends = [b for b in BACKENDS if available(b)]
    with tempfile.TemporaryDirectory(prefix='rexnet_reference_') as tmp:
        work = args.keep or tmp
        ckpt = train_demo(ROOT, work, seed=args.seed)
        measured = measure(osp.join(ROOT, DEMO_CONFIG), ckpt, work, backends,
                           variant=args.recipe, bf16=True)
    if args.keep:
        print(f'[reference] kept in {args.keep}: demo_cls/, {osp.relpath(ckpt, work)}, '
              f'demo.onnx, ' + ', '.join(f'demo-int8-{b}.onnx' for b in backends))
    print('| backend/precision | top-1 | agreement | median logit err | max logit err |')
    print('|---|---|---|---|---|')
    for key, m in measured.items():
        print(f'| {key} | {100 * m["top1"]:.1f}% | {100 * m["agreement"]:.1f}% | '
              f'{100 * m["median_error"]:.2f}% | {100 * m["max_error"]:.2f}% |')
    if BF16 in measured:
        print(f'[reference] {BF16}: the fp32 file in OpenVINO\'s bf16, measured because this CPU '
              f'has it natively; never pinned (the CPU decides)')
    measured.pop(BF16, None)
    if not pinned_run:
        print(f'[reference] seed {args.seed}, --recipe {args.recipe!r}: not compared with the '
              f'pinned table (seed 0, the default recipe)')
        return 0
    pinned = read_pinned(args.file) if osp.exists(args.file) else {}
    moved = differences(measured, pinned.get('results', {}), pinned.get('tolerances'))
    print('\n'.join(['[reference] moved beyond tolerance:'] + moved) if moved else
          f'[reference] every number within tolerance of {args.file}')
    if args.write:
        doc = dict(cpu=describe_cpu(), command='python tools/analysis/deploy_reference.py '
                   '--write', tolerances=pinned.get('tolerances', TOLERANCES),
                   results=measured)
        tmp = partial_path(args.file)
        try:
            with open(tmp, 'w') as f:
                yaml.safe_dump(doc, f, sort_keys=False)
            publish(tmp, args.file)
        finally:
            remove_quietly(tmp)
        print(f'[reference] wrote {args.file}')
    return 1 if moved and not args.write else 0


if __name__ == '__main__':
    sys.exit(main())
