"""The backbone is exact: to the official layout (tests/oracles/official_rexnet.py)
and to timm, outputs and training gradients, in either memory format; the key
map covers the official keys and a mismatch names the variant."""
import pytest
import torch

from rexnet_mm.models import ARCH_SETTINGS, ReXNet, released_archs
from rexnet_mm.models.convert import convert_rexnet, key_map
from oracles.official_rexnet import OFFICIAL_PARAMS, official_model, randomize_bn
from oracles.timm_rexnet import TIMM_NAMES, timm_model, timm_taps

ARCHS = list(ARCH_SETTINGS)
OFFICIAL = released_archs('official')
ALL = tuple(range(7))


def rel_diff(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


# ------------------------------------------------------------ exactness
@pytest.mark.parametrize('arch', OFFICIAL)
def test_exact_to_official_layout(arch):
    torch.manual_seed(OFFICIAL.index(arch))
    ref = randomize_bn(official_model(arch, classes=10), seed=1).eval()
    assert sum(p.numel() for p in official_model(arch).parameters()) == OFFICIAL_PARAMS[arch]
    layout, found, state = convert_rexnet(ref.state_dict())
    assert layout == ('official-lite' if arch.startswith('lite') else 'official')
    assert found == arch
    model = ReXNet(arch, out_indices=ALL).eval()
    model.load_state_dict_checked(
        {k[9:]: v for k, v in state.items() if k.startswith('backbone.')})
    # parameters: backbone + classifier equal the release exactly
    n_head = sum(v.numel() for k, v in state.items() if k.startswith('head.')
                 and 'running' not in k and 'num_batches' not in k)
    n_ref = sum(p.numel() for p in ref.parameters())
    assert sum(p.numel() for p in model.parameters()) + n_head == n_ref
    x = torch.randn(2, 3, 96, 80)
    with torch.no_grad():
        ours = model(x)
        theirs = ref.forward_features(x)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape
        assert rel_diff(a, b) <= 1e-5, (arch, i, rel_diff(a, b))


@pytest.mark.parametrize('arch', list(TIMM_NAMES))
def test_exact_to_timm(arch):
    """V1 and the rounded rexnetr: timm's file converts (variant found from
    the shapes alone) and every tap and the logits equal timm's."""
    torch.manual_seed(1)
    ref = randomize_bn(timm_model(arch, num_classes=7), 2).eval()
    layout, found, state = convert_rexnet(ref.state_dict())
    assert (layout, found) == ('timm', arch)
    model = ReXNet(arch, out_indices=ALL).eval()
    model.load_state_dict_checked(
        {k[9:]: v for k, v in state.items() if k.startswith('backbone.')})
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        ours = model(x)
        theirs = timm_taps(ref, x)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape and rel_diff(a, b) <= 1e-5, (arch, i)
    # the classifier too
    with torch.no_grad():
        logits = torch.nn.functional.linear(ours[-1].mean((2, 3)), state['head.fc.weight'],
                                            state['head.fc.bias'])
    assert rel_diff(logits, ref(x)) <= 1e-5


def test_key_map_covers_official_keys_exactly():
    for arch in OFFICIAL:
        ref = official_model(arch)
        layout = 'official-lite' if arch.startswith('lite') else 'official'
        assert set(key_map(arch, layout)) == set(ref.state_dict()), arch


def test_checked_load_names_variant_on_mismatch():
    state = {k[9:]: v for k, v in convert_rexnet(
        official_model('1.3x').state_dict())[2].items() if k.startswith('backbone.')}
    with pytest.raises(ValueError, match=r"(?s)does not fit ReXNet\(arch='1.0x'\).*shape mismatch"):
        ReXNet('1.0x').load_state_dict_checked(state, source='x.pth')
    # a model stopping at stage 5 skips only the unbuilt layers' tensors
    m = ReXNet('1.3x', out_indices=(4, ))
    m.load_state_dict_checked(state)
    with pytest.raises(ValueError, match='missing'):
        m.load_state_dict_checked({k: v for k, v in state.items() if 'stem' not in k})


def test_memory_formats_agree_and_outputs_are_nchw():
    torch.manual_seed(0)
    ref = ReXNet('1.0x', out_indices=(1, 4, 6), memory_format='contiguous')
    ref.init_weights()
    x = torch.randn(2, 3, 96, 64)
    outs = {}
    for fmt in ('contiguous', 'channels_last', 'auto'):
        m = ReXNet('1.0x', out_indices=(1, 4, 6), memory_format=fmt)
        m.load_state_dict(ref.state_dict())
        with torch.no_grad():
            outs[fmt] = m.eval()(x)
        assert all(o.is_contiguous() for o in outs[fmt])
    for fmt in ('channels_last', 'auto'):
        for a, b in zip(outs[fmt], outs['contiguous']):
            assert rel_diff(a, b) <= 1e-5
    with pytest.raises(ValueError, match="memory_format must be 'auto'"):
        ReXNet(memory_format='nhwc')


@pytest.mark.parametrize('arch', ['1.0x', 'lite-1.0x'])
@pytest.mark.parametrize('memory_format', ['contiguous', 'channels_last'])
def test_training_gradients_equal_official(arch, memory_format):
    """Train mode (batch statistics), in-place residual, channels_last: every
    weight's gradient equals the official layout's. In float64, so that float32
    reordering (amplified by ReLU6's kinks in lite) cannot hide a real error."""
    torch.manual_seed(0)
    ref = official_model(arch).double().train()
    _, _, state = convert_rexnet(ref.state_dict())
    model = ReXNet(arch, out_indices=(6, ), memory_format=memory_format).double().train()
    model.load_state_dict_checked(
        {k[9:]: v for k, v in state.items() if k.startswith('backbone.')})
    x = torch.randn(4, 3, 64, 64, dtype=torch.float64)
    target = torch.randn(4, model.out_channels[0], 2, 2, dtype=torch.float64)
    ((model(x)[0] - target) ** 2).mean().backward()
    ((ref.forward_features(x)[6] - target) ** 2).mean().backward()
    layout = 'official-lite' if 'lite' in arch else 'official'
    kmap = {v[9:]: k for k, v in key_map(arch, layout).items() if v.startswith('backbone.')}
    ref_params = dict(ref.named_parameters())
    for name, p in model.named_parameters():
        assert torch.allclose(p.grad, ref_params[kmap[name]].grad, rtol=1e-8, atol=1e-12), name
