#!/usr/bin/env python
"""`make demo`: the project's main job on embedded demo data, end to end.

1. writes the demo COCO set (tools/misc/make_demo_coco.py) if missing,
2. evaluates the untrained model (the baseline to beat),
3. trains configs/faster_rcnn_rexnet_fpn_coco.py on it through tools/train.py
   (via configs/demo/faster_rcnn_rexnet_demo.py: same model, demo data,
   256x192, from scratch),
4. evaluates COCO bbox mAP with tools/test.py and draws the predictions on
   the val images,
5. prints the val bbox mAP against the untrained model's.
"""
import argparse
import os
import os.path as osp
import re
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join('configs', 'demo', 'faster_rcnn_rexnet_demo.py')


def log(msg):
    print(f'[demo] {msg}', flush=True)


def run(cmd, tee=True):
    """Run a tool, streaming its output (progress) and returning it."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if tee and ('Iter(' in line or 'bbox_mAP:' in line
                    or line.startswith(('Traceback', 'error', 'Error'))):
            print('  ' + line.rstrip()[:200], flush=True)
    proc.wait()
    out = ''.join(lines)
    if proc.returncode != 0:
        sys.stderr.write(out[-3000:])
        raise SystemExit(f'[demo] {" ".join(cmd[:3])} ... failed ({proc.returncode})')
    return out


def bbox_map(out):
    m = re.findall(r'coco/bbox_mAP: (-?[0-9.]+)\s+coco/bbox_mAP_50: (-?[0-9.]+)', out)
    return (float(m[-1][0]), float(m[-1][1])) if m else (0.0, 0.0)


def save_untrained(work_dir):
    """The randomly initialised model as a checkpoint, for the baseline."""
    import torch
    from mmengine.config import Config

    from rexnet_mm.analysis import build_from_config
    torch.manual_seed(0)
    model, _ = build_from_config(Config.fromfile(osp.join(ROOT, CONFIG)))
    path = osp.join(work_dir, 'untrained.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--data', default='data/demo_coco')
    p.add_argument('--cfg-options', nargs='+', default=[],
                   help='passed to tools/train.py and tools/test.py')
    args = p.parse_args(argv)
    t0 = time.time()
    py = sys.executable
    work = osp.join(ROOT, args.work_dir)
    os.makedirs(work, exist_ok=True)
    opts = ['--cfg-options'] + args.cfg_options if args.cfg_options else []

    if not osp.isfile(osp.join(ROOT, args.data, 'annotations', 'instances_train.json')):
        log(f'1/5 writing the demo COCO set to {args.data}')
        run([py, 'tools/misc/make_demo_coco.py', args.data])
    else:
        log(f'1/5 demo COCO set found in {args.data}')

    log('2/5 evaluating the untrained model (baseline)')
    untrained = save_untrained(work)
    out = run([py, 'tools/test.py', CONFIG, untrained, '--work-dir', osp.join(work, 'untrained')]
              + opts, tee=False)
    base_map, base_map50 = bbox_map(out)
    log(f'    untrained val bbox mAP {base_map:.3f} (mAP@50 {base_map50:.3f})')

    log(f'3/5 training {CONFIG} (Faster R-CNN + FPN, ReXNet-1.0x) on {args.data}')
    t_train = time.time()
    run([py, 'tools/train.py', CONFIG, '--work-dir', work] + opts)
    t_train = time.time() - t_train
    with open(osp.join(work, 'last_checkpoint')) as f:
        ckpt = f.read().strip()

    log('4/5 evaluating the trained model and drawing its predictions')
    out = run([py, 'tools/test.py', CONFIG, ckpt, '--work-dir', osp.join(work, 'test'),
               '--show-dir', 'vis'] + opts)
    trained_map, trained_map50 = bbox_map(out)
    runs = sorted(d for d in os.listdir(osp.join(work, 'test')) if d[:8].isdigit())
    vis = osp.join(args.work_dir, 'test', runs[-1], 'vis') if runs else '?'

    log('5/5 done')
    log(f'training time {t_train / 60:.1f} min; whole demo {(time.time() - t0) / 60:.1f} min')
    log(f'predictions drawn on the val images: {vis}/')
    log(f'untrained model: val bbox mAP {base_map:.3f} (mAP@50 {base_map50:.3f})')
    log(f'trained model:   val bbox mAP {trained_map:.3f} (mAP@50 {trained_map50:.3f})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
