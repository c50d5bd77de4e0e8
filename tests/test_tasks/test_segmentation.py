"""The semantic segmentation configs (mmseg): they build with decode-head
widths equal to the backbone's, train (loss forward and backward), infer at an
odd size, and run a short training with mIoU evaluation through the tools."""
import glob
import os.path as osp
import sys

import pytest
import torch

pytest.importorskip('mmseg')

from mmengine.config import Config  # noqa: E402

from rexnet_mm.runner.build import build_from_config, dummy_seg_samples  # noqa: E402
from helpers.tool import ROOT  # noqa: E402
from helpers.tool import load_tool, repo_configs, run_tool  # noqa: E402

SEG_CONFIGS = repo_configs('mmseg')
DEMO = osp.join(ROOT, 'configs', 'demo', 'fpn_rexnet-1.0x_demo-seg.py')
# output strides of the taps each config is written for
STRIDES = {'fpn': [4, 8, 16, 32], 'deeplabv3plus': [4, 8, 8, 8], 'lraspp': [4, 8, 8]}


def _kind(path):
    return osp.basename(path).split('_')[0]


def test_seg_configs_found():
    names = {osp.basename(p) for p in SEG_CONFIGS}
    assert {'fpn_rexnet-1.0x_4xb4-160k_ade20k-512x512.py',
            'deeplabv3plus_rexnet-1.0x-d8_4xb2-80k_cityscapes-512x1024.py',
            'lraspp_rexnet-1.0x-d8_4xb4-320k_cityscapes-512x1024.py',
            'fpn_rexnet-1.0x_demo-seg.py'} <= names


@pytest.fixture(scope='module')
def built():
    """Each segmentation config's model, built once (random init)."""
    cache = {}

    def get(path):
        if path not in cache:
            torch.manual_seed(0)
            cache[path] = build_from_config(path)[0]
        return cache[path]
    return get


def _widths_in(head):
    ch = head.in_channels
    return list(ch) if isinstance(ch, (list, tuple)) else ch


def _head_inputs(head, widths):
    idx = head.in_index
    return [widths[i] for i in idx] if isinstance(idx, (list, tuple)) else widths[idx]


@pytest.mark.parametrize('path', SEG_CONFIGS, ids=osp.basename)
def test_config_widths_follow_the_backbone(path, built):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg' and cfg.model.pretrained is None
    bb = cfg.model.backbone
    if 'demo' not in path:
        assert bb.init_cfg == dict(type='Pretrained',
                                   checkpoint=f'checkpoints/rexnet_{bb.arch}.pth')
    model = built(path)
    backbone = model.backbone
    assert backbone.out_strides == STRIDES[_kind(path)]
    widths = backbone.out_channels
    if model.with_neck:  # Semantic FPN: the neck takes every tap
        assert model.neck.in_channels == widths
        assert list(model.decode_head.feature_strides) == backbone.out_strides
    else:
        assert _widths_in(model.decode_head) == _head_inputs(model.decode_head, widths)
    if hasattr(model.decode_head, 'c1_bottleneck'):  # DeepLabV3+'s low-level input
        assert model.decode_head.c1_bottleneck.conv.in_channels == widths[0]
        assert backbone.out_strides[0] == 4
    if model.with_auxiliary_head:
        assert _widths_in(model.auxiliary_head) == _head_inputs(model.auxiliary_head, widths)


@pytest.mark.parametrize('path', SEG_CONFIGS, ids=osp.basename)
def test_loss_backward_and_odd_size_inference(path, built):
    model = built(path)
    num_classes = model.decode_head.num_classes
    h, w = 64, 96
    samples = dummy_seg_samples(2, h, w, num_classes)
    model.train()
    losses = model.loss(torch.randn(2, 3, h, w), samples)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    model.zero_grad()
    total.backward()
    grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
    assert grads and all(gr is not None and torch.isfinite(gr).all() for gr in grads)
    assert any(gr.abs().sum() > 0 for gr in grads)

    model.eval()
    h, w = 97, 131  # odd, not a multiple of any stride
    with torch.no_grad():
        pred = model.predict(torch.randn(1, 3, h, w), dummy_seg_samples(1, h, w))[0]
    assert pred.pred_sem_seg.data.shape == (1, h, w)
    assert pred.seg_logits.data.shape == (num_classes, h, w)


def test_sized_lraspp_head_equals_mmseg_and_takes_small_maps():
    """Same weights: the window-as-argument head equals mmseg's LRASPPHead
    where mmseg's fixed 49x49 pooling runs, and keeps running on a feature map
    smaller than that window, where mmseg's fails."""
    from mmseg.models.decode_heads import LRASPPHead

    from rexnet_mm.models.seg_heads import SizedLRASPPHead
    kw = dict(in_channels=(8, 12, 24), in_index=(0, 1, 2), channels=16,
              input_transform='multiple_select', num_classes=5, align_corners=False)
    torch.manual_seed(0)
    ours, theirs = SizedLRASPPHead(**kw).eval(), LRASPPHead(**kw).eval()
    theirs.load_state_dict(ours.state_dict())
    big = [torch.randn(1, 8, 128, 144), torch.randn(1, 12, 64, 72), torch.randn(1, 24, 64, 72)]
    with torch.no_grad():
        torch.testing.assert_close(ours(big), theirs(big), rtol=1e-5, atol=1e-6)
        small = [t[..., :24, :30] for t in big]
        with pytest.raises(RuntimeError):
            theirs(small)
        assert ours(small).shape == (1, 5, 24, 30)
    with pytest.raises(ValueError, match='pool_kernel'):
        SizedLRASPPHead(pool_kernel=(0, 3), **kw)


def test_lraspp_pooling_follows_crop_and_output_stride():
    """The config's window is mmseg's 49 / (16, 20) for 512x1024 at stride 8,
    and scales with the feature map: 1x4 pooled cells either way."""
    path = osp.join(ROOT, 'configs', 'segmentation',
                    'lraspp_rexnet-1.0x-d8_4xb4-320k_cityscapes-512x1024.py')
    head = Config.fromfile(path).model.decode_head
    assert (tuple(head.pool_kernel), tuple(head.pool_stride)) == ((49, 49), (16, 20))
    from rexnet_mm.models.seg_heads import ClippedAvgPool2d
    for feat in ((64, 128), (128, 256)):
        k = round(feat[0] * 49 / 64)
        pool = ClippedAvgPool2d(k, (round(feat[0] * 16 / 64), round(feat[1] * 20 / 128)))
        assert pool(torch.zeros(1, 1, *feat)).shape[2:] == (1, 4)


def test_missing_dataset_names_the_layout_and_the_demo(tmp_path):
    train = load_tool('tools/train.py')
    for path, layout in (('fpn_rexnet-1.0x_4xb4-160k_ade20k-512x512.py', 'ADEChallengeData2016'),
                         ('deeplabv3plus_rexnet-1.0x-d8_4xb2-80k_cityscapes-512x1024.py',
                          'leftImg8bit')):
        with pytest.raises(SystemExit) as e:
            train.main([osp.join(ROOT, 'configs', 'segmentation', path),
                        '--work-dir', str(tmp_path)])
        msg = str(e.value)
        assert msg.startswith('error: dataset not found') and layout in msg, msg
        assert 'make demo-seg' in msg


def test_train_two_iterations_then_test_and_infer(tmp_path, capsys):
    """tools/train.py on a tiny generated set (2 iterations, mIoU evaluated),
    then tools/test.py and tools/infer.py on its checkpoint."""
    data = tmp_path / 'seg'
    run_tool([sys.executable, 'tools/misc/make_demo_seg.py', str(data), '--train', '4',
              '--val', '2', '--size', '64', '96'])
    opts = [f'{s}.dataset.data_root={data}' for s in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    opts += ['train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'train_dataloader.batch_size=2',
             'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
             'randomness.seed=0']
    for s in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{s}.num_workers=0', f'{s}.persistent_workers=False']
    work = tmp_path / 'work'
    out = run_tool([sys.executable, 'tools/train.py', DEMO, '--work-dir', str(work),
                    '--cfg-options', *opts])
    assert 'Iter(train) [2/2]' in out and 'mIoU:' in out, out[-3000:]
    ckpt = work / 'iter_2.pth'
    assert ckpt.is_file()
    out = run_tool([sys.executable, 'tools/test.py', DEMO, str(ckpt), '--work-dir',
                    str(tmp_path / 'test'), '--show-dir', 'vis', '--precision', 'bf16',
                    '--cfg-options', *opts])
    assert 'mIoU:' in out
    assert glob.glob(str(tmp_path / 'test' / 'vis' / '**' / '*.png'), recursive=True)
    img = data / 'img_dir' / 'val' / 'val_00001.png'
    infer = load_tool('tools/infer.py').main
    infer([DEMO, str(ckpt), str(img), '--out-dir', str(tmp_path / 'drawn')])
    assert '96x64 pixels: background' in capsys.readouterr().out
    assert (tmp_path / 'drawn' / 'val_00001.png').is_file()
    # a checkpoint of another model stops the tool with one paragraph
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'backbone.stem.conv.weight': torch.zeros(8, 3, 3, 3)}}, other)
    with pytest.raises(SystemExit, match='does not fit the model'):
        infer([DEMO, str(other), str(img), '--out-dir', str(tmp_path / 'drawn2')])
    assert not (tmp_path / 'drawn2').exists()
