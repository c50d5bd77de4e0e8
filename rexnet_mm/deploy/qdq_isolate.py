"""Which activations move a classifier's logits: the int8 file run with one
activation's quantization at a time (every other activation's
QuantizeLinear/DequantizeLinear pair bypassed, the weights int8 throughout),
each measured by the median relative logit error against the fp32 file
(:mod:`.accuracy`), the measure of ``--max-error`` and the accuracy targets.
The SQNR report (:mod:`.qdq_report`) says where a tensor's own rounding is
coarse; this says what it costs at the output, alone."""
import statistics
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .accuracy import relative_errors


def activation_pairs(graph) -> Dict[str, List[int]]:
    """{activation tensor: indices of its QuantizeLinear node and the
    DequantizeLinear nodes reading it} in a QDQ ``graph``; weights (constant
    inputs) and pairs that write a graph output are left out."""
    consts = {i.name for i in graph.initializer}
    consts |= {o for n in graph.node if n.op_type == 'Constant' for o in n.output}
    outputs = {o.name for o in graph.output}
    readers = {}
    for i, n in enumerate(graph.node):
        if n.op_type == 'DequantizeLinear':
            readers.setdefault(n.input[0], []).append(i)
    pairs = {}
    for i, n in enumerate(graph.node):
        if n.op_type != 'QuantizeLinear' or n.input[0] in consts:
            continue
        dqs = readers.get(n.output[0], [])
        if dqs and not any(graph.node[j].output[0] in outputs for j in dqs):
            pairs[n.input[0]] = [i] + dqs
    return pairs


def removed_activations(model, pre) -> Dict[str, object]:
    """{tensor: the fp32 graph's Relu or Clip node that wrote it} for the
    activations onnxruntime's quantizer folded into the range of the
    quantization after a conv (the conv writes the tensor itself): bypassing
    that quantization must put them back."""
    made = {o: n for n in model.graph.node for o in n.output}
    return {o: n for n in pre.graph.node if n.op_type in ('Relu', 'Clip')
            for o in n.output if o in made and made[o].op_type != n.op_type}


def isolate(model, keep: Sequence[str], pre, pairs: Optional[Dict[str, List[int]]] = None,
            folded: Optional[Dict[str, object]] = None):
    """A copy of the QDQ ``model`` in which only the activations ``keep``
    are quantized: every other pair of :func:`activation_pairs` is removed,
    its readers read the float tensor, and an activation the quantizer
    folded into it (:func:`removed_activations`, from ``pre``, the fp32
    graph it was quantized from) is put back."""
    import onnx
    pairs = pairs if pairs is not None else activation_pairs(model.graph)
    folded = folded if folded is not None else removed_activations(model, pre)
    drop, rename, restore = set(), {}, []
    for tensor, nodes in pairs.items():
        if tensor in keep:
            continue
        drop.update(nodes)
        rename.update({model.graph.node[j].output[0]: tensor for j in nodes[1:]})
        if tensor in folded:
            restore.append(tensor)
    out = onnx.ModelProto()
    out.CopyFrom(model)
    nodes = []
    for i, n in enumerate(model.graph.node):
        if i in drop:
            continue
        m = onnx.NodeProto()
        m.CopyFrom(n)
        for k, name in enumerate(m.input):
            m.input[k] = rename.get(name, name)
        for k, name in enumerate(m.output):
            if name in restore:  # the conv's output, then its activation again
                m.output[k] = name + '/float_conv'
                act = onnx.NodeProto()
                act.CopyFrom(folded[name])
                act.input[0] = m.output[k]
                nodes += [m, act]
                break
        else:
            nodes.append(m)
    del out.graph.node[:]
    out.graph.node.extend(nodes)
    have = {i.name for i in out.graph.initializer}
    needed = {i for t in restore for i in folded[t].input[1:] if i and i not in have}
    out.graph.initializer.extend(i for i in pre.graph.initializer if i.name in needed)
    return out


def alone_errors(pre: str, int8: str, feeds: Sequence[Dict[str, np.ndarray]],
                 ref: Sequence[np.ndarray], log=print) -> Tuple[float, Dict[str, float]]:
    """(the median relative logit error with the weights alone in int8,
    {activation tensor: the same with that activation quantized too}) of
    the QDQ file ``int8``, quantized from the fp32 graph ``pre``, on
    ``feeds`` against ``ref`` (the fp32 outputs), in onnxruntime."""
    import onnx
    import onnxruntime as ort

    from .backends.onnxruntime import session_options
    model, fp32 = onnx.load(int8), onnx.load(pre)
    pairs, folded = activation_pairs(model.graph), removed_activations(model, fp32)
    options = session_options(spinning=False)

    def error(keep):
        graph = isolate(model, keep, fp32, pairs, folded)
        sess = ort.InferenceSession(graph.SerializeToString(), options,
                                    providers=['CPUExecutionProvider'])
        return statistics.median(relative_errors(ref, [sess.run(None, f)[0] for f in feeds]))
    weights = error(())
    out = {}
    for i, tensor in enumerate(pairs):
        out[tensor] = error((tensor, ))
        if (i + 1) % 25 == 0 or i + 1 == len(pairs):
            log(f'[quantize]   activations quantized one at a time: {i + 1}/{len(pairs)}')
    return weights, out
