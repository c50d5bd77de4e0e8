#!/usr/bin/env python
"""Write a small, deterministic image-folder classification set (one shape
per image; the class is the shape, with a jittered class colour) in
mmpretrain's CustomDataset layout:

    OUT/{train,val}/<class>/*.png

    python tools/misc/make_demo_cls.py data/demo_cls [--train 40 --val 10] (per class)
"""
import argparse
import math
import os
import os.path as osp
import sys

import numpy as np
from PIL import Image, ImageDraw

from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_output_dir

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from make_demo_coco import BASE_COLORS, CATEGORIES, _polygon  # noqa: E402  one set of shapes


def make_split(out, split, per_class, size, seed):
    rng = np.random.default_rng(seed)
    for c, name in enumerate(CATEGORIES):
        d = osp.join(out, split, name)
        os.makedirs(d, exist_ok=True)
        for i in range(per_class):
            bg = rng.integers(60, 200, size=3)
            arr = np.clip(bg + rng.normal(0, 10, size=(size, size, 3)), 0, 255).astype(np.uint8)
            img = Image.fromarray(arr)
            r = float(rng.uniform(size * 0.2, size * 0.4))
            cx, cy = (float(rng.uniform(r, size - r)) for _ in range(2))
            # a class hue with jitter, as in the detection demo set
            color = tuple(int(np.clip(v + rng.integers(-40, 41), 0, 255)) for v in BASE_COLORS[c])
            ImageDraw.Draw(img).polygon(
                _polygon(name, cx, cy, r, float(rng.uniform(0, math.pi))), fill=color)
            img.save(osp.join(d, f'{i:04d}.png'))


@one_line_errors
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('out', nargs='?', default='data/demo_cls')
    p.add_argument('--overwrite', action='store_true',
                   help='write into an existing, non-empty folder')
    p.add_argument('--train', type=int, default=40, help='train images per class')
    p.add_argument('--val', type=int, default=10, help='val images per class')
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    check_output_dir(args.out, 'OUT', overwrite=args.overwrite)
    make_split(args.out, 'train', args.train, args.size, args.seed)
    make_split(args.out, 'val', args.val, args.size, args.seed + 1)
    print(f'{len(CATEGORIES)} classes ({", ".join(CATEGORIES)}), {args.train}+{args.val} '
          f'images each -> {args.out}/{{train,val}}')


if __name__ == '__main__':
    main()
