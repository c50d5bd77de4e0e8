"""mmengine checkpoints load under torch.load(weights_only=True); anything
else pickled is still refused."""
import os
import pickle

import numpy as np
import pytest
import torch

import rexnet_mm  # noqa: F401  installs the allow-list


class _Evil:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def _load(path):
    from mmengine.runner.checkpoint import CheckpointLoader
    return CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


def test_mmengine_objects_load(tmp_path):
    from mmengine.logging import HistoryBuffer, MessageHub
    hub = MessageHub.get_instance('rexnet_mm_test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float32(1.25))
    hub.update_info('best_score', np.float64(0.5))
    ckpt = {'state_dict': {'w': torch.ones(2)}, 'message_hub': hub.state_dict(),
            'meta': {'seed': np.int64(3), 'dtype': np.dtype('float32'),
                     'arr': np.arange(4, dtype=np.int32)}}
    torch.save(ckpt, tmp_path / 'ok.pth')
    loaded = _load(tmp_path / 'ok.pth')
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer) and buf.current() == 1.25
    assert loaded['meta']['seed'] == 3 and loaded['meta']['arr'].tolist() == [0, 1, 2, 3]


@pytest.mark.filterwarnings('ignore:Detected pickle protocol')
@pytest.mark.parametrize('protocol', [2, pickle.HIGHEST_PROTOCOL])
def test_arbitrary_pickle_refused(tmp_path, protocol):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'x': _Evil(marker)}, path,
               pickle_protocol=protocol)
    with pytest.raises(pickle.UnpicklingError) as err:
        _load(path)
    if protocol == 2:
        assert 'system' in str(err.value)
    assert not marker.exists()


def test_getattr_gadget_refused(tmp_path):
    """A pickle that reaches ndarray.tofile through getattr must not run."""
    marker = tmp_path / 'written'

    class Call:

        def __reduce__(self):
            # a bound builtin method pickles as getattr(array, 'tofile')
            return (np.arange(3).tofile, (str(marker), ))

    path = tmp_path / 'gadget.pth'
    torch.save({'x': Call()}, path)
    with pytest.raises(pickle.UnpicklingError, match='tofile'):
        _load(path)
    assert not marker.exists()
