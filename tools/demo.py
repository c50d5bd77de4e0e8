#!/usr/bin/env python
"""`make demo` / `make demo-seg`: the project's main jobs on generated demo
data, end to end.

    python tools/demo.py          # detection: Faster R-CNN + FPN
    python tools/demo.py --seg    # semantic segmentation: Semantic FPN

1. writes the demo set (tools/misc/make_demo_coco.py or make_demo_seg.py) if
   missing,
2. evaluates the untrained model (the baseline to beat),
3. trains it through tools/train.py: configs/detection/faster-rcnn_rexnet-1.0x_fpn_1x_coco.py
   (via configs/demo/faster-rcnn_rexnet-1.0x_fpn_demo-coco.py: same model, demo data,
   256x192, from scratch), or configs/segmentation/fpn_rexnet-1.0x_4xb4-160k_ade20k-512x512.py
   (via configs/demo/fpn_rexnet-1.0x_demo-seg.py: 128x160, from scratch),
4. evaluates it with tools/test.py (COCO bbox mAP, or mIoU) and draws the
   predictions on the val images,
5. prints the val metric against the untrained model's.
"""
import argparse
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import NamedTuple, Tuple

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


class Task(NamedTuple):
    config: str
    data: str  # default data directory
    marker: str  # a file or folder the written set has, relative to data
    maker: str  # tool that writes the set
    what: str
    metric: str  # printed name
    pattern: str  # regex: the metric's value in a tool's log (first group)
    log_marks: Tuple[str, ...]  # log lines streamed to the console


TASKS = {
    'det': Task(osp.join('configs', 'demo', 'faster-rcnn_rexnet-1.0x_fpn_demo-coco.py'),
                'data/demo_coco',
                'annotations/instances_train.json', 'tools/misc/make_demo_coco.py',
                'Faster R-CNN + FPN, ReXNet-1.0x', 'bbox mAP',
                r'coco/bbox_mAP: (-?[0-9.]+)', ('Iter(', 'bbox_mAP:')),
    'seg': Task(osp.join('configs', 'demo', 'fpn_rexnet-1.0x_demo-seg.py'), 'data/demo_seg',
                'ann_dir/val', 'tools/misc/make_demo_seg.py', 'Semantic FPN, ReXNet-1.0x',
                'mIoU', r'mIoU: (-?[0-9.]+)', ('Iter(', 'mIoU:')),
}


def log(msg):
    print(f'[demo] {msg}', flush=True)


def run(cmd, tee=True, marks=('Iter(', )):
    """Run a tool, streaming its output (progress) and returning it."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if tee and (any(m in line for m in marks)
                    or line.startswith(('Traceback', 'error', 'Error'))):
            print('  ' + line.rstrip()[:200], flush=True)
    proc.wait()
    out = ''.join(lines)
    if proc.returncode != 0:
        sys.stderr.write(out[-3000:])
        raise SystemExit(f'[demo] {" ".join(cmd[:3])} ... failed ({proc.returncode})')
    return out


def metric(task, out):
    """The task's metric from a tool's log (mmseg prints mIoU in percent)."""
    m = re.findall(task.pattern, out)
    if not m:
        raise SystemExit(f'[demo] no {task.metric} in the evaluation log:\n{out[-2000:]}')
    value = float(m[-1])
    return value / 100 if task.metric == 'mIoU' else value


def save_untrained(work_dir, config):
    """The randomly initialised model as a checkpoint, for the baseline."""
    import torch
    from mmengine.config import Config

    from rexnet_mm.runner.build import build_from_config
    torch.manual_seed(0)
    model, _ = build_from_config(Config.fromfile(osp.join(ROOT, config)))
    path = osp.join(work_dir, 'untrained.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def cfg_options(args, data: str) -> list:
    """The --cfg-options for tools/train.py and tools/test.py: the user's,
    and, with --data, every split pointed at it (the configs read
    data/demo_*)."""
    opts = list(args.cfg_options)
    if args.data:
        opts += [f'{s}.dataset.data_root={data.rstrip("/")}/' for s in
                 ('train_dataloader', 'val_dataloader', 'test_dataloader')]
        if not args.seg:
            opts += [f'{s}.ann_file={data.rstrip("/")}/annotations/instances_val.json'
                     for s in ('val_evaluator', 'test_evaluator')]
    return ['--cfg-options'] + opts if opts else []


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--seg', action='store_true',
                   help='the semantic segmentation demo (make demo-seg)')
    p.add_argument('--work-dir', help='default: work_dirs/demo or work_dirs/demo_seg')
    p.add_argument('--data', help='default: data/demo_coco or data/demo_seg')
    p.add_argument('--cfg-options', nargs='+', default=[],
                   help='passed to tools/train.py and tools/test.py')
    args = p.parse_args(argv)
    task = TASKS['seg' if args.seg else 'det']
    data = args.data or task.data
    work_rel = args.work_dir or ('work_dirs/demo_seg' if args.seg else 'work_dirs/demo')
    t0 = time.time()
    py = sys.executable
    work = osp.join(ROOT, work_rel)
    os.makedirs(work, exist_ok=True)
    opts = cfg_options(args, data)

    if not osp.exists(osp.join(ROOT, data, task.marker)):
        log(f'1/5 writing the demo set to {data}')
        run([py, task.maker, data, '--overwrite'])  # a set left half-written is redone
    else:
        log(f'1/5 demo set found in {data}')

    log('2/5 evaluating the untrained model (baseline)')
    untrained = save_untrained(work, task.config)
    out = run([py, 'tools/test.py', task.config, untrained, '--work-dir',
               osp.join(work, 'untrained')] + opts, tee=False)
    base = metric(task, out)
    log(f'    untrained val {task.metric} {base:.3f}')

    log(f'3/5 training {task.config} ({task.what}) on {data}')
    t_train = time.time()
    run([py, 'tools/train.py', task.config, '--work-dir', work] + opts, marks=task.log_marks)
    t_train = time.time() - t_train
    with open(osp.join(work, 'last_checkpoint')) as f:
        ckpt = f.read().strip()

    log('4/5 evaluating the trained model and drawing its predictions')
    test_dir = osp.join(work, 'test')
    out = run([py, 'tools/test.py', task.config, ckpt, '--work-dir', test_dir,
               '--show-dir', 'vis'] + opts, marks=task.log_marks)
    trained = metric(task, out)
    if args.seg:
        vis = osp.join(work_rel, 'test', 'vis', 'vis_data', 'vis_image')
    else:
        runs = sorted(d for d in os.listdir(test_dir) if d[:8].isdigit())
        vis = osp.join(work_rel, 'test', runs[-1], 'vis') if runs else '?'

    log('5/5 done')
    log(f'training time {t_train / 60:.1f} min; whole demo {(time.time() - t0) / 60:.1f} min')
    log(f'predictions drawn on the val images: {vis}/')
    log(f'untrained model: val {task.metric} {base:.3f}')
    log(f'trained model:   val {task.metric} {trained:.3f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
