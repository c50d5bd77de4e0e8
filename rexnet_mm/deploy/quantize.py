"""int8 post-training quantization of an exported model with onnxruntime."""
import os
import os.path as osp
from typing import Iterable

import numpy as np

from ..utils.files import partial_path, publish, remove_quietly


def quantize_int8(src: str, dst: str, calibration: Iterable[np.ndarray],
                  input_name: str = 'input') -> str:
    """onnxruntime static int8 quantization of ``src`` into ``dst``: QDQ
    format, per-channel int8 weights, uint8 activations, ranges calibrated
    (min-max) on ``calibration`` (graph inputs, one batch each). The file's
    metadata (preprocessing, classes) is kept."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):

        def __init__(self):
            self.items = iter(calibration)

        def get_next(self):
            item = next(self.items, None)
            return None if item is None else {input_name: item}

    tmp = partial_path(dst, 'quantize')  # .<name>.<pid>.quantize/, beside dst
    os.makedirs(tmp, exist_ok=True)
    try:
        pre = osp.join(tmp, 'pre.onnx')
        quant_pre_process(src, pre, skip_symbolic_shape=True)
        out = osp.join(tmp, 'int8.onnx')
        quantize_static(pre, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        meta = {p.key: p.value for p in onnx.load(src, load_external_data=False).metadata_props}
        model = onnx.load(out)
        have = {p.key for p in model.metadata_props}
        for k, v in meta.items():
            if k not in have:
                entry = model.metadata_props.add()
                entry.key, entry.value = k, v
        onnx.save(model, out)
        publish(out, dst)
    finally:
        remove_quietly(tmp)
    return dst
