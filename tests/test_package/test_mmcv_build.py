"""mmcv's compiled ops give hand-computed answers: on the CPU, and with its
CUDA kernels where a GPU and a CUDA build of mmcv are present."""
import pytest
import torch

ops = pytest.importorskip('mmcv.ops')

DEVICES = ['cpu', pytest.param('cuda', marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason='no CUDA device'))]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def _on(device, *tensors):
    return [t.to(device) for t in tensors]


def test_ext_module_is_compiled():
    import mmcv._ext  # noqa: F401  the compiled extension, not a stub


def test_nms_known_answer(device):
    boxes, scores = _on(device, torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                                              [20., 20., 30., 30.], [0., 0., 10., 5.]]),
                        torch.tensor([0.9, 0.8, 0.7, 0.6]))
    # IoU(0, 1) = 81 / 119 = 0.68 > 0.5: box 1 goes; IoU(0, 3) = 50 / 100 = 0.5, not > 0.5
    dets, keep = ops.nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2, 3]
    assert dets.device.type == device
    assert torch.allclose(dets[:, 4].cpu(), torch.tensor([0.9, 0.7, 0.6]))
    _, keep = ops.nms(boxes, scores, iou_threshold=0.45)
    assert keep.tolist() == [0, 2]


def test_batched_nms_per_class(device):
    boxes, scores, idxs = _on(
        device, torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [1., 1., 11., 11.]]),
        torch.tensor([0.9, 0.8, 0.7]),
        torch.tensor([0, 1, 0]))  # box 1 is of another class: kept
    dets, keep = ops.batched_nms(boxes, scores, idxs, dict(type='nms', iou_threshold=0.5))
    assert sorted(keep.tolist()) == [0, 1]


def test_roi_align_known_answer(device):
    # feature f(y, x) = x on a 8x8 map; bilinear sampling returns the x position
    feat, rois = _on(device, torch.arange(8.).repeat(8, 1)[None, None],
                     torch.tensor([[0., 2., 2., 6., 6.]]))  # (batch, x1, y1, x2, y2)
    # aligned=True shifts by -0.5 px: bins [1.5, 3.5], [3.5, 5.5]; one sample at each centre
    out = ops.roi_align(feat, rois, (2, 2), 1.0, 1, 'avg', True).cpu()
    assert torch.allclose(out, torch.tensor([[[[2.5, 4.5], [2.5, 4.5]]]]))
    # aligned=False: bins [2, 4], [4, 6]; centres 3 and 5
    out = ops.roi_align(feat, rois, (2, 2), 1.0, 1, 'avg', False).cpu()
    assert torch.allclose(out, torch.tensor([[[[3., 5.], [3., 5.]]]]))
