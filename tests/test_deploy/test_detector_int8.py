"""int8 detectors: tools/deployment/quantize_onnx.py on an exported detector
quantizes its backbone, neck and the heads' weighted layers, keeps the
post-processing in float, and the file runs in onnxruntime and OpenVINO with
the fp32 file's detections. (The demo detectors here trained 2 iterations;
the mAP and speed targets are measured on `make demo`'s, docs/deploy.md.)"""
import os.path as osp

import pytest

pytest.importorskip('mmdet')
pytest.importorskip('onnxruntime')

from helpers.tool import ROOT, load_tool, run_main  # noqa: E402

QUANTIZE = 'tools/deployment/quantize_onnx.py'


@pytest.fixture(scope='module')
def int8_faster(det_onnx, tiny_coco, tmp_path_factory):
    """(fp32 file, int8 file, the tool's log, report): the demo Faster R-CNN
    quantized on the 8 generated train images, with a (loose) --max-error."""
    _, src = det_onnx('faster')
    d = tmp_path_factory.mktemp('det_int8')
    out, report = d / 'faster-int8.onnx', d / 'sqnr.md'
    rc, log = run_main(QUANTIZE, [str(src), '--calib', str(tiny_coco / 'coco' / 'train'),
                                  '--num', '8', '--out', str(out), '--report', str(report),
                                  '--max-error', '0.5'])
    assert rc == 0, log[-3000:]
    return src, out, log, report


def test_post_processing_stays_float(int8_faster):
    """Only the backbone, neck and heads' convolutions take int8: every
    QuantizeLinear quantizes a graph input, a weight or the output of a node
    of that region, never a score, box, top-k, NMS or RoiAlign tensor; the
    backbone, neck and RPN head have int8 convolutions, the RoI bbox head's
    fully connected layers stay float (the recipe's measured choice)."""
    import onnx

    from rexnet_mm.deploy.quantize_det import detector_region
    src, out, log, report = int8_faster
    assert 'post-processing float' in log
    assert 'share of confident fp32 detections missed on held-out images' in log
    graph = onnx.load(str(out)).graph
    region = set(detector_region(str(src)))
    producer = {o: n for n in graph.node for o in n.output}
    sources = {producer[n.input[0]].name for n in graph.node
               if n.op_type == 'QuantizeLinear' and n.input[0] in producer}
    assert sources and sources <= region, sorted(sources - region)[:5]
    weighted = {n.name for n in graph.node if n.op_type in ('Conv', 'Gemm')
                and any(producer.get(i) is not None
                        and producer[i].op_type == 'DequantizeLinear' for i in n.input[1:2])}
    for scope in ('/backbone/', '/neck/', '/rpn_head/'):
        assert any(n.startswith(scope) for n in weighted), scope
    assert not any(n.startswith('/bbox_head/') for n in weighted)
    post = [n for n in graph.node if n.op_type in ('NonMaxSuppression', 'TopK', 'RoiAlign')]
    assert post and not any(n.name in region for n in post)
    assert report.read_text().startswith('| kind | tensor | node |')


def test_int8_file_keeps_the_detections(int8_faster, tiny_coco):
    """On the generated val images, in each runtime: the int8 file misses
    few of the fp32 file's confident detections (score >= 0.3; same label,
    IoU >= 0.5) and finds the same number of boxes per image, within a few."""
    from rexnet_mm.deploy import OnnxDetector
    from rexnet_mm.deploy.backends import available
    from rexnet_mm.deploy.quantize_det import missed_share
    src, out, _, _ = int8_faster
    images = [str(p) for p in sorted((tiny_coco / 'coco' / 'val').glob('*.png'))]
    for backend in [b for b in ('onnxruntime', 'openvino') if available(b)]:
        refs = OnnxDetector(str(src), backend=backend)(images)
        gots = OnnxDetector(str(out), backend=backend)(images)
        confident = sum(int((r.pred_instances.scores >= 0.3).sum()) for r in refs)
        missed = missed_share(refs, gots)
        print(f'{backend}: {confident} confident fp32 detections, {100 * missed:.1f}% missed')
        assert confident >= 4 and missed <= 0.25, (backend, confident, missed)


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
