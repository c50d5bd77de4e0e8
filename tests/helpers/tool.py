"""Test helper: run a repo tool as a user would, in a subprocess."""
import os
import os.path as osp
import subprocess

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def worker_threads():
    """Threads for a tool a test runs: 2, or this worker's share of the cores
    when pytest-xdist runs several workers (``make test``), so that two
    workers on two cores do not run four busy threads."""
    cores = len(os.sched_getaffinity(0))
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
    return max(1, min(2, cores // workers))


def run_tool(cmd, cwd=ROOT, timeout=900, env=None, threads=None, check=True):
    """Run ``cmd`` with the checkout on PYTHONPATH and ``threads`` OpenMP
    threads (default ``worker_threads()``). With ``check``, fail the test,
    showing the output's tail, unless it exits 0, and return stdout + stderr;
    without, return (exit code, stdout + stderr)."""
    e = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS=str(threads or worker_threads()))
    e.update(env or {})
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=e)
    out = proc.stdout + proc.stderr
    if not check:
        return proc.returncode, out
    assert proc.returncode == 0, f'{cmd} failed ({proc.returncode}):\n{out[-4000:]}'
    return out


def assert_clean_error(rc, out, *expected):
    """A tool refused its input the way users should see it: a non-zero exit
    (not a crash), one short message holding ``expected``, no traceback."""
    assert rc not in (0, -11, 139), f'rc {rc}:\n{out[-3000:]}'
    assert 'Traceback' not in out, out[-3000:]
    for text in expected:
        assert text in out, f'{text!r} not in:\n{out[-3000:]}'


# the demo detector configs (generated shapes set, CPU-sized)
DEMO_DETECTORS = {
    'faster': 'configs/demo/faster-rcnn_rexnet-1.0x_fpn_demo-coco.py',
    'mask': 'configs/demo/mask-rcnn_rexnet-1.0x_fpn_demo-coco.py',
    'ssdlite': 'configs/demo/ssdlite_rexnet-1.0x_demo-coco.py',
    'retina': 'configs/demo/retinanet_rexnet-1.0x_fpn_demo-coco.py',
}


def demo_det_options(data_root, iters, extra=(), kind='faster'):
    """--cfg-options values that point a demo detector config (``kind``, a key
    of DEMO_DETECTORS) at a generated COCO set and make it train ``iters``
    iterations, checkpointing every 2."""
    # SSDLite's train set sits in a RepeatDataset
    train = 'train_dataloader.dataset' + ('.dataset' if kind == 'ssdlite' else '')
    return [f'{train}.data_root={data_root}/',
            f'val_dataloader.dataset.data_root={data_root}/',
            f'test_dataloader.dataset.data_root={data_root}/',
            f'val_evaluator.ann_file={data_root}/annotations/instances_val.json',
            f'test_evaluator.ann_file={data_root}/annotations/instances_val.json',
            f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            'default_hooks.checkpoint.interval=2', 'default_hooks.checkpoint.max_keep_ckpts=3',
            'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False', 'val_dataloader.persistent_workers=False',
            'test_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
            'randomness.seed=0', 'default_hooks.logger.interval=1', *extra]


def sample_photo(name='grace_hopper.jpg'):
    """A photograph that ships with matplotlib (``mpl-data/sample_data``):
    the real image the tests run models on."""
    import matplotlib
    return osp.join(matplotlib.get_data_path(), 'sample_data', name)


def digest(path):
    """sha256 of a file: proves a tool left it untouched."""
    import hashlib
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def copy_file(src, dst):
    """``src`` copied to ``dst`` (folders made); returns ``dst`` as a str."""
    os.makedirs(osp.dirname(str(dst)), exist_ok=True)
    with open(src, 'rb') as f, open(dst, 'wb') as g:
        g.write(f.read())
    return str(dst)


def det_opts(tiny_coco, iters=2, extra=()):
    """--cfg-options for the demo Faster R-CNN on the session's tiny COCO set."""
    return ['--cfg-options', *demo_det_options(tiny_coco / 'coco', iters, extra)]


def refused(main, *args):
    """The message a tool's main() stops with (in this process)."""
    import pytest
    with pytest.raises(SystemExit) as err:
        main([str(a) for a in args])
    return str(err.value)


def load_tool(relpath):
    """A tool script (tools/...) as a module, to call its ``main(argv)`` in this
    process: for its argument checks, which end in ``SystemExit(message)``."""
    import importlib.util
    path = osp.join(ROOT, relpath)
    spec = importlib.util.spec_from_file_location(
        'tool_' + osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def config_toolkit(path):
    """The toolkit (mmdet, mmpretrain, mmseg) a config file inherits from,
    read from its ``_base_`` chain without loading it (None for none)."""
    import re
    with open(path) as f:
        m = re.search(r"^_base_\s*=\s*\[?\s*['\"]([^'\"]+)['\"]", f.read(), re.M)
    if m is None:
        return None
    base = m.group(1)
    if '::' in base:
        return base.split('::', 1)[0]
    return config_toolkit(osp.normpath(osp.join(osp.dirname(path), base)))


def repo_configs(toolkit):
    """The repo's configs (configs/**.py) built on ``toolkit``."""
    import glob
    paths = glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    return sorted(p for p in paths if config_toolkit(p) == toolkit)


def _forget_visualizers():
    """mmengine keeps one visualizer per name per process, and mmdet's configs
    all name theirs 'visualizer': without this, a tool run by ``run_main``
    would reuse an earlier run's, and write its config into that run's work
    dir (which the earlier test may have removed)."""
    from mmengine.visualization import Visualizer
    classes = [Visualizer]
    while classes:
        cls = classes.pop()
        cls._instance_dict.clear()
        classes.extend(cls.__subclasses__())


def run_main(relpath, argv):
    """A tool's ``main(argv)`` in this process (seconds of imports cheaper
    than a subprocess), reported as ``run_tool(check=False)`` would: (exit
    code, what it printed), where ``SystemExit(message)`` prints the message
    and exits 1, as the interpreter does. An unexpected exception propagates
    (a traceback a user would see) and fails the test."""
    import contextlib
    import io
    _forget_visualizers()
    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            load_tool(relpath).main(argv)
        except SystemExit as e:
            if isinstance(e.code, str):
                out.write(e.code + '\n')
                code = 1
            else:
                code = e.code or 0
    return code, out.getvalue()
