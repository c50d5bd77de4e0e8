"""What onnxruntime's quantize_static gets beyond the recipe's knobs
(:mod:`.quantize`), read from the graph and the file's metadata: which
outputs stay float and which input ranges are known without calibrating."""
from typing import Dict, List, Tuple

import numpy as np


def output_op_types(graph) -> List[str]:
    """Op types whose every node writes one of ``graph``'s outputs (a
    classifier's final Gemm): their outputs stay float. An int8 output is
    dequantized at once, so quantizing it saves nothing and costs accuracy
    (its own 8-bit grid)."""
    outputs = {o.name for o in graph.output}
    types = {n.op_type for n in graph.node}
    return sorted(t for t in types if all(set(n.output) & outputs
                                          for n in graph.node if n.op_type == t))


def pixel_range(meta: dict) -> Tuple[float, float]:
    """Every value a 0-255 pixel can take once normalised by the exported
    model's mean and std (its metadata), over all channels."""
    mean = np.asarray(meta['mean'], np.float64)
    std = np.asarray(meta['std'], np.float64)
    return float((-mean / std).min()), float(((255 - mean) / std).max())


def extra_options(pre: str, props: Dict[str, str], where: str, pixels: bool = True) -> dict:
    """onnxruntime's quantize_static options beyond the recipe's: asymmetric
    activation ranges; the graph outputs in float (:func:`output_op_types`);
    and with ``pixels``, in a file export_onnx.py wrote that takes its image
    normalised, the image input's range pinned to :func:`pixel_range`, so
    that no pixel value is clipped however narrow the calibration images
    (docs/deploy.md has what it changed). ``props``: the file's metadata
    (``where``: its path)."""
    import onnx

    from .metadata import META_KEY, parse_meta
    graph = onnx.load(pre, load_external_data=False).graph
    options = {'CalibTensorRangeSymmetric': False,
               'OpTypesToExcludeOutputQuantization': output_op_types(graph)}
    meta = parse_meta(props[META_KEY], where) if META_KEY in props else None
    if pixels and meta and not meta['preprocess']:  # else the graph normalises uint8 pixels itself
        lo, hi = pixel_range(meta)
        options['TensorQuantOverrides'] = {graph.input[0].name: [
            {'rmin': np.float32(lo), 'rmax': np.float32(hi)}]}
    return options
