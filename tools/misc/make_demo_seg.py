#!/usr/bin/env python
"""Write a small, deterministic semantic-segmentation set: coloured shapes
(square, circle, triangle, star; they may overlap) on textured backgrounds,
with a label map per image. Takes seconds.

    python tools/misc/make_demo_seg.py data/demo_seg [--train 200 --val 40 --size 128 160]

Layout (mmseg's custom dataset, ``BaseSegDataset`` with .png suffixes):
    OUT/img_dir/{train,val}/*.png    RGB images
    OUT/ann_dir/{train,val}/*.png    uint8 label maps: 0 background, 1-4 the shapes
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
from make_demo_coco import BASE_COLORS, CATEGORIES, _polygon  # noqa: E402

CLASSES = ('background', ) + CATEGORIES


def texture(rng, h, w):
    """A background of two random colour gratings plus noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32) + rng.integers(80, 176, size=3)
    for _ in range(2):
        theta, period = rng.uniform(0, math.pi), rng.uniform(6, 40)
        wave = np.sin((xx * math.cos(theta) + yy * math.sin(theta)) * 2 * math.pi / period)
        img += wave[..., None] * rng.integers(-35, 36, size=3)
    img += rng.normal(0, 10, size=(h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def make_image(rng, h, w, max_objects=4):
    img = Image.fromarray(texture(rng, h, w))
    label = Image.new('L', (w, h), 0)
    draw, draw_label = ImageDraw.Draw(img), ImageDraw.Draw(label)
    for _ in range(int(rng.integers(1, max_objects + 1))):
        cat = int(rng.integers(len(CATEGORIES)))
        r = float(rng.uniform(10, min(w, h) / 3.5))
        cx, cy = float(rng.uniform(r / 2, w - r / 2)), float(rng.uniform(r / 2, h - r / 2))
        pts = _polygon(CATEGORIES[cat], cx, cy, r, float(rng.uniform(0, math.pi)))
        color = tuple(int(np.clip(c + rng.integers(-40, 41), 0, 255)) for c in BASE_COLORS[cat])
        draw.polygon(pts, fill=color)
        draw_label.polygon(pts, fill=cat + 1)
    return img, label


def make_split(out_dir, split, num_images, seed, size):
    rng = np.random.default_rng(seed)
    img_dir, ann_dir = osp.join(out_dir, 'img_dir', split), osp.join(out_dir, 'ann_dir', split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    counts = np.zeros(len(CLASSES), np.int64)
    for i in range(num_images):
        img, label = make_image(rng, *size)
        name = f'{split}_{i + 1:05d}.png'
        img.save(osp.join(img_dir, name))
        label.save(osp.join(ann_dir, name))
        counts += np.bincount(np.asarray(label).ravel(), minlength=len(CLASSES))
    return counts


@one_line_errors
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('out', nargs='?', default='data/demo_seg')
    p.add_argument('--overwrite', action='store_true',
                   help='write into an existing, non-empty folder')
    p.add_argument('--train', type=int, default=200, help='number of train images')
    p.add_argument('--val', type=int, default=40, help='number of val images')
    p.add_argument('--size', type=int, nargs=2, default=(128, 160), metavar=('H', 'W'),
                   help='image size')
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    check_output_dir(args.out, 'OUT', overwrite=args.overwrite)
    if min(args.train, args.val) < 1 or min(args.size) < 32:
        p.error('--train and --val must be >= 1 and --size >= 32 32, but got '
                f'{args.train}, {args.val} and {list(args.size)}')
    for split, n, seed in (('train', args.train, args.seed), ('val', args.val, args.seed + 1)):
        counts = make_split(args.out, split, n, seed, tuple(args.size))
        share = ', '.join(f'{c} {100 * k / counts.sum():.1f}%' for c, k in zip(CLASSES, counts))
        print(f'{split}: {n} images -> {args.out}/img_dir/{split}, labels in '
              f'{args.out}/ann_dir/{split} ({share})')


if __name__ == '__main__':
    main()
