"""onnxruntime's QDQ debugger as a report: per-tensor SQNR of an int8 file
against its fp32 source, worst first, so a user sees which layers hurt
(``tools/deployment/quantize_onnx.py --report``)."""
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np

from ..utils.files import partial_path, publish, remove_quietly


def graph_nodes(path: str):
    import onnx
    return onnx.load(path, load_external_data=False).graph.node


class _Reader:
    """onnxruntime's CalibrationDataReader over a list of feeds."""

    def __init__(self, feeds: Sequence[Dict[str, np.ndarray]]):
        self.feeds, self.i = list(feeds), 0

    def get_next(self):
        if self.i >= len(self.feeds):
            return None
        self.i += 1
        return self.feeds[self.i - 1]

    def rewind(self):
        self.i = 0


def reader(feeds):
    """A CalibrationDataReader of ``feeds`` (one dict of graph inputs each)."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(_Reader, CalibrationDataReader):
        pass
    return Reader(feeds)


def sqnr_report(fp32: str, int8: str, feeds: Sequence[Dict[str, np.ndarray]],
                workdir: str) -> List[dict]:
    """Per-tensor SQNR (dB; lower is worse) of ``int8`` against ``fp32`` on
    ``feeds``, from onnxruntime's QDQ debugger, worst first: activations
    (``local``: the tensor's own quantization; ``model``: against the fp32
    model's tensor, error accumulated so far; ``drop``: the SQNR lost from
    the producing node's inputs to its output) and weights. Each row names
    the node that produces the tensor (activations) or takes it (weights)."""
    from onnxruntime.quantization.qdq_loss_debug import (collect_activations,
                                                         compute_activation_error,
                                                         compute_weight_error,
                                                         create_activation_matching,
                                                         create_weight_matching,
                                                         modify_model_output_intermediate_tensors)
    aug_f, aug_q = osp.join(workdir, 'aug_fp32.onnx'), osp.join(workdir, 'aug_int8.onnx')
    modify_model_output_intermediate_tensors(fp32, aug_f)
    modify_model_output_intermediate_tensors(int8, aug_q)
    acts = create_activation_matching(collect_activations(aug_q, reader(feeds)),
                                      collect_activations(aug_f, reader(feeds)))
    nodes = list(graph_nodes(fp32))
    producer = {o: n for n in nodes for o in n.output}
    consumer = {i: n.name for n in nodes for i in n.input}
    errors = compute_activation_error(acts)
    model = {name: err.get('xmodel_err') for name, err in errors.items()}
    rows = []
    for name, err in errors.items():
        node = producer.get(name)
        # the SQNR the producing node loses: its inputs' (model) SQNR minus its output's
        before = [model[i] for i in (node.input if node else []) if model.get(i) is not None]
        drop = (min(before) - model[name]) if before and model[name] is not None else None
        rows.append(dict(kind='activation', tensor=name,
                         node=node.name if node else '(graph input)',
                         local_sqnr=err.get('qdq_err'), model_sqnr=model[name], drop=drop))
    import logging
    root = logging.getLogger()
    level = root.level
    # (a weight shared by several nodes, as the RPN head's across FPN levels, is
    # quantized once per node under a new name, which the matcher logs as missing)
    root.setLevel(logging.CRITICAL)
    try:
        weights = compute_weight_error(create_weight_matching(fp32, int8))
    finally:
        root.setLevel(level)
    rows += [dict(kind='weight', tensor=name, node=consumer.get(name, ''), local_sqnr=err,
                  model_sqnr=None, drop=None) for name, err in weights.items()]
    rows = [r for r in rows if r['local_sqnr'] is not None and np.isfinite(r['local_sqnr'])]
    return sorted(rows, key=lambda r: r['local_sqnr'])


def write_report(rows: List[dict], path: str) -> None:
    """``rows`` of :func:`sqnr_report` as markdown (``.md``) or csv (``.csv``);
    ``alone_err_pct``: a classifier's median relative logit error, in percent,
    with the weights and that activation alone in int8 (:mod:`.qdq_isolate`)."""
    def fmt(v):
        return '' if v is None else f'{v:.2f}' if isinstance(v, float) else str(v)
    cols = ('kind', 'tensor', 'node', 'local_sqnr', 'model_sqnr', 'drop', 'alone_err_pct')
    rows = [dict(r, alone_err_pct=None if r.get('alone') is None else 100 * r['alone'])
            for r in rows]
    tmp = partial_path(path)
    try:
        with open(tmp, 'w') as f:
            if path.endswith('.csv'):
                import csv
                w = csv.writer(f)
                w.writerow(cols)
                w.writerows([[fmt(r[c]) for c in cols] for r in rows])
            else:
                f.write('| ' + ' | '.join(cols) + ' |\n|' + '---|' * len(cols) + '\n')
                f.writelines('| ' + ' | '.join(fmt(r[c]) for c in cols) + ' |\n' for r in rows)
        publish(tmp, path)
    finally:
        remove_quietly(tmp)
