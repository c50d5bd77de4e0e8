"""No tool writes over one of its inputs, every tool that writes refuses an
existing output without --overwrite, and outputs appear whole: what a
careless user (or a killed run) would otherwise lose. Also the checks of
what goes in: oversized images, calibration folders with link loops,
arguments out of range, a dataset whose metric file is missing, and the
messages users see."""
import os
import os.path as osp

import pytest
import torch

pytest.importorskip('mmdet')
pytest.importorskip('onnxruntime')

from rexnet_mm.utils.errors import UserError  # noqa: E402
from helpers.onnx_files import classifier_meta, detector_meta, tiny_onnx  # noqa: E402
from helpers.tool import (DEMO_DETECTORS, ROOT, assert_clean_error, copy_file, digest,  # noqa: E402
                          run_main, sample_photo)
from oracles.official_rexnet import official_model  # noqa: E402

IMAGE = sample_photo()
DET_CFG = osp.join(ROOT, DEMO_DETECTORS['faster'])
CLS_CFG = osp.join(ROOT, 'configs/demo/rexnet-w0.5_demo-cls.py')


# ------------------------------------------------------------------ infer.py --out-dir
def test_infer_never_draws_over_its_images(tmp_path):
    """--out-dir the images' own folder: refused before any work, the
    originals untouched (they used to be replaced by the drawings)."""
    det = tiny_onnx(tmp_path / 'det.onnx', detector_meta(), 'detector')
    img = copy_file(IMAGE, tmp_path / 'photos' / 'x.jpg')
    before = digest(img)
    rc, out = run_main('tools/infer.py', [det, img, '--out-dir', str(tmp_path / 'photos'),
                                          '--overwrite'])
    assert_clean_error(rc, out, '--out-dir drawing', 'is the input', 'the same file')
    assert digest(img) == before and 'detections' not in out
    # an existing drawing is kept unless --overwrite
    (tmp_path / 'vis').mkdir()
    (tmp_path / 'vis' / 'x.jpg').write_bytes(b'mine')
    rc, out = run_main('tools/infer.py', [det, img, '--out-dir', str(tmp_path / 'vis')])
    assert_clean_error(rc, out, 'exists; pass --overwrite')
    assert (tmp_path / 'vis' / 'x.jpg').read_bytes() == b'mine'


def test_infer_keeps_same_named_images_apart(tmp_path):
    """a/x.jpg and b/x.jpg: two drawings, x.jpg and x-2.jpg (one used to
    replace the other while both were reported)."""
    det = tiny_onnx(tmp_path / 'det.onnx', detector_meta(), 'detector')
    a, b = copy_file(IMAGE, tmp_path / 'a' / 'x.jpg'), copy_file(IMAGE, tmp_path / 'b' / 'x.jpg')
    rc, out = run_main('tools/infer.py', [det, a, b, '--out-dir', str(tmp_path / 'vis'),
                                          '--score-thr', '0.5'])
    assert rc == 0, out
    drawn = sorted(p.name for p in (tmp_path / 'vis').iterdir())
    assert drawn == ['x-2.jpg', 'x.jpg']
    assert f"drawn: {tmp_path / 'vis' / 'x.jpg'}" in out
    assert f"drawn: {tmp_path / 'vis' / 'x-2.jpg'}" in out


def test_oversized_image_is_refused_from_its_header(tmp_path):
    """A 1-bit PNG of 20000 x 20000 pixels is a small file that decodes to
    1.2 GB: refused in one line before decoding, by the tool and the API."""
    from PIL import Image

    from rexnet_mm.deploy import OnnxClassifier
    from rexnet_mm.utils.files import FileCheckError
    big = tmp_path / 'big.png'
    Image.new('1', (20000, 20000)).save(big)
    assert osp.getsize(big) < 2e6
    clf = tiny_onnx(tmp_path / 'c.onnx', classifier_meta())
    rc, out = run_main('tools/infer.py', [clf, str(big)])
    assert_clean_error(rc, out, str(big), '400.0 MP, over the limit of 50 MP', '--max-pixels')
    assert len(out.strip().splitlines()) == 1
    with pytest.raises(FileCheckError, match='over the limit of 50 MP'):
        OnnxClassifier(clf)(str(big))
    # the limit is an option: the photograph (512x600) passes the default, not 0.1 MP
    rc, out = run_main('tools/infer.py', [clf, IMAGE, '--max-pixels', '100000'])
    assert_clean_error(rc, out, '512x600 pixels, 0.3 MP, over the limit of 0.1 MP')
    rc, out = run_main('tools/infer.py', [clf, IMAGE])
    assert rc == 0 and any(c in out for c in ('cat', 'dog', 'fish')), out


# ------------------------------------------------------------------ tools/test.py --out
def test_test_out_never_replaces_the_checkpoint_or_an_existing_file(tmp_path):
    ckpt = tmp_path / 'model.pkl'  # a checkpoint named like a results file
    ckpt.write_bytes(b'weights')
    rc, out = run_main('tools/test.py', [DET_CFG, str(ckpt), '--out', str(ckpt)])
    assert_clean_error(rc, out, f'--out {ckpt} is the input', 'the same file')
    old = tmp_path / 'results.pkl'
    old.write_bytes(b'earlier results')
    rc, out = run_main('tools/test.py', [DET_CFG, str(ckpt), '--out', str(old)])
    assert_clean_error(rc, out, 'exists; pass --overwrite')
    assert ckpt.read_bytes() == b'weights' and old.read_bytes() == b'earlier results'
    # a directory given as the checkpoint is called a directory
    rc, out = run_main('tools/test.py', [DET_CFG, str(tmp_path)])
    assert_clean_error(rc, out, f'checkpoint {tmp_path} is a directory')


def test_test_checks_the_metrics_annotation_file_before_running(tiny_coco, tmp_path,
                                                                monkeypatch):
    """data_root moved, test_evaluator.ann_file not: stopped at once, naming
    the evaluator's file and the option (it used to fail in pycocotools
    after the whole run)."""
    monkeypatch.chdir(tmp_path)  # the config's relative default paths lead nowhere
    coco = tiny_coco / 'coco'
    rc, out = run_main('tools/test.py', [DET_CFG, str(tmp_path / 'none.pth'), '--cfg-options',
                                         f'test_dataloader.dataset.data_root={coco}/'])
    assert 'does not exist' in out  # the checkpoint is checked first
    (tmp_path / 'x.pth').write_bytes(b'x')
    rc, out = run_main('tools/test.py', [DET_CFG, str(tmp_path / 'x.pth'), '--work-dir',
                                         str(tmp_path / 'w'), '--cfg-options',
                                         f'test_dataloader.dataset.data_root={coco}/'])
    assert_clean_error(rc, out, 'test_evaluator: CocoMetric expects',
                       '--cfg-options test_evaluator.ann_file=')
    assert 'test_dataloader:' not in out  # the images were found


# ------------------------------------------------------------------ load_from conversion
def test_load_from_conversion_never_replaces_another(tmp_path):
    """Two official files of the same name, one after the other, in one work
    dir: two conversions side by side (the second used to replace the
    first), and a second run from the same file reuses its own."""
    from mmengine.config import Config

    from rexnet_mm.runner.config import convert_official_load_from
    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        src = tmp_path / f'v{seed}' / 'rexnet_lite_1.0.pth'
        src.parent.mkdir()
        torch.save(official_model('lite-1.0x', classes=10).state_dict(), src)
        cfg = Config(dict(load_from=str(src), resume=False, work_dir=str(tmp_path / 'work'),
                          model=dict(backbone=dict(type='ReXNet', arch='lite-1.0x'))))
        convert_official_load_from(cfg)
        paths.append(cfg.load_from)
    assert paths[0] != paths[1] and all(osp.isfile(p) for p in paths)
    a, b = (torch.load(p)['state_dict']['backbone.stem.conv.weight'] for p in paths)
    assert not torch.equal(a, b)
    mtime = os.stat(paths[1]).st_mtime_ns
    cfg.load_from = str(src)
    convert_official_load_from(cfg)
    assert cfg.load_from == paths[1] and os.stat(paths[1]).st_mtime_ns == mtime


def test_on_the_fly_conversion_refuses_nonfinite_weights(tmp_path):
    """load_from and init_cfg convert official files with the converter's
    checks: NaN/inf weights are refused (training used to run at loss nan)."""
    from mmengine.config import Config

    from rexnet_mm.models import ReXNet
    from rexnet_mm.runner.config import convert_official_load_from
    state = official_model('lite-1.0x', classes=10).state_dict()
    state['features.0.weight'][0, 0, 0, 0] = float('nan')
    src = tmp_path / 'nan.pth'
    torch.save(state, src)
    cfg = Config(dict(load_from=str(src), resume=False, work_dir=str(tmp_path / 'work'),
                      model=dict(backbone=dict(type='ReXNet', arch='lite-1.0x'))))
    with pytest.raises(UserError, match='NaN or infinite .*backbone.stem.conv.weight'):
        convert_official_load_from(cfg)
    assert not (tmp_path / 'work').exists()
    model = ReXNet('lite-1.0x', init_cfg=dict(type='Pretrained', checkpoint=str(src),
                                              prefix='backbone.'))
    with pytest.raises(ValueError, match='NaN or infinite'):
        model.init_weights()


# ------------------------------------------------------------------ messages
def test_safe_loader_refusal_gives_our_reason_only(tmp_path):
    """torch's advice to retry with weights_only=False (code execution) is
    never shown; the reason is."""
    from rexnet_mm.runner.checks import read_checkpoint

    class Evil:
        def __reduce__(self):
            return os.system, ('true', )
    torch.save({'state_dict': {}, 'x': Evil()}, tmp_path / 'evil.pth')
    with pytest.raises(UserError) as err:
        read_checkpoint(str(tmp_path / 'evil.pth'))
    msg = str(err.value)
    assert 'refused by the safe loader' in msg and 'system' in msg, msg
    for advice in ('weights_only=False', 'In PyTorch 2.6', 'add_safe_globals', 'file an issue'):
        assert advice not in msg, msg
