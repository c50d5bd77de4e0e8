"""A config for a run: resolved (``mmdet::`` paths too), loaded with one
paragraph for any error, switched to another arch (``--arch``), its
official/timm ``load_from`` converted, and its Runner built and checked.
The toolkit is picked from the config's default_scope."""
import os.path as osp

from mmengine.config import Config

from ..utils.errors import UserError

SCOPES = ('mmdet', 'mmpretrain', 'mmseg')


def resolve_config(path):
    """A config path, or a toolkit's own config as ``mmdet::faster_rcnn/x.py``
    (``rexnet_mm::detection/x.py``: ours, from a wheel or a checkout)."""
    if '::' in path:
        pkg, rel = path.split('::', 1)
        from mmengine.utils import get_installed_path, is_installed
        if pkg == 'rexnet_mm':
            from ..registry import mim_root
            root = mim_root()
        elif is_installed(pkg):
            root = osp.join(get_installed_path(pkg), '.mim')
        else:
            raise UserError(f'{path}: {pkg} is not installed')
        full = osp.join(root, 'configs', rel)
        if not osp.isfile(full):
            raise UserError(f'{path}: {pkg} has no config {rel} (looked in {full})')
        return full
    from ..utils.files import check_input_file
    check_input_file(path, 'config')
    return path


def load_config(path, cfg_options=None, work_dir=None, arch=None):
    path = resolve_config(path)
    try:
        cfg = Config.fromfile(path)
    except SyntaxError as e:
        name = e.filename if e.filename and not e.filename.startswith('<') else path
        where = f'{name}, line {e.lineno}' if e.lineno else name
        text = f': {e.text.strip()}' if e.text else ''
        raise UserError(f'config {where}: {e.msg}{text}') from None
    except Exception as e:  # a name error, a missing base, an import inside the config
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ''
        raise UserError(f'cannot load config {path}: {type(e).__name__}: {msg}') from None
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
        except Exception as e:
            raise UserError(f'--cfg-options {cfg_options}: {type(e).__name__}: {e}') \
                from None
    if arch is not None:
        apply_arch(cfg, arch)
    scope = cfg.get('default_scope')
    if scope not in SCOPES:
        raise UserError(f'{path}: default_scope must be one of {SCOPES} '
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
    from ..models.channels import arch_out_channels
    from ..models.classifier import classifier_widths
    from .checks import expected_widths, get_dotted
    backbone = cfg.model.get('backbone') or {}
    if backbone.get('type') != 'ReXNet':
        raise UserError(f'--arch {arch}: the config\'s backbone is '
                        f'{backbone.get("type")!r}, not ReXNet')
    try:
        out = arch_out_channels(arch, backbone.get('out_indices', (6, )))
    except ValueError as e:
        raise UserError(f'--arch: {e}') from None
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
    from ..models.channels import ARCH_SETTINGS
    from ..models.convert import convert_rexnet
    from ..models.weights import official_layout
    from ..utils.checkpoint import save_whole
    from ..utils.files import content_hash
    from .checks import read_checkpoint
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
        raise UserError(f'load_from {path}: {e}') from None
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

    from .checks import check_widths
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    check_widths(cfg, runner.model)
    return runner
