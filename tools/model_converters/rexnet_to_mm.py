#!/usr/bin/env python
"""Convert an official ReXNetV1 / ReXNet-lite or a timm rexnet checkpoint to
rexnet_mm's mmpretrain-style layout.

    python tools/model_converters/rexnet_to_mm.py rexnetv1_1.0.pth checkpoints/rexnet_1.0x.pth

The layout is detected from the keys and the variant from the shapes; the
output holds {'state_dict': {'backbone.*', 'head.*'}, 'meta': {...}}: its
'backbone.' part loads strictly into ReXNet(arch=<variant>), its 'head.' part
into ReXNetClsHead. Nothing is written when anything does not fit.
"""
import argparse
import os
import os.path as osp
import sys

import torch


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('src', help='official (rexnetv1_*.pth, rexnet_lite_*.pth) or timm checkpoint')
    p.add_argument('dst', help='where to write the rexnet_mm checkpoint')
    p.add_argument('--arch', default=None,
                   help='expected variant (e.g. 1.0x, lite-1.5x); default: inferred')
    return p.parse_args(argv)


def load_source(path):
    if not osp.isfile(path):
        raise SystemExit(f'error: {path} does not exist')
    try:
        # Released checkpoints are plain tensors: the safe loader reads them.
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # truncated, not a torch file, or pickled objects
        raise SystemExit(f'error: cannot read {path} as a torch checkpoint of tensors '
                         f'({type(e).__name__}: {str(e).splitlines()[0][:200]}); '
                         f'is the file truncated or of another format?')


def main(argv=None):
    args = parse_args(argv)
    from rexnet_mm.models.convert import convert_rexnet
    ckpt = load_source(args.src)
    try:
        layout, arch, state = convert_rexnet(ckpt, args.arch)
    except ValueError as e:
        raise SystemExit(f'error: {args.src}: {e}')
    num_classes = state['head.fc.weight'].shape[0] if 'head.fc.weight' in state else 0
    print(f'detected layout: {layout}')
    print(f'detected variant: {arch} ({num_classes or "no"} classes, {len(state)} tensors)')
    meta = dict(arch=arch, layout=layout, num_classes=num_classes,
                source=osp.basename(args.src))
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    tmp = args.dst + '.part'
    torch.save({'state_dict': state, 'meta': meta}, tmp)
    os.replace(tmp, args.dst)
    print(f'wrote {args.dst}')
    return arch


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
