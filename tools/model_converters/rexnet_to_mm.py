#!/usr/bin/env python
"""Convert an official ReXNetV1 / ReXNet-lite or a timm rexnet checkpoint to
rexnet_mm's mmpretrain-style layout.

    python tools/model_converters/rexnet_to_mm.py rexnetv1_1.0.pth checkpoints/rexnet_1.0x.pth

The layout is detected from the keys and the variant from the shapes; the
output holds {'state_dict': {'backbone.*', 'head.*'}, 'meta': {...}}: its
'backbone.' part loads strictly into ReXNet(arch=<variant>), its 'head.' part
into ReXNetClsHead. Nothing is written when anything does not fit: the
output appears whole (written beside it, then renamed) or not at all, an
existing file is only replaced with --overwrite, and the source is never
touched.
"""
import argparse
import os.path as osp
import sys

import torch

from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_input_file, check_output_file


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('src', help='official (rexnetv1_*.pth, rexnet_lite_*.pth) or timm checkpoint')
    p.add_argument('dst', help='where to write the rexnet_mm checkpoint')
    p.add_argument('--arch', default=None,
                   help='expected variant (e.g. 1.0x, lite-1.5x); default: inferred')
    p.add_argument('--overwrite', action='store_true', help='replace an existing DST')
    p.add_argument('--allow-nonfinite', action='store_true',
                   help='convert even if some weights are NaN or infinite')
    return p.parse_args(argv)


def _first_line(e):
    lines = str(e).strip().splitlines()
    return lines[0][:200] if lines else '(no message)'


def check_paths(src, dst, overwrite=False):
    """Refuse, before reading anything, what would destroy or litter."""
    check_input_file(src, 'SRC')
    check_output_file(dst, 'DST', overwrite=overwrite, inputs=[('SRC', src)])


def load_source(path):
    try:
        # Released checkpoints are plain tensors: the safe loader reads them.
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # truncated, not a torch file, or pickled objects
        raise SystemExit(f'error: cannot read {path} as a torch checkpoint of tensors '
                         f'({type(e).__name__}: {_first_line(e)}); '
                         f'is the file truncated or of another format?') from None


@one_line_errors
def main(argv=None):
    args = parse_args(argv)
    from rexnet_mm.models.convert import convert_rexnet
    from rexnet_mm.utils.checkpoint import save_whole
    check_paths(args.src, args.dst, args.overwrite)
    ckpt = load_source(args.src)
    try:
        layout, arch, state = convert_rexnet(ckpt, args.arch, args.allow_nonfinite)
    except ValueError as e:
        raise SystemExit(f'error: {args.src}: {e}') from None
    num_classes = state['head.fc.weight'].shape[0] if 'head.fc.weight' in state else 0
    print(f'detected layout: {layout}')
    print(f'detected variant: {arch} ({num_classes or "no"} classes, {len(state)} tensors)')
    meta = dict(arch=arch, layout=layout, num_classes=num_classes,
                source=osp.basename(args.src))
    save_whole({'state_dict': state, 'meta': meta}, args.dst)
    print(f'wrote {args.dst}')
    return arch


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
