"""The deploy tools' outputs and inputs: export, quantize and reparameterize
refuse bad bounds, images, calibration folders and existing outputs, and the
partial files of killed runs are named and cleaned."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

pytest.importorskip('mmdet')
pytest.importorskip('onnxruntime')

from helpers.onnx_files import classifier_meta, tiny_onnx  # noqa: E402
from helpers.tool import (DEMO_DETECTORS, ROOT, assert_clean_error, copy_file, digest,  # noqa: E402
                          run_main, sample_photo)

IMAGE = sample_photo()
DET_CFG = osp.join(ROOT, DEMO_DETECTORS['faster'])
CLS_CFG = osp.join(ROOT, 'configs/demo/rexnet-w0.5_demo-cls.py')


# ------------------------------------------------------------------ export and quantize
def test_export_cfg_options_runs_the_deploy_checkpoint_recipe(tmp_path):
    """The recipe export_onnx.py's help gives: a fused checkpoint with
    --cfg-options model.backbone.deploy=True (every use of --cfg-options
    failed: 'list' object has no attribute 'items')."""
    from rexnet_mm.deploy import OnnxClassifier
    from rexnet_mm.runner.build import build_from_config
    torch.manual_seed(0)
    model, _ = build_from_config(CLS_CFG)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, tmp_path / 'plain.pth')
    rc, out = run_main('tools/model_converters/reparameterize_model.py',
                       [CLS_CFG, str(tmp_path / 'plain.pth'), str(tmp_path / 'fused.pth')])
    assert rc == 0, out
    out_onnx = tmp_path / 'fused.onnx'
    rc, out = run_main('tools/deployment/export_onnx.py', [
        CLS_CFG, str(tmp_path / 'fused.pth'), '--out', str(out_onnx), '--exporter', 'torchscript',
        '--dynamic',
        '--check', IMAGE, '--cfg-options', 'model.backbone.deploy=True', 'model.head.deploy=True'])
    assert rc == 0, out
    assert 'onnxruntime equals PyTorch within' in out
    assert OnnxClassifier(str(out_onnx)).meta['config'] == 'rexnet-w0.5_demo-cls.py'
    # the fused checkpoint without the knob: named as what it is
    rc, out = run_main('tools/infer.py', [CLS_CFG, str(tmp_path / 'fused.pth'), IMAGE])
    assert_clean_error(rc, out, 'fused (deploy) checkpoint', 'model.backbone.deploy=True')
    assert 'backbone-only' not in out


def test_export_bounds_and_image_checks(tmp_path):
    ckpt = tmp_path / 'c.pth'
    ckpt.write_bytes(b'x')
    for extra, expected in [(['--shape', '100000', '100000'], '--shape H W must be in 64-8192'),
                            (['--max-dets', '1000000000'], '--max-dets must be in 1-10000'),
                            (['--batch', '0'], '--batch must be in 1-1024')]:
        rc, out = run_main('tools/deployment/export_onnx.py',
                           [DET_CFG, str(ckpt), '--out', str(tmp_path / 'o.onnx'), *extra])
        assert rc == 2 and expected in out, out
    junk = tmp_path / 'junk.jpg'
    junk.write_bytes(b'\xff\xd8\xff\xe0' + os.urandom(100))
    rc, out = run_main('tools/deployment/export_onnx.py',
                       [DET_CFG, str(ckpt), '--out', str(tmp_path / 'o.onnx'), '--check',
                        str(junk)])
    assert_clean_error(rc, out, f'--check image {junk} cannot be decoded')
    assert len(out.strip().splitlines()) == 1
    rc, out = run_main('tools/deployment/export_onnx.py',
                       [DET_CFG, str(ckpt), '--out', str(ckpt)])
    assert_clean_error(rc, out, '--out must name a .onnx file')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['c.pth', 'junk.jpg']


def test_calibration_folder_with_link_loops_and_bad_arguments(tmp_path):
    """Links to '.' used to hang the walk (one image taken 41 times); each
    image is now taken once. --num <= 0, an output that is a folder or the
    model, are refused before calibrating."""
    from rexnet_mm.utils.images import list_images
    calib = tmp_path / 'calib'
    a, b = copy_file(IMAGE, calib / 'a.jpg'), copy_file(IMAGE, calib / 'sub' / 'b.jpg')
    for name in ('loop1', 'loop2', 'loop3'):
        os.symlink('.', calib / name)
    os.symlink(a, calib / 'alias.jpg')
    assert list_images([str(calib)]) == [a, b]
    assert list_images([str(calib), a]) == [a, b]
    model = tiny_onnx(tmp_path / 'c.onnx', classifier_meta())
    before = digest(model)
    (tmp_path / 'outdir').mkdir()
    for extra, expected, rc_want in [
            (['--num', '-5', '--out', str(tmp_path / 'q.onnx')], '--num must be >= 1', 2),
            (['--out', str(tmp_path / 'outdir')], 'is a directory', 1),
            (['--out', model, '--overwrite'], 'the same file', 1),
            (['--out', str(tmp_path / 'q.txt')], 'must name a .onnx file', 1)]:
        rc, out = run_main('tools/deployment/quantize_onnx.py',
                           [model, '--calib', str(calib), *extra])
        assert rc == rc_want and expected in out and 'calibrating' not in out, out
    assert digest(model) == before
    # a missing output folder is made, and the calibration takes each image once
    out_path = tmp_path / 'new' / 'q.onnx'
    rc, out = run_main('tools/deployment/quantize_onnx.py',
                       [model, '--calib', str(calib), '--out', str(out_path)])
    assert rc == 0 and 'calibrating on 2 images' in out and out_path.is_file(), out


def _dead_pid():
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


def test_partial_files_of_killed_runs_are_named_and_cleaned(tmp_path):
    """A run killed mid-write leaves ``.<name>.<pid>.part`` (quantize: a
    ``.<name>.<pid>.quantize`` folder) beside its output; the next run that
    writes the same output removes those of dead processes, not a live
    one's."""
    from rexnet_mm.utils.checkpoint import save_whole
    dead, live = _dead_pid(), os.getppid()
    stale = [tmp_path / f'.w.pth.{dead}.part', tmp_path / f'.q.onnx.{dead}.quantize']
    stale[0].write_bytes(b'half')
    stale[1].mkdir()
    (stale[1] / 'pre.onnx').write_bytes(b'half')
    other = tmp_path / f'.w.pth.{live}.part'
    other.write_bytes(b'writing')
    save_whole({'x': torch.ones(1)}, str(tmp_path / 'w.pth'))
    assert not stale[0].exists() and other.exists()
    model = tiny_onnx(tmp_path / 'c.onnx', classifier_meta())
    rc, out = run_main('tools/deployment/quantize_onnx.py',
                       [model, '--calib', IMAGE, '--out', str(tmp_path / 'q.onnx')])
    assert rc == 0, out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [other.name, 'c.onnx', 'q.onnx', 'w.pth'])


def test_reparameterize_output_checks(tmp_path):
    ckpt = tmp_path / 'c.pth'
    ckpt.write_bytes(b'weights')
    (tmp_path / 'out').mkdir()
    for out_path, expected in [(ckpt, 'is the checkpoint'), (tmp_path / 'out', 'is a directory')]:
        rc, out = run_main('tools/model_converters/reparameterize_model.py',
                           [CLS_CFG, str(ckpt), str(out_path), '--overwrite'])
        assert_clean_error(rc, out, expected)
    assert ckpt.read_bytes() == b'weights'


def test_generators_and_analysis_refuse_a_nonempty_folder(tmp_path):
    (tmp_path / 'mine.txt').write_text('keep')
    for tool, argv in [('tools/misc/make_demo_coco.py', [str(tmp_path)]),
                       ('tools/analysis/rank_study.py', ['--out', str(tmp_path), '--quick'])]:
        rc, out = run_main(tool, argv)
        assert_clean_error(rc, out, 'exists and is not empty', '--overwrite')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['mine.txt']
