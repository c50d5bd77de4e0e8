"""The backbone's arguments and input: out_indices in the order asked,
non-finite multipliers named as the arch, bad input tensors named, and
a one-image batch with training BN explained."""
import pytest
import torch

import rexnet_mm  # noqa: F401  installs the allow-list


def test_out_indices_returned_in_the_order_asked_and_no_repeats():
    from rexnet_mm.models import ReXNet
    m = ReXNet('1.0x', out_indices=(5, 1)).eval()
    outs = m(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == m.out_channels == [185, 38]
    assert [64 // o.shape[-1] for o in outs] == m.out_strides == [32, 4]
    with pytest.raises(ValueError, match=r'out_indices must not repeat an index, but got \(1, 1\)'):
        ReXNet(out_indices=(1, 1))


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
@pytest.mark.parametrize('key', ['width_mult', 'depth_mult'])
def test_nonfinite_multipliers_named_as_arch(key, value):
    from rexnet_mm.models import ReXNet
    with pytest.raises(ValueError, match=f'arch: {key} must be a positive finite number, '
                       f'but got {value}'):
        ReXNet(arch={key: value})


@pytest.mark.parametrize('x,what', [
    (torch.randn(3, 32, 32), 'torch.float32 tensor of shape (3, 32, 32)'),
    (torch.randn(1, 1, 32, 32), 'of shape (1, 1, 32, 32)'),
    (torch.zeros(1, 3, 32, 32, dtype=torch.uint8), 'torch.uint8 tensor'),
    (torch.randn(2, 3, 8, 8, 8), 'of shape (2, 3, 8, 8, 8)'),
])
def test_bad_input_tensor_is_named(x, what):
    from rexnet_mm.models import ReXNet
    m = ReXNet('1.0x', out_indices=(1, )).eval()
    with pytest.raises(ValueError) as err:
        m(x)
    assert "ReXNet(arch='1.0x') expects a floating-point tensor of shape (N, 3, H, W)" in \
        str(err.value) and what in str(err.value)


def test_one_image_batch_with_training_bn_explains_the_fixes():
    from rexnet_mm.models import ReXNet
    m = ReXNet('1.0x', out_indices=(3, )).train()
    with pytest.raises(ValueError) as err:
        m(torch.randn(1, 3, 64, 64))
    msg = str(err.value)
    assert 'batch of 1 image' in msg and 'norm_eval=True' in msg and 'SyncBN' in msg
    assert m(torch.randn(2, 3, 64, 64))[0].shape[0] == 2  # 2 images are fine
    m = ReXNet('1.0x', out_indices=(3, ), norm_eval=True).train()
    m(torch.randn(1, 3, 64, 64))  # fixed statistics are fine
