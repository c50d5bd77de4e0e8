"""Shared logic of tools/train.py and tools/test.py for mmdet, mmpretrain and
mmseg configs (the toolkit is picked from the config's default_scope)."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

SCOPES = ('mmdet', 'mmpretrain', 'mmseg')


class CfgOptionsAction(DictAction):
    """mmengine's DictAction, with a usage error (not a traceback) for an
    item that is not KEY=VALUE."""

    def __call__(self, parser, namespace, values, option_string=None):
        for kv in values:
            if '=' not in kv or kv.startswith('='):
                raise argparse.ArgumentError(
                    self, f'expected KEY=VALUE items (e.g. model.backbone.arch=0.9x), '
                    f'but got {kv!r}')
        super().__call__(parser, namespace, values, option_string)


def parse_common_args(parser, argv=None):
    """Add the options train.py and test.py share (--cfg-options, --arch,
    --launcher, --local-rank), parse, and export LOCAL_RANK as
    torch.distributed.launch did."""
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings, xxx=yyy format')
    parser.add_argument('--arch', help='switch the ReXNet backbone to this arch (e.g. 0.9x, '
                        'lite-1.5x) together with every width and the pretrained file that '
                        'follow it')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


PRECISIONS = ('fp32', 'bf16')


def add_precision_arg(parser):
    parser.add_argument('--precision', choices=PRECISIONS, default='fp32',
                        help='inference precision: bf16 runs the backbone and neck under '
                        'autocast (heads and post-processing stay fp32); fast on CPUs with '
                        'AMX/AVX512-BF16 and on bf16 GPUs, emulated (slow) elsewhere')


def apply_precision(model, precision, device='cpu'):
    """Run ``model`` at an inference ``precision``. bf16: its feature
    extractor (``extract_feat``: backbone and neck, the bulk of the work, in
    mmdet, mmpretrain and mmseg models alike) runs under autocast and returns
    float32 features, so heads, box decoding, NMS and post-processing stay
    float32 (mmpretrain's post-processing cannot take bf16 scores)."""
    import torch
    if precision == 'fp32':
        return model
    from rexnet_mm.runner.checks import unwrap
    net = unwrap(model)
    inner = net.extract_feat
    kind = torch.device(device).type

    def to_float(x):
        if isinstance(x, torch.Tensor):
            return x.float() if x.is_floating_point() else x
        if isinstance(x, (list, tuple)):
            return type(x)(to_float(v) for v in x)
        return x

    def extract_feat(*args, **kwargs):
        with torch.autocast(kind, dtype=torch.bfloat16):
            feats = inner(*args, **kwargs)
        return to_float(feats)

    net.extract_feat = extract_feat
    return model


def resolve_config(path):
    """A config path, or a toolkit's own config as ``mmdet::faster_rcnn/x.py``."""
    if '::' in path:
        pkg, rel = path.split('::', 1)
        from mmengine.utils import get_installed_path, is_installed
        if not is_installed(pkg):
            raise SystemExit(f'error: {path}: {pkg} is not installed')
        full = osp.join(get_installed_path(pkg), '.mim', 'configs', rel)
        if not osp.isfile(full):
            raise SystemExit(f'error: {path}: {pkg} has no config {rel} (looked in {full})')
        return full
    from rexnet_mm.utils.files import FileCheckError, check_input_file
    try:
        check_input_file(path, 'config')
    except FileCheckError as e:
        raise SystemExit(f'error: {e}') from None
    return path


def load_config(path, cfg_options=None, work_dir=None, arch=None):
    path = resolve_config(path)
    try:
        cfg = Config.fromfile(path)
    except SyntaxError as e:
        name = e.filename if e.filename and not e.filename.startswith('<') else path
        where = f'{name}, line {e.lineno}' if e.lineno else name
        text = f': {e.text.strip()}' if e.text else ''
        raise SystemExit(f'error: config {where}: {e.msg}{text}') from None
    except Exception as e:  # a name error, a missing base, an import inside the config
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ''
        raise SystemExit(f'error: cannot load config {path}: {type(e).__name__}: {msg}') from None
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
        except Exception as e:
            raise SystemExit(f'error: --cfg-options {cfg_options}: {type(e).__name__}: {e}') \
                from None
    if arch is not None:
        apply_arch(cfg, arch)
    scope = cfg.get('default_scope')
    if scope not in SCOPES:
        raise SystemExit(f'error: {path}: default_scope must be one of {SCOPES} '
                         f'(inherit an mmdet::, mmpretrain:: or mmseg:: base), but got {scope!r}')
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg


def apply_arch(cfg, arch):
    """``--arch``: switch the config's ReXNet backbone to ``arch`` together
    with the widths that follow it (neck and head input widths) and a
    pretrained file named after the arch; print every change."""
    from rexnet_mm.models.channels import arch_out_channels
    from rexnet_mm.models.classifier import classifier_widths
    from rexnet_mm.runner.checks import expected_widths, get_dotted
    backbone = cfg.model.get('backbone') or {}
    if backbone.get('type') != 'ReXNet':
        raise SystemExit(f'error: --arch {arch}: the config\'s backbone is '
                         f'{backbone.get("type")!r}, not ReXNet')
    try:
        out = arch_out_channels(arch, backbone.get('out_indices', (6, )))
    except ValueError as e:
        raise SystemExit(f'error: --arch: {e}') from None
    old = backbone.get('arch', '1.0x')
    changes = {'model.backbone.arch': arch}
    init = backbone.get('init_cfg')
    if isinstance(init, dict) and init.get('checkpoint') == f'checkpoints/rexnet_{old}.pth':
        changes['model.backbone.init_cfg.checkpoint'] = f'checkpoints/rexnet_{arch}.pth'
    changes.update(expected_widths(cfg, out, arch))
    head = cfg.model.get('head')
    if (isinstance(head, dict) and head.get('type') == 'ReXNetClsHead'
            and head.get('arch') is None):
        changes['model.head.mid_channels'] = classifier_widths(arch)[1]
    before = {k: get_dotted(cfg, k) for k in changes}
    cfg.merge_from_dict(changes)
    for k, v in changes.items():
        if before[k] != v:
            print(f'[rexnet_mm] --arch {arch}: {k} {before[k]} -> {v}', flush=True)


def convert_official_load_from(cfg):
    """``load_from`` naming an official ReXNetV1 / lite or timm file: convert
    it (as tools/model_converters/rexnet_to_mm.py does, same checks) into the
    work dir and point ``load_from`` there. Other files are left alone.

    The converted file is named after the source and its content hash
    (``converted_<name>-<sha256[:12]>.pth``): a second run from the same
    source reuses it, and another source of the same name never replaces it.
    """
    path = cfg.get('load_from')
    if not path or cfg.get('resume') or not osp.isfile(path):
        return
    from rexnet_mm.models.channels import ARCH_SETTINGS
    from rexnet_mm.models.convert import convert_rexnet
    from rexnet_mm.models.weights import official_layout
    from rexnet_mm.runner.checks import read_checkpoint
    from rexnet_mm.utils.checkpoint import save_whole
    from rexnet_mm.utils.files import content_hash
    ckpt = read_checkpoint(path, 'load_from checkpoint')
    if not official_layout(ckpt):
        return
    name = osp.splitext(osp.basename(path))[0]
    out = osp.join(cfg.work_dir, f'converted_{name}-{content_hash(path)[:12]}.pth')
    if osp.isfile(out):
        print(f'[rexnet_mm] load_from {path}: using its conversion {out}', flush=True)
        cfg.load_from = out
        return
    arch = (cfg.model.get('backbone') or {}).get('arch', '1.0x')
    try:
        layout, found, state = convert_rexnet(
            ckpt, arch if isinstance(arch, str) and arch in ARCH_SETTINGS else None)
    except ValueError as e:
        raise SystemExit(f'error: load_from {path}: {e}') from None
    save_whole({'state_dict': state, 'meta': dict(arch=found, layout=layout,
                                                  source=osp.basename(path))}, out)
    print(f'[rexnet_mm] load_from {path}: a {layout} ReXNet {found} file, converted to {out}',
          flush=True)
    cfg.load_from = out


def build_runner(cfg):
    """The Runner of ``cfg``, then the checks that need the built model: the
    neck/head widths against the backbone's."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from rexnet_mm.runner.checks import check_widths
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    check_widths(cfg, runner.model)
    return runner


def setup_cpu_distributed(cfg, launcher):
    """Let ``--launcher pytorch`` run without GPUs.

    mmengine's init_dist calls torch.cuda.set_device unconditionally, so on a
    machine without CUDA the process group (gloo) is created here, before the
    Runner, which then uses it. ``DIST_BACKEND`` overrides the backend either way.
    """
    import torch
    import torch.distributed as dist
    if launcher == 'none':
        return
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    backend = os.environ.get('DIST_BACKEND')
    if backend:
        dist_cfg['backend'] = backend
    if torch.cuda.is_available() or launcher != 'pytorch':
        return
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        print(f'[rexnet_mm] no CUDA device: distributed backend nccl -> gloo '
              f'(rank {os.environ.get("RANK")})', flush=True)
        dist_cfg['backend'] = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend=dist_cfg['backend'])
    # mmengine hands DDP device_ids=[LOCAL_RANK], which CPU modules reject
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    if wrapper.get('type', 'MMDistributedDataParallel') == 'MMDistributedDataParallel':
        wrapper['type'] = CPUDistributedDataParallel.__name__
        cfg.model_wrapper_cfg = wrapper


def teardown_distributed():
    """End a distributed run cleanly: wait for every rank, destroy the process
    group, flush, and leave without the interpreter's finalisation.

    With gloo, a rank's exit sometimes aborts (``terminate called without an
    active exception``, SIGABRT) after all work is done, while C++ objects
    are destroyed under gloo's threads at interpreter shutdown; torchrun then
    fails the whole run. A no-op for non-distributed runs.
    """
    import logging
    import sys

    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()):
        return
    dist.barrier()
    dist.destroy_process_group()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _cpu_ddp_class():
    from mmengine.model import MMDistributedDataParallel
    from mmengine.registry import MODEL_WRAPPERS

    class CPUDistributedDataParallel(MMDistributedDataParallel):
        """MMDistributedDataParallel for CPU modules (no device_ids)."""

        def __init__(self, module, device_ids=None, **kwargs):
            super().__init__(module=module, device_ids=None, **kwargs)

    MODEL_WRAPPERS.register_module(module=CPUDistributedDataParallel, force=True)
    return CPUDistributedDataParallel


CPUDistributedDataParallel = _cpu_ddp_class()


_SEG_DEMO = ('Try the pipeline on generated demo data instead: make demo-seg\n'
             '(python tools/misc/make_demo_seg.py data/demo_seg; '
             'python tools/train.py configs/demo/fpn_rexnet_demo_seg.py)')


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


def check_datasets(cfg, splits=('train_dataloader', 'val_dataloader', 'test_dataloader')):
    """Stop at once, naming the expected layout, when a dataset is missing
    (rather than a stack trace from inside pycocotools or a dataset class)."""
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
    if not problems:
        return
    lines = ['error: dataset not found:']
    for split, typ, path, root in problems:
        if split.endswith('_evaluator'):
            lines.append(f'  {split}: {typ} expects {path} (its own ann_file, not under '
                         f'data_root: point it there too with --cfg-options '
                         f'{split}.ann_file=<data_root>/annotations/...)')
        else:
            lines.append(f'  {split}: {typ} expects {path} (data_root={root!r})')
    typ = problems[0][1] or ''
    if 'Coco' in typ:
        lines += ['Expected COCO 2017 layout:',
                  '  data/coco/annotations/instances_{train,val}2017.json',
                  '  data/coco/{train,val}2017/*.jpg',
                  'Try the pipeline on generated demo data instead: make demo',
                  '(python tools/misc/make_demo_coco.py data/demo_coco; '
                  'python tools/train.py configs/demo/faster_rcnn_rexnet_demo.py)']
    elif typ == 'ImageNet':
        lines += ['Expected mmpretrain ImageNet layout:',
                  '  data/imagenet/{train,val}/<class>/*.JPEG  '
                  '(or meta/train.txt, meta/val.txt annotation lists)',
                  'Try a small generated set: python tools/misc/make_demo_cls.py data/demo_cls']
    elif typ == 'ADE20KDataset':
        lines += ['Expected ADE20K (ADEChallengeData2016) layout:',
                  '  data/ade/ADEChallengeData2016/images/{training,validation}/*.jpg',
                  '  data/ade/ADEChallengeData2016/annotations/{training,validation}/*.png',
                  _SEG_DEMO]
    elif typ == 'CityscapesDataset':
        lines += ['Expected Cityscapes layout (label maps made by mmseg\'s '
                  'tools/dataset_converters/cityscapes.py):',
                  '  data/cityscapes/leftImg8bit/{train,val}/<city>/*_leftImg8bit.png',
                  '  data/cityscapes/gtFine/{train,val}/<city>/*_gtFine_labelTrainIds.png',
                  _SEG_DEMO]
    elif typ == 'BaseSegDataset':
        lines += ['Expected mmseg custom-dataset layout:',
                  '  <data_root>/img_dir/{train,val}/*  and  <data_root>/ann_dir/{train,val}/*',
                  _SEG_DEMO]
    else:
        lines.append('Point the config at your data with --cfg-options '
                     '<split>.dataset.data_root=...')
    raise SystemExit('\n'.join(lines))
