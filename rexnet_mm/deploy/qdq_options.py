"""What onnxruntime's quantize_static gets from the recipe's knobs
(:mod:`.quantize`), the graph and the file's metadata: the graph prepared
for it, which ops and nodes are quantized, which outputs stay float and which
input ranges are known without calibrating."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import DeployError


def preprocess(src: str, out: str, pools: bool = False) -> str:
    """The graph quantize_static takes, in ``out``: onnxruntime's
    pre-quantization pass of ``src`` (shape inference, graph optimisation),
    and with ``pools`` :func:`global_pools`."""
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process
    quant_pre_process(src, out, skip_symbolic_shape=True)
    model = onnx.load(out)
    if pools and global_pools(model.graph):
        onnx.save(model, out)
    return out


def global_pools(graph) -> int:
    """Rewrite, in place, each ReduceMean of a 4-D tensor over its two
    spatial axes, keeping them (an SE block's squeeze), as the
    GlobalAveragePool it is; returns how many. The same function, but
    onnxruntime has an int8 kernel for the pool (QLinearGlobalAveragePool)
    and none for ReduceMean, which dequantizes the whole feature map to
    average it in float (ReXNet-1.0x int8 at batch 1: 1.23x its fp32 against
    1.10x; SSDLite 1.26x against 1.14x; OpenVINO unchanged)."""
    from onnx import numpy_helper
    consts = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consts.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in graph.node
                   if n.op_type == 'Constant' and n.attribute[0].name == 'value'})
    ranks = {v.name: len(v.type.tensor_type.shape.dim)
             for v in list(graph.value_info) + list(graph.input)
             if v.type.tensor_type.HasField('shape')}
    done = 0
    for n in graph.node:
        attrs = {a.name: a for a in n.attribute}
        if n.op_type != 'ReduceMean' or ranks.get(n.input[0]) != 4 or (
                'keepdims' in attrs and attrs['keepdims'].i != 1):
            continue
        axes = consts.get(n.input[1]) if len(n.input) > 1 else (
            list(attrs['axes'].ints) if 'axes' in attrs else None)
        if axes is None or sorted(int(a) % 4 for a in np.ravel(axes)) != [2, 3]:
            continue
        n.op_type = 'GlobalAveragePool'
        del n.input[1:]
        del n.attribute[:]
        done += 1
    used = {i for n in graph.node for i in n.input}  # the axes no node reads any more
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return done


def vector_nodes(graph) -> List[str]:
    """The nodes whose every input and output, weights aside, is a pooled
    4-D map of H = W = 1 (as shape inference gives them): in ReXNet each SE
    block's excitation (1x1 conv, ReLU, 1x1 conv, Sigmoid)."""
    dims = {v.name: [d.dim_value if d.HasField('dim_value') else None
                     for d in v.type.tensor_type.shape.dim]
            for v in graph.value_info if v.type.tensor_type.HasField('shape')}
    weights = {i.name for i in graph.initializer}

    def pooled(name):
        return len(dims.get(name, ())) == 4 and dims[name][2:] == [1, 1]
    return [n.name for n in graph.node
            if all(pooled(t) for t in list(n.input) + list(n.output) if t and t not in weights)
            and any(t and t not in weights for t in n.input)]


def split_exclusions(graph, exclude: Sequence[str], where: str,
                     region: Optional[Sequence[str]] = None) -> Tuple[List[str], List[str]]:
    """(op types to quantize, node names to exclude): each entry of
    ``exclude`` is an op type of ``graph`` or a node name; anything else is
    refused, naming what the graph (``where``) has. With ``region``, the op
    types are those of its nodes (nothing outside it is even calibrated)."""
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry
    nodes = list(graph.node)
    types = sorted({n.op_type for n in nodes})
    inside = types if region is None else sorted(
        {n.op_type for n in nodes if n.name in set(region)})
    names = {n.name for n in nodes}
    unknown = [e for e in exclude if e not in types and e not in names]
    if unknown:
        raise DeployError(f'--exclude {" ".join(unknown)}: neither an op type nor a node name '
                          f'of {where}; its op types are {", ".join(types)}')
    # onnxruntime's default for static quantization: both registries
    quantizable = [t for t in inside if (t in QDQRegistry or t in QLinearOpsRegistry)
                   and t not in exclude]
    return quantizable, [e for e in exclude if e in names]


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


def extra_options(graph, props: Dict[str, str], where: str, pixels: bool = True,
                  float_outputs: Sequence[str] = ()) -> dict:
    """onnxruntime's quantize_static options beyond the recipe's: asymmetric
    activation ranges; the graph outputs in float (:func:`output_op_types`)
    and the outputs of the ``float_outputs`` op types (the recipe's; one the
    graph lacks is refused, naming those it has);
    and with ``pixels``, in a file export_onnx.py wrote that takes its image
    normalised, the image input's range pinned to :func:`pixel_range`, so
    that no pixel value is clipped however narrow the calibration images
    (docs/deploy.md has what it changed). ``graph``: the prepared graph;
    ``props``: the file's metadata (``where``: its path)."""
    from .metadata import META_KEY, parse_meta
    types = sorted({n.op_type for n in graph.node})
    unknown = [t for t in float_outputs if t not in types]
    if unknown:
        raise DeployError(f'--float-outputs {" ".join(unknown)}: not an op type of {where}; '
                          f'its op types are {", ".join(types)}')
    options = {'CalibTensorRangeSymmetric': False, 'OpTypesToExcludeOutputQuantization':
               sorted(set(output_op_types(graph)) | set(float_outputs))}
    meta = parse_meta(props[META_KEY], where) if META_KEY in props else None
    if pixels and meta and not meta['preprocess']:  # else the graph normalises uint8 pixels itself
        lo, hi = pixel_range(meta)
        options['TensorQuantOverrides'] = {graph.input[0].name: [
            {'rmin': np.float32(lo), 'rmax': np.float32(hi)}]}
    return options
