"""ReXNet backbone: schedule, shapes, options and exactness against the
official layout (tests/oracles/official_rexnet.py) and timm."""
import math

import pytest
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from rexnet_mm.models import ARCH_SETTINGS, ReXNet, build_schedule, released_archs

ARCHS = list(ARCH_SETTINGS)
OFFICIAL = released_archs('official')
ALL = tuple(range(7))


def rel_diff(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


# ----------------------------------------------------------- schedule
def test_schedule_1x_matches_release():
    s = build_schedule('1.0x')
    assert [b.out_channels for b in s.blocks] == [
        16, 27, 38, 50, 61, 72, 84, 95, 106, 117, 128, 140, 151, 162, 174, 185]
    assert s.stem_channels == 32 and s.head_channels == 1280
    assert s.out_channels == (16, 38, 61, 95, 128, 185, 1280)
    assert s.out_strides == (2, 4, 8, 16, 16, 32, 32)
    assert s.stage_blocks == (1, 2, 2, 3, 3, 5)
    assert [b.use_se for b in s.blocks] == [False] * 3 + [True] * 13
    assert [b.stride for b in s.blocks if b.stride != 1] == [2, 2, 2, 2]


@pytest.mark.parametrize('arch,taps', [
    ('1.3x', (21, 50, 79, 167, 240)),
    ('1.5x', (24, 58, 92, 193, 277)),
    ('2.0x', (32, 77, 122, 257, 370)),
])
def test_feature_taps_match_reference(arch, taps):
    c = build_schedule(arch).out_channels
    # taps before each stride change: stages 1, 2, 3, 5, 6
    assert (c[0], c[1], c[2], c[4], c[5]) == taps
    assert c[6] == int(1280 * float(arch[:-1]))


def test_depth_mult_and_custom_widths():
    s = build_schedule(dict(depth_mult=0.5))
    assert s.stage_blocks == (1, 1, 1, 2, 2, 3)
    widths = [8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128]
    s = build_schedule(dict(widths=widths, use_se=False))
    assert [b.out_channels for b in s.blocks] == widths
    assert [b.in_channels for b in s.blocks][1:] == widths[:-1]
    assert not any(b.use_se for b in s.blocks)
    m = ReXNet(dict(widths=widths), out_indices=ALL)
    assert m.out_channels == [8, 24, 40, 64, 88, 128, 1280]


# ---------------------------------------------------- shapes and outputs
@pytest.mark.parametrize('arch', ARCHS)
@pytest.mark.parametrize('hw', [(224, 224), (193, 257)])
def test_output_shapes_every_arch(arch, hw):
    model = ReXNet(arch, out_indices=ALL).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *hw))
    assert isinstance(outs, tuple) and len(outs) == 7
    sched = build_schedule(arch)
    for i, (o, c, s) in enumerate(zip(outs, sched.out_channels, sched.out_strides)):
        # each stride-2 conv (k3, p1) maps n -> ceil(n / 2)
        h, w = hw
        for _ in range(int(math.log2(s))):
            h, w = math.ceil(h / 2), math.ceil(w / 2)
        assert o.shape == (1, c, h, w), (arch, i)
    assert model.out_channels == list(sched.out_channels)


@pytest.mark.parametrize('out_indices', [(0, ), (1, 2, 4, 5), (3, 6), (5, ), (6, )])
def test_out_indices_select_and_limit_layers(out_indices):
    model = ReXNet('1.0x', out_indices=out_indices).eval()
    outs = model(torch.randn(2, 3, 64, 64))
    full = (16, 38, 61, 95, 128, 185, 1280)
    assert [o.shape[1] for o in outs] == [full[i] for i in out_indices]
    assert model.out_channels == [full[i] for i in out_indices]
    # nothing past max(out_indices) is built
    top = max(out_indices)
    assert hasattr(model, 'conv_head') == (top == 6)
    for s in range(6):
        assert hasattr(model, f'layer{s + 1}') == (s <= top)


def test_default_out_indices_is_head_conv():
    outs = ReXNet().eval()(torch.randn(1, 3, 64, 64))
    assert len(outs) == 1 and outs[0].shape == (1, 1280, 2, 2)


# -------------------------------------------------------------- options
def _bn_modes(module):
    return [m.training for m in module.modules() if isinstance(m, _BatchNorm)]


@pytest.mark.parametrize('frozen_stages', [-1, 0, 2, 6])
def test_frozen_stages(frozen_stages):
    model = ReXNet('1.0x', out_indices=ALL, frozen_stages=frozen_stages)
    model.train()
    frozen = ([model.stem] if frozen_stages >= 0 else []) + [
        getattr(model, f'layer{s}') for s in range(1, frozen_stages + 1)]
    trainable = [getattr(model, f'layer{s}') for s in range(max(frozen_stages, 0) + 1, 7)]
    trainable += [model.conv_head] + ([] if frozen_stages >= 0 else [model.stem])
    for m in frozen:
        assert all(not p.requires_grad for p in m.parameters())
        assert not any(_bn_modes(m))
    for m in trainable:
        assert all(p.requires_grad for p in m.parameters())
        assert all(_bn_modes(m))
    # frozen BN statistics do not move in a training forward
    if frozen_stages >= 0:
        before = model.stem.bn.running_mean.clone()
        model(torch.randn(2, 3, 32, 32))
        assert torch.equal(before, model.stem.bn.running_mean)


def test_norm_eval():
    model = ReXNet('1.0x', norm_eval=True)
    model.train()
    assert not any(_bn_modes(model))
    assert all(p.requires_grad for p in model.parameters())
    model = ReXNet('1.0x', norm_eval=False).train()
    assert all(_bn_modes(model))


def test_with_cp_same_outputs_and_grads():
    torch.manual_seed(0)
    ref = ReXNet('1.0x', out_indices=(2, 6))
    cpm = ReXNet('1.0x', out_indices=(2, 6), with_cp=True)
    cpm.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, 64, 64)
    outs_ref = ref.train()(x)
    outs_cp = cpm.train()(x)
    for a, b in zip(outs_ref, outs_cp):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)
    sum(o.square().mean() for o in outs_ref).backward()
    sum(o.square().mean() for o in outs_cp).backward()
    for (n, p), (_, q) in zip(ref.named_parameters(), cpm.named_parameters()):
        assert torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-6), n
    assert all(b.with_cp for b in cpm.layer3)


def test_norm_and_act_overrides_build():
    m = ReXNet('1.0x', norm_cfg=dict(type='SyncBN'), act_cfg=dict(type='ReLU'))
    assert isinstance(m.stem.bn, nn.SyncBatchNorm)
    assert isinstance(m.stem.activate, nn.ReLU)
    assert isinstance(m.layer2[0].conv_exp.activate, nn.ReLU)
    m = ReXNet('1.0x', out_indices=(5, ), norm_cfg=dict(type='GN', num_groups=1))
    assert isinstance(m.layer3[0].se.gn, nn.GroupNorm)
    out = m(torch.randn(2, 3, 64, 64))[0]
    assert out.shape == (2, 185, 2, 2) and torch.isfinite(out).all()
    # lite defaults to ReLU6 everywhere, V1 to SiLU after stem/expansion/head
    assert isinstance(ReXNet('lite-1.0x').stem.activate, nn.ReLU6)
    assert isinstance(ReXNet('1.0x').stem.activate, nn.SiLU)


def test_drop_path_only_on_residual_blocks():
    m = ReXNet('1.0x', drop_path_rate=0.2)
    blocks = [b for s in range(1, 7) for b in getattr(m, f'layer{s}')]
    rates = [b.drop_path.drop_prob if hasattr(b.drop_path, 'drop_prob') else 0. for b in blocks]
    assert rates[-1] == pytest.approx(0.2)
    for b, r in zip(blocks, rates):
        assert (r > 0) == (b.use_shortcut and r > 0)
        if not b.use_shortcut:
            assert isinstance(b.drop_path, nn.Identity)
    # eval is deterministic with drop_path, train is not
    m.eval()
    x = torch.randn(2, 3, 64, 64)
    assert torch.equal(m(x)[0], m(x)[0])


@pytest.mark.parametrize('kwargs,match', [
    (dict(arch='1.1x'), r"arch must be one of \['0.9x', '1.0x'.*got '1.1x'"),
    (dict(arch=1.0), 'arch must be one of'),
    (dict(arch=dict(width=1.0)), r"arch: unknown keys \['width'\]"),
    (dict(arch=dict(width_mult=-1)), 'arch: width_mult must be a positive finite number'),
    (dict(arch=dict(depth_mult=0)), 'arch: depth_mult must be a positive finite number'),
    (dict(arch=dict(widths=[16, 32])), 'arch: widths has 2 entries'),
    (dict(arch=dict(widths=[0] * 16)), 'arch: widths must be a non-empty list'),
    (dict(arch=dict(use_se='yes')), 'arch: use_se must be'),
    (dict(arch=dict(se_ratio=1000)), 'arch: se_ratio=1000 leaves no channel'),
    (dict(out_indices=(7, )), r'out_indices must be .* range\(0, 7\), but got \(7,\)'),
    (dict(out_indices=(-1, )), 'out_indices must be'),
    (dict(out_indices=()), 'out_indices must be'),
    (dict(frozen_stages=7), r'frozen_stages must be an int in range\(-1, 7\), but got 7'),
    (dict(frozen_stages=-2), 'frozen_stages must be'),
    (dict(drop_path_rate=1.5), 'drop_path_rate must be in'),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReXNet(**kwargs)


@pytest.mark.parametrize('kwargs,match', [
    (dict(channels=24, ratio=32), 'SEWithNorm: ratio=32 leaves no channel in the SE of a '
                                  '24-channel block'),
    (dict(channels=24, mid_channels=0), 'SEWithNorm: mid_channels must be a positive int, '
                                        'but got 0'),
])
def test_se_invalid_widths(kwargs, match):
    from rexnet_mm.models.blocks import SEWithNorm
    with pytest.raises(ValueError, match=match):
        SEWithNorm(**kwargs)


# ------------------------------------------------------------ output stride
@pytest.mark.parametrize('output_stride,strides', [
    (32, [2, 4, 8, 16, 16, 32, 32]), (16, [2, 4, 8, 16, 16, 16, 16]), (8, [2, 4, 8, 8, 8, 8, 8])])
def test_output_stride_shapes_and_same_weights(output_stride, strides):
    torch.manual_seed(0)
    ref = ReXNet('1.0x', out_indices=ALL).eval()
    m = ReXNet('1.0x', out_indices=ALL, output_stride=output_stride).eval()
    # dilation adds, removes and reshapes no tensor: the checkpoint loads strictly
    assert {k: v.shape for k, v in m.state_dict().items()} == \
        {k: v.shape for k, v in ref.state_dict().items()}
    m.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        outs, ref_outs = m(x), ref(x)
    assert m.out_strides == strides
    assert [tuple(o.shape[2:]) for o in outs] == [(96 // s, 128 // s) for s in strides]
    # the stages before the first dilated one compute exactly what the released net does
    same = strides.index(output_stride) + 1 if output_stride < 32 else len(strides)
    for a, b in zip(outs[:same], ref_outs[:same]):
        assert torch.equal(a, b)
    dilations = sorted({blk.conv_dw.conv.dilation[0] for name in m.layers[:-1]
                        for blk in getattr(m, name)})
    assert dilations == {32: [1], 16: [1, 2], 8: [1, 2, 4]}[output_stride]


def test_output_stride_odd_input_and_bad_value():
    m = ReXNet('0.9x', out_indices=(1, 5), output_stride=8).eval()
    with torch.no_grad():
        outs = m(torch.randn(1, 3, 97, 61))
    assert [tuple(o.shape[2:]) for o in outs] == [(25, 16), (13, 8)]
    with pytest.raises(ValueError, match=r'output_stride must be one of \(8, 16, 32\), but got 4'):
        ReXNet(output_stride=4)
