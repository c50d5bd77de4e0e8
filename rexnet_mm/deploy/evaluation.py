"""An exported detector as an mmengine model, so that mmengine's test loop
(``tools/test.py CONFIG det.onnx``) evaluates the ``.onnx`` file with the
config's data and metric, through the same seam as a PyTorch model: the
config's ``model`` becomes ``dict(type='ExportedDetector', path=...)``."""
from typing import Optional, Sequence

from mmengine.model import BaseModel
from mmengine.registry import MODELS

from .errors import DeployError
from .runtime_det import OnnxDetector


@MODELS.register_module(name='ExportedDetector')
class ExportedDetector(BaseModel):
    """Test and val steps of an exported detector: the test loader's batch
    (``test_dataloader.batch_size``) goes through :class:`OnnxDetector` as one
    run, padded as mmdet pads it (a file with a static batch runs it in
    chunks of that size), and each data sample gets the ``pred_instances``
    mmdet's metrics read.

    Args:
        path (str): the ``.onnx`` file (tools/deployment/export_onnx.py).
        classes (Sequence[str], optional): the test set's classes; the file's
            must be the same (its labels index them, as COCO's categories do).
        threads (int, optional): runtime threads. Default: the runtime's.
        backend (str): 'onnxruntime' or 'openvino'. Default: 'onnxruntime'.
        precision (str): 'fp32', or 'bf16' in OpenVINO on a CPU with native
            bf16. Default: 'fp32'.
    """

    def __init__(self, path: str, classes: Optional[Sequence[str]] = None,
                 threads: Optional[int] = None, backend: str = 'onnxruntime',
                 precision: str = 'fp32', init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.path = path
        self.detector = OnnxDetector(path, threads, backend=backend, precision=precision)
        self._warned = False
        if classes is not None:
            self.check_classes(classes)

    def check_classes(self, classes: Sequence[str]) -> None:
        classes = list(classes)
        if self.detector.classes != classes:
            raise DeployError(
                f'{self.path} was exported with {len(self.detector.classes)} classes '
                f'{self.detector.classes[:5]}..., but the test set has {len(classes)} '
                f'{classes[:5]}...')

    def forward(self, inputs, data_samples=None, mode: str = 'predict'):
        if mode != 'predict':
            raise DeployError(f'an exported detector ({self.path}) only predicts; '
                              f'mode {mode!r} needs the PyTorch model')
        size = self.detector.batch or len(inputs)  # the loader's batch, as one run
        if size < len(inputs) and not self._warned:
            self._warned = True
            print(f'[test] {self.path} takes batches of {size}: the loader\'s batches of '
                  f'{len(inputs)} run {size} at a time (mmdet pads a batch to its largest '
                  f'image, so the numbers are those of batch {size}); export with --batch '
                  f'{len(inputs)} or --dynamic to evaluate at {len(inputs)}', flush=True)
        imgs, metas = [i.numpy() for i in inputs], [s.metainfo for s in data_samples]
        return [pred for i in range(0, len(imgs), size)
                for pred in self.detector.predict_batch(imgs[i:i + size], metas[i:i + size])]

    def test_step(self, data) -> list:
        samples = data['data_samples']
        for sample, pred in zip(samples, self.forward(data['inputs'], samples)):
            sample.pred_instances = pred.pred_instances
        return samples

    val_step = test_step

    def train_step(self, data, optim_wrapper):
        raise DeployError(f'an exported detector ({self.path}) cannot train')
