"""Tiny ``.onnx`` files for the deploy tests, made here: a graph of a few
nodes with the metadata export_onnx.py writes (or a crafted one), so the
runtimes and tools can be tried on them in milliseconds."""
import json

import numpy as np

NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)


def classifier_meta():
    """What export_onnx.py writes for a classifier (a small crop)."""
    return dict(kind='classifier', outputs=['logits'], config='c.py', checkpoint='c.pth',
                deploy=False, preprocess=False, softmax=False, input_layout='NCHW float32',
                test_pipeline=[dict(type='LoadImageFromFile'),
                               dict(type='ResizeEdge', scale=40, edge='short', backend='pillow',
                                    interpolation='bicubic'),
                               dict(type='CenterCrop', crop_size=32), dict(type='PackInputs')],
                classes=['cat', 'dog', 'fish'], **NORM)


def detector_meta():
    """What export_onnx.py writes for a Faster R-CNN (a small scale)."""
    return dict(kind='detector', outputs=['dets', 'labels'], config='d.py', checkpoint='d.pth',
                deploy=False, preprocess=False, softmax=False, input_layout='NCHW float32',
                test_pipeline=[dict(type='LoadImageFromFile'),
                               dict(type='Resize', scale=[96, 64], keep_ratio=True),
                               dict(type='LoadAnnotations', with_bbox=True),
                               dict(type='PackDetInputs',
                                    meta_keys=['img_id', 'img_path', 'ori_shape', 'img_shape',
                                               'scale_factor'])],
                classes=['circle', 'square'], detector='faster_rcnn', max_dets=1,
                score_thr=0.05, pad_size_divisor=32, mask_thr_binary=0.5, **NORM)


def tiny_onnx(path, meta, kind='classifier', label=1):
    """A tiny graph of ``kind`` with ``meta`` (a dict, or raw text) as its
    metadata. Classifier: logits = the channel means of the input.
    Detector: one constant detection of class ``label``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    if kind == 'classifier':
        inputs = [helper.make_tensor_value_info('input', TensorProto.FLOAT,
                                                ['batch', 3, 'h', 'w'])]
        outputs = [helper.make_tensor_value_info('logits', TensorProto.FLOAT, ['batch', 3])]
        nodes = [helper.make_node('ReduceMean', ['input', 'axes'], ['logits'], keepdims=0)]
        init = [numpy_helper.from_array(np.array([2, 3], np.int64), 'axes')]
    else:
        inputs = [helper.make_tensor_value_info('img', TensorProto.FLOAT, [1, 3, 'h', 'w']),
                  helper.make_tensor_value_info('img_shape', TensorProto.FLOAT, [2])]
        outputs = [helper.make_tensor_value_info('dets', TensorProto.FLOAT, [1, 1, 5]),
                   helper.make_tensor_value_info('labels', TensorProto.INT64, [1, 1])]
        nodes = [helper.make_node('Constant', [], ['dets'], value=numpy_helper.from_array(
                     np.array([[[4, 6, 40, 30, 0.9]]], np.float32))),
                 helper.make_node('Constant', [], ['labels'], value=numpy_helper.from_array(
                     np.array([[label]], np.int64)))]
        init = []
    graph = helper.make_graph(nodes, 'tiny', inputs, outputs, init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 18)])
    model.ir_version = 8
    entry = model.metadata_props.add()
    entry.key, entry.value = 'rexnet_mm', meta if isinstance(meta, str) else json.dumps(meta)
    onnx.save(model, str(path))
    return str(path)
