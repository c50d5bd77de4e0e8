"""The runtime of exported detectors (:class:`OnnxDetector`), beside the
classifiers' in :mod:`.runtime`."""
from typing import Optional, Sequence

import numpy as np

from .errors import DeployError, MetadataError
from .runtime import ExportedModel, normalise


class OnnxDetector(ExportedModel):
    """An exported mmdet detector (SSD/SSDLite, RetinaNet, Faster R-CNN, Mask
    R-CNN) in onnxruntime or OpenVINO, returning mmdet ``DetDataSample``s, so
    mmdet's metrics and visualiser take them. The graph holds the test path up
    to NMS for a batch (see :mod:`rexnet_mm.deploy.detector`); here: the
    config's test pipeline (resize), normalisation unless the graph does it,
    padding as mmdet pads a batch, and after the graph the rescale to each
    original image and, for Mask R-CNN, pasting the 28x28 masks into it
    (mmdet's ``_do_paste_mask``, threshold ``mask_thr_binary``).

        det = OnnxDetector('faster_rcnn.onnx')
        det('a.jpg').pred_instances  # bboxes, scores, labels (, masks)
        det(['a.jpg', 'b.jpg'], batch_size=2)  # a list, run two at a time

    ``batch_size``: images per run, default the file's static batch (1 for a
    file with a dynamic batch axis, as mmdet's inferencer); a file with a
    static batch takes exactly that many (the last run is filled up).
    """

    kind = 'detector'

    def __init__(self, path: str, threads: Optional[int] = None, **kw):
        super().__init__(path, threads, **kw)
        self.inputs = {i.name: i for i in self.engine.inputs}
        self.output_names = self.engine.output_names

    @property
    def batch(self) -> Optional[int]:
        """The graph's static batch size (None where the axis is dynamic)."""
        b = self.inputs['img'].shape[0]
        return b if isinstance(b, int) else None

    @property
    def static_size(self) -> Optional[tuple]:
        """The graph's static (H, W), or None where they are dynamic."""
        hw = self.inputs['img'].shape[2:]
        return tuple(hw) if all(isinstance(d, int) for d in hw) else None

    def check_fits(self, metainfos, name='an image') -> None:
        """A DeployError unless every image fits the graph's static size."""
        static = self.static_size
        for meta in metainfos if static else ():
            h, w = meta['img_shape'][:2]
            if h > static[0] or w > static[1]:
                raise DeployError(
                    f'{name}: the test pipeline makes this image {h}x{w}, larger than the '
                    f'{static[0]}x{static[1]} {self.path} takes; export without --shape (the '
                    f'default takes every size the pipeline makes) or with --shape {h} {w}')

    def graph_inputs(self, imgs, metainfos) -> dict:
        """Resized 3xhxw BGR uint8 images -> the graph's feed: ``img`` [B, 3,
        H, W] normalised (unless the graph does it) and zero-padded at the
        bottom and right, to the graph's static size or as mmdet's data
        preprocessor pads a batch (to its largest image, rounded up to the
        config's pad_size_divisor); ``img_shape`` [B, 2] the unpadded sizes."""
        self.check_fits(metainfos)
        xs = [np.asarray(i, np.float32) if self.meta['preprocess'] else normalise(i, self.meta)
              for i in imgs]
        if self.static_size:
            H, W = self.static_size
        else:
            d = int(self.meta.get('pad_size_divisor') or 1)
            H = -(-max(x.shape[1] for x in xs) // d) * d
            W = -(-max(x.shape[2] for x in xs) // d) * d
        out = np.zeros((len(xs), 3, H, W), np.float32)
        for i, x in enumerate(xs):
            out[i, :, :x.shape[1], :x.shape[2]] = x
        shapes = np.asarray([m['img_shape'][:2] for m in metainfos], np.float32)
        if len(self.inputs['img_shape'].shape) == 1:  # a file of version 0.x: [2]
            shapes = shapes[0]
        return {'img': out, 'img_shape': shapes}

    def run_batch(self, imgs, metainfos) -> list:
        """The graph's outputs for a batch, one dict of arrays per image (a
        static batch filled up with copies of the last image)."""
        n = len(imgs)
        if self.batch and n != self.batch:
            if n > self.batch:
                raise DeployError(f'{self.path} takes batches of {self.batch}, not {n}')
            imgs = list(imgs) + [imgs[-1]] * (self.batch - n)
            metainfos = list(metainfos) + [metainfos[-1]] * (self.batch - n)
        out = self.engine.run(self.graph_inputs(imgs, metainfos))
        return [{k: v[i] for k, v in zip(self.output_names, out)} for i in range(n)]

    def predict_batch(self, imgs, metainfos) -> list:
        """Images as the test pipeline leaves them (3xhxw BGR uint8) and their
        metainfo (img_shape, ori_shape, scale_factor), run as one batch ->
        DetDataSamples with ``pred_instances`` in original-image coordinates."""
        return [self.to_sample(out, meta)
                for out, meta in zip(self.run_batch(imgs, metainfos), metainfos)]

    def predict(self, img, metainfo: dict):
        """One image (see :meth:`predict_batch`) -> a DetDataSample."""
        return self.predict_batch([img], [metainfo])[0]

    def to_sample(self, out: dict, metainfo: dict):
        """One image's rows of the outputs (``dets`` [N, 5], ``labels`` [N]:
        its count is the number of labels >= 0, the first rows) -> a
        DetDataSample."""
        import torch
        from mmdet.structures import DetDataSample
        from mmengine.structures import InstanceData
        keep = out['labels'] >= 0
        labels = out['labels'][keep]
        if labels.size and labels.max() >= len(self.classes):
            raise MetadataError(f'{self.path} returned label {int(labels.max())}, but its '
                                f'metadata names {len(self.classes)} classes; the file was '
                                f'altered or exported with the wrong classes')
        dets = torch.from_numpy(out['dets'][keep])
        sx, sy = metainfo.get('scale_factor', (1., 1.))
        boxes = dets[:, :4] / dets.new_tensor([sx, sy, sx, sy])
        inst = InstanceData(bboxes=boxes, scores=dets[:, 4],
                            labels=torch.from_numpy(labels).long())
        if 'masks' in out:
            inst.masks = self.paste_masks(torch.from_numpy(out['masks'][keep]), boxes,
                                          metainfo['ori_shape'][:2])
        sample = DetDataSample(metainfo=metainfo)
        sample.pred_instances = inst
        return sample

    def paste_masks(self, logits, boxes, ori_shape):
        """28x28 mask logits of each detection -> boolean masks of the original
        image (mmdet's FCNMaskHead post-processing)."""
        import torch
        from mmdet.models.roi_heads.mask_heads.fcn_mask_head import _do_paste_mask
        h, w = int(ori_shape[0]), int(ori_shape[1])
        if len(logits) == 0:
            return torch.zeros(0, h, w, dtype=torch.bool)
        masks, _ = _do_paste_mask(logits.sigmoid()[:, None], boxes, h, w, skip_empty=False)
        return masks >= self.meta['mask_thr_binary']

    def predict_all(self, images: Sequence, batch_size: Optional[int] = None) -> list:
        """Images (paths or HxWx3 BGR arrays) -> DetDataSamples, run
        ``batch_size`` at a time (default: the file's batch, else 1)."""
        size = batch_size or self.batch or 1
        if self.batch and size != self.batch:
            raise DeployError(f'{self.path} takes batches of {self.batch}; batch_size '
                              f'{size} is not allowed')
        results = []
        for i in range(0, len(images), size):
            data = [self.load(image) for image in images[i:i + size]]
            results += self.predict_batch([d['inputs'].numpy() for d in data],
                                          [d['data_samples'].metainfo for d in data])
        return results
