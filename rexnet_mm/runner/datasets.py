"""The dataset check the tools run before any work: every dataset and metric
file a config names is there, or one message names the expected layout and
a generated demo set to try the pipeline on (a
:class:`~rexnet_mm.utils.errors.UserError`)."""
import os.path as osp

from ..utils.errors import UserError

_SEG_DEMO = ('Try the pipeline on generated demo data instead: make demo-seg\n'
             '(python tools/misc/make_demo_seg.py data/demo_seg; '
             'python tools/train.py configs/demo/fpn_rexnet-1.0x_demo-seg.py)')


def _datasets(cfg):
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(split)
        if not loader:
            continue
        ds = loader.get('dataset', {})
        while isinstance(ds, dict) and 'dataset' in ds:  # wrappers (RepeatDataset, ...)
            ds = ds['dataset']
        if isinstance(ds, dict):
            yield split, ds


# what each dataset type expects, and how to try the pipeline without it
_LAYOUTS = {
    'Coco': ['Expected COCO 2017 layout:',
             '  data/coco/annotations/instances_{train,val}2017.json',
             '  data/coco/{train,val}2017/*.jpg',
             'Try the pipeline on generated demo data instead: make demo',
             '(python tools/misc/make_demo_coco.py data/demo_coco; '
             'python tools/train.py configs/demo/faster-rcnn_rexnet-1.0x_fpn_demo-coco.py)'],
    'ImageNet': ['Expected mmpretrain ImageNet layout:',
                 '  data/imagenet/{train,val}/<class>/*.JPEG  '
                 '(or meta/train.txt, meta/val.txt annotation lists)',
                 'Try a small generated set: python tools/misc/make_demo_cls.py data/demo_cls'],
    'ADE20KDataset': ['Expected ADE20K (ADEChallengeData2016) layout:',
                      '  data/ade/ADEChallengeData2016/images/{training,validation}/*.jpg',
                      '  data/ade/ADEChallengeData2016/annotations/{training,validation}/*.png',
                      _SEG_DEMO],
    'CityscapesDataset': ['Expected Cityscapes layout (label maps made by mmseg\'s '
                          'tools/dataset_converters/cityscapes.py):',
                          '  data/cityscapes/leftImg8bit/{train,val}/<city>/*_leftImg8bit.png',
                          '  data/cityscapes/gtFine/{train,val}/<city>/*_gtFine_labelTrainIds.png',
                          _SEG_DEMO],
    'BaseSegDataset': ['Expected mmseg custom-dataset layout:',
                       '  <data_root>/img_dir/{train,val}/*  and  '
                       '<data_root>/ann_dir/{train,val}/*',
                       _SEG_DEMO],
}


def _layout_hint(typ: str) -> list:
    for key, lines in _LAYOUTS.items():
        if (key in typ) if key == 'Coco' else (typ == key):
            return lines
    return ['Point the config at your data with --cfg-options '
            '<split>.dataset.data_root=...']


def _missing_paths(cfg, splits):
    """(split, type, path, data_root) of every dataset or metric file that
    is not there."""
    problems = []
    for split, ds in _datasets(cfg):
        if split not in splits:
            continue
        root = ds.get('data_root', '') or ''
        ann = ds.get('ann_file', '') or ''
        prefix = ds.get('data_prefix', '')
        if isinstance(prefix, dict):
            prefix = prefix.get('img', prefix.get('img_path', '')) or ''
        ann_path = osp.join(root, ann) if ann and not osp.isabs(ann) else ann
        img_path = osp.join(root, prefix) if prefix and not osp.isabs(prefix) else prefix
        if ann_path and not osp.exists(ann_path):
            problems.append((split, ds.get('type'), ann_path, root))
        elif not ann_path and (img_path or root) and not osp.exists(img_path or root):
            problems.append((split, ds.get('type'), img_path or root, root))
        # the metric reads its own annotation file (COCO), only after the whole run
        evaluator = cfg.get(split.replace('_dataloader', '_evaluator'))
        for metric in evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]:
            ann = metric.get('ann_file') if isinstance(metric, dict) else None
            if ann and not osp.exists(ann):
                problems.append((split.replace('_dataloader', '_evaluator'), metric.get('type'),
                                 ann, root))
    return problems


def check_datasets(cfg, splits=('train_dataloader', 'val_dataloader', 'test_dataloader')):
    """Stop at once, naming the expected layout, when a dataset is missing
    (rather than a stack trace from inside pycocotools or a dataset class)."""
    problems = _missing_paths(cfg, splits)
    if not problems:
        return
    lines = ['dataset not found:']
    for split, typ, path, root in problems:
        if split.endswith('_evaluator'):
            lines.append(f'  {split}: {typ} expects {path} (its own ann_file, not under '
                         f'data_root: point it there too with --cfg-options '
                         f'{split}.ann_file=<data_root>/annotations/...)')
        else:
            lines.append(f'  {split}: {typ} expects {path} (data_root={root!r})')
    raise UserError('\n'.join(lines + _layout_hint(problems[0][1] or '')))
