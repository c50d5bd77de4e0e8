"""Export-safe forward and ONNX: torch.compile without graph breaks, and
tools/deployment/export_onnx.py checked in onnxruntime for a V1 and a lite
classifier and a 4-tap backbone (dynamic, odd size); the exported classifier
runs in tools/infer.py with mmpretrain's own predictions, and quantizes to
int8."""
import contextlib
import io
import os.path as osp

import numpy as np
import pytest
import torch

from rexnet_mm.models import ReXNet
from helpers.tool import ROOT, load_tool, sample_photo
from oracles.official_rexnet import randomize_bn

pytest.importorskip('mmpretrain')
IMAGE = sample_photo()
V1 = osp.join(ROOT, 'configs', 'classification', 'rexnet-1.0x_4xb128_in1k.py')
LITE = osp.join(ROOT, 'configs', 'classification', 'rexnet-lite-1.0x_4xb128_in1k.py')


@pytest.mark.parametrize('deploy', [False, True], ids=['plain', 'fused'])
def test_compile_has_no_graph_break(deploy):
    torch.manual_seed(0)
    m = ReXNet('1.0x', out_indices=(1, 2, 4, 6)).eval()
    if deploy:
        m.switch_to_deploy()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        explained = torch._dynamo.explain(m)(x)
        assert explained.graph_break_count == 0 and explained.graph_count == 1
        # the functional forms a traced graph uses equal the eager in-place ones
        traced = torch.jit.trace(m, (x, ), check_trace=False)
        y = torch.randn(2, 3, 64, 64)
        for a, b in zip(traced(y), m(y)):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """Random-weight checkpoints (BN statistics randomised) of the V1 and lite
    ImageNet classifiers."""
    from mmengine.config import Config

    from rexnet_mm.runner.build import build_from_config
    d = tmp_path_factory.mktemp('onnx_ckpt')
    out = {}
    for name, path in (('v1', V1), ('lite', LITE)):
        torch.manual_seed(0)
        model, _ = build_from_config(Config.fromfile(path))
        randomize_bn(model, seed=4)
        out[name] = str(d / f'{name}.pth')
        torch.save({'state_dict': model.state_dict(), 'meta': {}}, out[name])
    return out


def _export(argv, capsys):
    rc = load_tool('tools/deployment/export_onnx.py').main(argv)
    return rc, capsys.readouterr().out


@pytest.fixture(scope='module')
def exported(checkpoints, tmp_path_factory):
    """The V1 classifier exported fused, the lite one with the normalisation
    and softmax in the graph; each with --check on a real photograph."""
    d = tmp_path_factory.mktemp('onnx')
    cases = {'v1': (V1, ['--deploy']), 'lite': (LITE, ['--preprocess', '--softmax'])}
    out = {}
    for name, (cfg, extra) in cases.items():
        path = str(d / f'{name}.onnx')
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = load_tool('tools/deployment/export_onnx.py').main(
                [cfg, checkpoints[name], '--out', path, '--check', IMAGE] + extra)
        out[name] = (path, rc, buf.getvalue())
    return out


@pytest.mark.parametrize('name', ['v1', 'lite'])
def test_classifier_export_matches_mmpretrain(name, checkpoints, exported, capsys):
    from mmpretrain.apis import ImageClassificationInferencer

    from rexnet_mm.deploy import OnnxClassifier
    path, rc, log = exported[name]
    assert rc == 0 and osp.isfile(path), log
    # the same file in both runtimes, within 1e-4 relative of PyTorch on the photo and random input
    for backend in ('onnxruntime', 'openvino'):
        assert f'{backend} equals PyTorch within' in log and f'{backend} {IMAGE}' in log, log
    cfg = V1 if name == 'v1' else LITE
    clf = OnnxClassifier(path)
    assert clf.meta['preprocess'] == (name == 'lite')
    assert len(clf.classes) == 1000 and clf.classes[0].startswith('tench')
    got = clf([IMAGE])[0]
    # mmpretrain's own inference of the same checkpoint: the oracle
    ref = ImageClassificationInferencer(model=cfg, pretrained=checkpoints[name],
                                        device='cpu')([IMAGE])[0]
    assert got['pred_label'] == ref['pred_label']
    np.testing.assert_allclose(got['pred_scores'], ref['pred_scores'], rtol=1e-3, atol=1e-6)
    # tools/infer.py takes the .onnx file in place of CONFIG + CKPT
    capsys.readouterr()
    load_tool('tools/infer.py').main([path, IMAGE, '--topk', '1'])
    printed = capsys.readouterr().out
    assert f'{ref["pred_class"]:>24s} {ref["pred_score"]:.4f}'[:30] in printed, printed
    # OpenVINO through the same API: one image in, one result out
    ov = OnnxClassifier(path, backend='openvino', threads=2)
    assert ov.engine.name == 'openvino'
    res = ov(IMAGE)
    assert res['pred_label'] == ref['pred_label']
    np.testing.assert_allclose(res['pred_scores'], ref['pred_scores'], rtol=1e-3, atol=1e-6)


def test_runtime_follows_the_files_kind(exported):
    """load_exported gives the runtime of the kind the file records; the
    runtime of another kind stops with one line naming both kinds."""
    import re

    from rexnet_mm.deploy import DeployError, OnnxClassifier, OnnxDetector, load_exported
    path = exported['v1'][0]
    assert type(load_exported(path)) is OnnxClassifier
    with pytest.raises(DeployError, match=re.escape(f'{path} is an exported classifier, '
                                                    'not a detector')):
        OnnxDetector(path)


def test_bf16_is_openvinos_and_native_only(exported, monkeypatch):
    """precision='bf16' computes a file's float ops in bfloat16 in OpenVINO,
    on a CPU where it is native (the logits move by bf16's rounding, not
    more); onnxruntime, an unknown precision and a CPU without native bf16
    (where OpenVINO would quietly run fp32) are refused in one line."""
    import re

    from rexnet_mm.deploy import DeployError, OnnxClassifier
    from rexnet_mm.deploy.backends import openvino as ov_backend
    path = exported['v1'][0]
    for kw, expected in ((dict(), "--precision bf16 of an .onnx file is OpenVINO's (--backend "
                                  "openvino); onnxruntime runs a file in the precision it holds"),
                         (dict(backend='openvino', precision='fp16'),
                          "--precision must be one of fp32, bf16, but got 'fp16'")):
        with pytest.raises(DeployError, match=re.escape(expected)):
            OnnxClassifier(path, **dict(dict(precision='bf16'), **kw))
    native = ov_backend.native_bf16()
    with monkeypatch.context() as m:
        m.setattr(ov_backend, 'native_bf16', lambda: False)
        with pytest.raises(DeployError, match='OpenVINO has no native bf16 on this CPU .*'
                                              'AVX512-BF16 or AMX'):
            OnnxClassifier(path, backend='openvino', precision='bf16')
    if not native:
        pytest.skip('OpenVINO has no native bf16 on this CPU')
    fp32, bf16 = (OnnxClassifier(path, backend='openvino', precision=p) for p in ('fp32', 'bf16'))
    x = fp32.preprocess(IMAGE)[None]
    a, b = fp32.run(x), bf16.run(x)
    rel = np.abs(a - b).max() / np.abs(a).max()
    assert 1e-4 < rel < 0.03, rel  # computed in bf16 (8-bit mantissas), not fp32


def test_int8_quantization_runs_with_the_model_preprocessing(exported, tmp_path):
    """tools/deployment/quantize_onnx.py calibrates through the file's own
    preprocessing and keeps its metadata; the int8 file runs and is smaller."""
    from rexnet_mm.deploy import OnnxClassifier
    src = exported['v1'][0]
    out = str(tmp_path / 'int8.onnx')
    load_tool('tools/deployment/quantize_onnx.py').main(
        [src, '--calib', IMAGE, osp.join(osp.dirname(IMAGE), 'Minduka_Present_Blue_Pack.png'),
         '--out', out])
    q = OnnxClassifier(out)
    assert q.meta == OnnxClassifier(src).meta
    assert osp.getsize(out) < 0.5 * osp.getsize(src)
    res = q([IMAGE])[0]
    assert res['pred_scores'].shape == (1000, ) and abs(res['pred_scores'].sum() - 1) < 1e-6


def test_backbone_four_taps_dynamic_odd_size(checkpoints, tmp_path, capsys):
    """A detector config's backbone (4 taps) from a classifier checkpoint,
    dynamic batch and size, exported at an odd size and checked at another."""
    import onnx
    det = osp.join(ROOT, 'configs', 'detection', 'faster-rcnn_rexnet-1.0x_fpn_1x_coco.py')
    out = str(tmp_path / 'backbone.onnx')
    rc, log = _export([det, checkpoints['v1'], '--backbone', '--dynamic', '--shape', '97', '131',
                       '--out', out, '--check'], capsys)
    assert rc == 0, log
    names = [o.name for o in onnx.load(out).graph.output]
    assert names == ['tap1_stride4', 'tap2_stride8', 'tap4_stride16', 'tap5_stride32']
    assert 'random, odd size (2, 3, 110, 124)' in log
    assert 'onnxruntime equals PyTorch' in log and 'openvino equals PyTorch' in log, log
    from rexnet_mm.deploy import session
    sess = session(out)
    got = sess.run(None, {'input': np.zeros((3, 3, 65, 77), np.float32)})
    assert [g.shape[2:] for g in got] == [(17, 20), (9, 10), (5, 5), (3, 3)]


def test_export_refusals(checkpoints, tmp_path, monkeypatch):
    tool = load_tool('tools/deployment/export_onnx.py')
    existing = tmp_path / 'mine.onnx'
    existing.write_bytes(b'user data')
    with pytest.raises(SystemExit, match='exists; pass --overwrite'):
        tool.main([V1, checkpoints['v1'], '--out', str(existing)])
    assert existing.read_bytes() == b'user data'
    seg = osp.join(ROOT, 'configs', 'segmentation', 'fpn_rexnet-1.0x_4xb4-160k_ade20k-512x512.py')
    with pytest.raises(SystemExit, match='mmpretrain classifiers and mmdet detectors; pass '
                       '--backbone'):
        tool.main([seg, checkpoints['v1'], '--out', str(tmp_path / 's.onnx')])
    # a detector exports whole, from its own checkpoint: a classifier's does not fit
    det = osp.join(ROOT, 'configs', 'detection', 'faster-rcnn_rexnet-1.0x_fpn_1x_coco.py')
    with pytest.raises(SystemExit, match="lacks 30 of the model's 435 tensors"):
        tool.main([det, checkpoints['v1'], '--out', str(tmp_path / 'd.onnx')])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['mine.onnx']
    # a missing runtime: one line naming the extra
    import importlib.util

    from rexnet_mm.deploy import backends
    real = importlib.util.find_spec
    monkeypatch.setattr(backends.importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'onnxruntime' else real(name, *a))
    with pytest.raises(SystemExit) as e:
        tool.main([V1, checkpoints['v1'], '--out', str(tmp_path / 'x.onnx')])
    assert str(e.value) == ('error: onnxruntime is not installed; ONNX export and inference '
                            'need the deploy extra: pip install -e .[deploy]  (onnx, '
                            'onnxruntime, onnxscript, openvino)')
    assert not (tmp_path / 'x.onnx').exists()


def test_infer_precision_bf16(checkpoints, exported, tmp_path, capsys):
    """--precision bf16 autocasts the PyTorch model (same top class as fp32 on
    a photograph, score within bf16's precision); for an .onnx file it is
    OpenVINO's, and onnxruntime refuses it."""
    ckpt = torch.load(checkpoints['v1'])
    ckpt['state_dict']['head.fc.weight'] *= 300  # random weights: a clear top class
    peaked = str(tmp_path / 'peaked.pth')
    torch.save(ckpt, peaked)
    infer = load_tool('tools/infer.py').main
    top = {}
    for precision in ('fp32', 'bf16'):
        capsys.readouterr()
        infer([V1, peaked, IMAGE, '--topk', '1', '--precision', precision])
        top[precision] = capsys.readouterr().out.splitlines()[-1].split()
    assert top['fp32'][:-1] == top['bf16'][:-1]  # the class name
    assert abs(float(top['fp32'][-1]) - float(top['bf16'][-1])) <= 0.05 * float(top['fp32'][-1])
    with pytest.raises(SystemExit, match="--precision bf16 of an .onnx file is OpenVINO's"):
        infer([exported['v1'][0], IMAGE, '--precision', 'bf16'])


def test_benchmark_deploy_modes_run(capsys):
    """benchmark.py's deploy paths (a smoke run: the figures are its job, not
    a test's), its onnxruntime profile, and a mode it does not know."""
    bench = load_tool('tools/analysis/benchmark.py')
    bench.main(['--models', 'rexnet:1.0x@deploy', 'rexnet:1.0x@deploy-functional',
                'rexnet:1.0x@ort', 'rexnet:1.0x@ov', 'rexnet:1.0x@ov-int8',
                'rexnet:1.0x@ort-int8:vectors=float:avg-pools=float', '--batch', '1',
                '--size', '64', '--rounds', '1', '--warmup', '1', '--threads', '2',
                '--ort-profile'])
    out = capsys.readouterr().out
    for spec in ('rexnet:1.0x@deploy ', 'rexnet:1.0x@deploy-functional', 'rexnet:1.0x@ort',
                 'rexnet:1.0x@ov ', 'rexnet:1.0x@ov-int8 ',
                 'rexnet:1.0x@ort-int8:vectors=float:avg-pools=float'):
        assert f'| {spec}' in out, out
    assert 'onnxruntime kernel time by op type: Conv' in out
    with pytest.raises(SystemExit, match='the mode after @ must be one of'):
        bench.main(['--models', 'rexnet:1.0x@fp8'])
    for mode in ('ort-bf16', 'ov-int8-bf16'):  # bf16 is OpenVINO's, of the fp32 file
        with pytest.raises(SystemExit, match=r'followed by -int8 \(or, for ov, -int8 or -bf16\)'):
            bench.main(['--configs', f'configs/demo/ssdlite_rexnet-1.0x_demo-coco.py@{mode}',
                        '--modes', 'eval'])
    from rexnet_mm.deploy.backends.openvino import native_bf16
    from rexnet_mm.research.benchmark import deploy_preset
    assert ('rexnet:1.0x@ov-bf16' in deploy_preset()) == native_bf16()
    if native_bf16():
        bench.main(['--models', 'rexnet:1.0x@ov-bf16', '--batch', '1', '--size', '64',
                    '--rounds', '1', '--warmup', '1', '--threads', '2'])
        assert '| rexnet:1.0x@ov-bf16 ' in capsys.readouterr().out
    # a recipe variant (the int8 modes' only) that names a knob it does not have
    for spec, expected in (('rexnet:1.0x@ov:vectors=float', 'needs an int8 mode'),
                           ('rexnet:1.0x@ov-int8:vector=int8', "'vector=int8' is not KEY=VALUE")):
        with pytest.raises(SystemExit, match=expected):
            bench.main(['--models', spec])
