"""int8 detectors: tools/deployment/quantize_onnx.py on an exported detector
quantizes its backbone, neck and the heads' weighted layers, keeps the
post-processing in float, and the file runs in onnxruntime and OpenVINO with
detections of the right form, and --max-error measures and refuses in a
detector's terms. (The demo detectors here trained 2 iterations: their
activations are mostly noise, which int8 moves, so they carry no accuracy
claim; the mAP and speed targets are measured on the trained demo detectors
in docs/deploy.md.)"""
import os.path as osp

import pytest

pytest.importorskip('mmdet')
pytest.importorskip('onnxruntime')

from helpers.tool import ROOT, load_tool, run_main  # noqa: E402

QUANTIZE = 'tools/deployment/quantize_onnx.py'


@pytest.fixture(scope='module')
def int8_faster(det_onnx, tiny_coco, tmp_path_factory):
    """(fp32 file, int8 file, the tool's log, report): the demo Faster R-CNN
    quantized on the 8 generated train images."""
    _, src = det_onnx('faster')
    d = tmp_path_factory.mktemp('det_int8')
    out, report = d / 'faster-int8.onnx', d / 'sqnr.md'
    rc, log = run_main(QUANTIZE, [str(src), '--calib', str(tiny_coco / 'coco' / 'train'),
                                  '--num', '8', '--out', str(out), '--report', str(report)])
    assert rc == 0, log[-3000:]
    return src, out, log, report


def test_post_processing_stays_float(int8_faster):
    """Only the backbone, neck and heads' convolutions take int8: no tensor
    that the post-processing makes (scores, boxes, top-k, NMS, RoiAlign: the
    graph's top-level nodes) is quantized; every layer with int8 weights is
    one of the region; the backbone, neck and RPN head have int8 convolutions, the RoI
    bbox head's fully connected layers stay float (the recipe's measured
    choice)."""
    import onnx

    from rexnet_mm.deploy.quantize_det import detector_region
    src, out, log, report = int8_faster
    assert 'post-processing float' in log
    graph = onnx.load(str(out)).graph
    region = set(detector_region(str(src)))
    producer = {o: n for n in graph.node for o in n.output}
    sources = [producer[n.input[0]].name for n in graph.node
               if n.op_type == 'QuantizeLinear' and n.input[0] in producer]
    top_level = [s for s in sources if s.count('/') < 2]
    assert sources and not top_level, top_level[:5]
    weighted = {n.name for n in graph.node if n.op_type in ('Conv', 'Gemm')
                and any(producer.get(i) is not None
                        and producer[i].op_type == 'DequantizeLinear' for i in n.input[1:2])}
    assert weighted <= region, sorted(weighted - region)[:5]
    for scope in ('/backbone/', '/neck/', '/rpn_head/'):
        assert any(n.startswith(scope) for n in weighted), scope
    assert not any(n.startswith('/bbox_head/') for n in weighted)
    post = [n for n in graph.node if n.op_type in ('NonMaxSuppression', 'TopK', 'RoiAlign')]
    assert post and not any(n.name in region for n in post)
    assert report.read_text().startswith('| kind | tensor | node |')


def test_int8_file_runs_in_both_runtimes(int8_faster, tiny_coco):
    """The int8 file gives detections of the fp32 file's form in each
    runtime: the same number per image (the config keeps 100 at threshold
    0), labels of the file's classes, boxes inside the image."""
    from rexnet_mm.deploy import OnnxDetector
    from rexnet_mm.deploy.backends import available
    src, out, _, _ = int8_faster
    images = [str(p) for p in sorted((tiny_coco / 'coco' / 'val').glob('*.png'))]
    for backend in [b for b in ('onnxruntime', 'openvino') if available(b)]:
        refs = OnnxDetector(str(src), backend=backend)(images)
        gots = OnnxDetector(str(out), backend=backend)(images)
        for ref, got in zip(refs, gots):
            h, w = got.ori_shape
            inst = got.pred_instances
            assert len(inst) == len(ref.pred_instances) == 100, backend
            assert int(inst.labels.max()) < 4 and bool((inst.scores > 0).all())
            boxes = inst.bboxes
            inside = (boxes >= 0).all(1) & (boxes[:, 2] <= w + 1) & (boxes[:, 3] <= h + 1)
            assert bool(inside.all())  # (within the rescale's rounding)


def test_max_error_in_detector_terms(int8_faster, tiny_coco, tmp_path):
    """--max-error on a detector measures the share of the fp32 file's
    confident detections the int8 file misses on the held-out images; a
    budget it cannot meet exits 1, naming that measure, and writes nothing;
    one it meets writes the file."""
    src = int8_faster[0]
    calib = ['--calib', str(tiny_coco / 'coco' / 'train'), '--num', '8']
    out = tmp_path / 'q.onnx'
    rc, log = run_main(QUANTIZE, [str(src), *calib, '--out', str(out), '--max-error', '0.01',
                                  '--max-tries', '1'])
    assert rc == 1 and 'held-out share of confident fp32 detections missed' in log
    assert 'nothing written' in log and list(tmp_path.iterdir()) == [], log[-2000:]
    rc, log = run_main(QUANTIZE, [str(src), *calib, '--out', str(out), '--max-error', '0.99'])
    assert rc == 0 and out.is_file() and 'held-out share of confident' in log, log[-2000:]


def test_benchmark_times_int8_detectors_per_image(capsys):
    """benchmark.py --configs C@ort-int8 at several batch sizes: one row per
    batch, per-image times (a smoke run; the figures are in docs/deploy.md)."""
    bench = load_tool('tools/analysis/benchmark.py')
    config = osp.join(ROOT, 'configs/demo/ssdlite_rexnet-1.0x_demo-coco.py')
    bench.main(['--configs', f'{config}@ort-int8', '--batch', '1', '2', '--size', '128',
                '--rounds', '1', '--warmup', '1', '--threads', '2'])
    out = capsys.readouterr().out
    assert '| ms/img |' in out
    for b in (1, 2):
        assert f'| ssdlite_rexnet-1.0x_demo-coco@ort-int8 b{b} | eval |' in out, out
    # a recipe variant takes an int8 mode, before anything is exported
    with pytest.raises(SystemExit, match='needs an int8 mode'):
        bench.main(['--configs', f'{config}@ort-dynamic:avg-pools=float'])
