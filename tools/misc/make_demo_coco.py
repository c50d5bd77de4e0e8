#!/usr/bin/env python
"""Write a small, deterministic COCO-format detection / instance segmentation
set of coloured shapes: train and val splits, several categories, boxes and
polygon masks, images of varied sizes. Takes seconds.

    python tools/misc/make_demo_coco.py data/demo_coco [--train 160 --val 40]

Layout (the COCO layout mmdet's CocoDataset reads):
    OUT/annotations/instances_{train,val}.json
    OUT/{train,val}/*.png
"""
import argparse
import json
import math
import os
import os.path as osp

import numpy as np
from PIL import Image, ImageDraw

from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_output_dir

CATEGORIES = ('square', 'circle', 'triangle', 'star')
# a base hue per class (with jitter) so a small model learns in minutes
BASE_COLORS = ((220, 60, 50), (50, 170, 60), (50, 90, 220), (230, 200, 40))


def _polygon(cat, cx, cy, r, rot):
    if cat == 'square':
        angles = [rot + k * math.pi / 2 + math.pi / 4 for k in range(4)]
        radii = [r] * 4
    elif cat == 'circle':
        angles = [k * 2 * math.pi / 24 for k in range(24)]
        radii = [r] * 24
    elif cat == 'triangle':
        angles = [rot + k * 2 * math.pi / 3 - math.pi / 2 for k in range(3)]
        radii = [r] * 3
    else:  # five-pointed star
        angles = [rot + k * math.pi / 5 - math.pi / 2 for k in range(10)]
        radii = [r if k % 2 == 0 else r * 0.45 for k in range(10)]
    return [(cx + rr * math.cos(a), cy + rr * math.sin(a)) for a, rr in zip(angles, radii)]


def _poly_area(pts):
    x = np.array([p[0] for p in pts])
    y = np.array([p[1] for p in pts])
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def make_image(rng, img_id, max_objects=4):
    w = int(rng.integers(200, 321))
    h = int(rng.integers(160, 257))
    # smooth random background with noise
    base = rng.integers(90, 200, size=3)
    grad = np.linspace(0, 1, w)[None, :, None] * rng.integers(-40, 41, size=3)
    bg = np.clip(base + grad + rng.normal(0, 8, size=(h, w, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(bg)
    draw = ImageDraw.Draw(img)
    anns, boxes = [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _try in range(20):
            cat = int(rng.integers(len(CATEGORIES)))
            r = float(rng.uniform(14, min(w, h) / 4))
            cx, cy = float(rng.uniform(r, w - r)), float(rng.uniform(r, h - r))
            pts = _polygon(CATEGORIES[cat], cx, cy, r, float(rng.uniform(0, math.pi)))
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            box = [min(xs), min(ys), max(xs), max(ys)]
            # no overlaps: masks and boxes stay exact
            if all(box[2] < b[0] - 2 or box[0] > b[2] + 2 or box[3] < b[1] - 2
                   or box[1] > b[3] + 2 for b in boxes):
                break
        else:
            continue
        boxes.append(box)
        color = tuple(int(np.clip(c + rng.integers(-30, 31), 0, 255)) for c in BASE_COLORS[cat])
        draw.polygon(pts, fill=color, outline=tuple(max(c - 60, 0) for c in color))
        anns.append(dict(
            image_id=img_id, category_id=cat + 1, iscrowd=0,
            bbox=[round(box[0], 2), round(box[1], 2), round(box[2] - box[0], 2),
                  round(box[3] - box[1], 2)],
            area=round(_poly_area(pts), 2),
            segmentation=[[round(v, 2) for p in pts for v in p]]))
    return img, anns


def make_split(out_dir, split, num_images, seed):
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(out_dir, split), exist_ok=True)
    images, annotations = [], []
    for i in range(num_images):
        img_id = i + 1
        img, anns = make_image(rng, img_id)
        name = f'{split}_{img_id:05d}.png'
        img.save(osp.join(out_dir, split, name))
        images.append(dict(id=img_id, file_name=name, width=img.width, height=img.height))
        for a in anns:
            a['id'] = len(annotations) + 1
            annotations.append(a)
    coco = dict(images=images, annotations=annotations,
                categories=[dict(id=i + 1, name=n, supercategory='shape')
                            for i, n in enumerate(CATEGORIES)])
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    with open(osp.join(out_dir, 'annotations', f'instances_{split}.json'), 'w') as f:
        json.dump(coco, f)
    return len(images), len(annotations)


@one_line_errors
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('out', nargs='?', default='data/demo_coco')
    p.add_argument('--overwrite', action='store_true',
                   help='write into an existing, non-empty folder')
    p.add_argument('--train', type=int, default=200, help='number of train images')
    p.add_argument('--val', type=int, default=40, help='number of val images')
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    check_output_dir(args.out, 'OUT', overwrite=args.overwrite)
    for split, n, seed in (('train', args.train, args.seed), ('val', args.val, args.seed + 1)):
        ni, na = make_split(args.out, split, n, seed)
        print(f'{split}: {ni} images, {na} objects -> {args.out}/{split}')
    print(f'categories: {", ".join(CATEGORIES)}')


if __name__ == '__main__':
    main()
