"""int8 post-training quantization of an exported classifier: onnxruntime's
static quantization (QDQ: the same ``.onnx`` format, run by onnxruntime and
OpenVINO alike), with the recipe's knobs (:class:`~.qdq_recipe.QuantOptions`,
each runtime's defaults in :mod:`.qdq_recipe`):

- ``reduce_range``: 7-bit weights, which CPUs without int8 dot products
  (VNNI, AMX-int8) need: their u8 x s8 products saturate otherwise
  (onnxruntime's quantization guide). 'auto' turns it on there only.
- ``exclude``: op types or node names kept in float.
- ``float_outputs``: op types whose outputs stay float (the next quantized
  op quantizes its own input).
- ``avg_pools``: spatial averages in int8 (as GlobalAveragePool) or float.
- ``vectors``: the ops on pooled 1x1 maps (the SE excitations) in float or
  int8 (:func:`~.qdq_options.vector_nodes`).
- ``method``: calibration by min-max, percentile or entropy.
- ``input_range``: 'pixels' quantizes a normalised image input over every
  value a pixel can take (from the file's mean and std), 'calibrated' over
  what the calibration images held (:mod:`.qdq_options`).
- :func:`~.qdq_report.sqnr_report`: onnxruntime's QDQ debugger, per-tensor
  SQNR of the activations and weights, worst first; for a classifier
  :func:`add_alone_errors` adds each activation's logit error alone.
- :func:`quantize_to_budget`: accuracy-aware; return the worst quantized node
  to float until half the held-out images meet a logit-error budget, then
  confirm it on the other half, which the search never saw.

The recipe is recorded in the file's metadata under ``RECIPE_KEY``.
"""
import json
import os
import os.path as osp
from dataclasses import replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..utils.files import partial_path, publish, remove_quietly
from .errors import DeployError
from .qdq_options import extra_options, preprocess, split_exclusions, vector_nodes
from .qdq_recipe import RECIPE_KEY, QuantOptions, recipe
from .qdq_report import reader, sqnr_report, write_report


def quantize_int8(src: str, dst: str, calibration: Sequence[Dict[str, np.ndarray]],
                  opts: Optional[QuantOptions] = None, _pre: Optional[str] = None) -> str:
    """Quantize ``src`` into ``dst`` (written whole or not at all): QDQ,
    per-channel int8 weights, uint8 activations, ranges calibrated on
    ``calibration`` (feeds: one dict of graph inputs per batch). The file's
    metadata is kept and the recipe added."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    opts = (opts or QuantOptions()).check()
    if not calibration:
        raise DeployError('int8 calibration needs at least one image')
    tmp = partial_path(dst, 'quantize')  # .<name>.<pid>.quantize/, beside dst
    os.makedirs(tmp, exist_ok=True)
    try:
        pre = _pre or preprocess(src, osp.join(tmp, 'pre.onnx'), opts.pools)
        meta = {p.key: p.value for p in onnx.load(src, load_external_data=False).metadata_props}
        graph = onnx.load(pre, load_external_data=False).graph
        op_types, excluded = split_exclusions(graph, opts.excluded, src, opts.region)
        if opts.float_vectors:
            excluded += vector_nodes(graph)
        out = osp.join(tmp, 'int8.onnx')
        extra = extra_options(graph, meta, src, opts.input_range == 'pixels',
                              opts.float_output_types)
        method = {'minmax': CalibrationMethod.MinMax, 'percentile': CalibrationMethod.Percentile,
                  'entropy': CalibrationMethod.Entropy}[opts.method]
        quantize_static(pre, out, reader(calibration), quant_format=QuantFormat.QDQ,
                        per_channel=opts.per_channel, reduce_range=opts.reduce,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=method, op_types_to_quantize=op_types,
                        nodes_to_quantize=opts.region,
                        nodes_to_exclude=excluded + list(opts.nodes),
                        extra_options=extra)
        meta[RECIPE_KEY] = json.dumps(recipe(opts, len(calibration),
                                             extra.get('TensorQuantOverrides')))
        model = onnx.load(out)
        del model.metadata_props[:]
        for k, v in meta.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = k, v
        onnx.save(model, out)
        publish(out, dst)
    finally:
        remove_quietly(tmp)
    return dst


def quantize_to_budget(src: str, dst: str, calibration, search, opts: QuantOptions,
                       max_error: float, evaluate: Callable[[str, str], float],
                       max_steps: int = 20, log=print,
                       measure: str = 'held-out median logit error',
                       _pre: Optional[str] = None) -> Tuple[float, List[dict]]:
    """Accuracy-aware quantization: quantize and measure ``evaluate(int8
    path, 'search')`` (e.g. the median relative logit error on the search
    half of the held-out images); while it exceeds ``max_error``, try
    returning to float the next quantized node in the order of the SQNR it
    loses (the report's ``drop`` on the ``search`` feeds), keeping it in
    float only if the error falls; at most ``max_steps`` tries. Then the
    budget must hold on ``evaluate(path, 'check')``, the other half, which
    no decision saw: on a few dozen images a try's error moves by a few
    tenths of a point whether or not the node matters, so a search judged
    on its own images would claim gains that do not carry over. Writes
    ``dst`` only when both halves meet the budget, else raises DeployError;
    returns (the check half's error, report). ``_pre``: ``src`` already
    prepared (:func:`~.qdq_options.preprocess`)."""
    work = partial_path(dst, 'budget')
    os.makedirs(work, exist_ok=True)
    try:
        pre = _pre or preprocess(src, osp.join(work, 'pre.onnx'), opts.pools)
        best, trial = osp.join(work, 'best.onnx'), osp.join(work, 'trial.onnx')
        quantize_int8(src, best, calibration, opts, _pre=pre)
        err = evaluate(best, 'search')
        log(f'[quantize] {measure} {100 * err:.2f}% on the search images (budget '
            f'{100 * max_error:.2f}%)')
        rows = sqnr_report(pre, best, search, work)
        ranked = [r['node'] for r in sorted(
            (r for r in rows if r['drop'] is not None and r['node'] and r['node'][0] != '('),
            key=lambda r: -r['drop'])]
        for step, node in enumerate(ranked[:max_steps] if err > max_error else []):
            remove_quietly(trial)
            quantize_int8(src, trial, calibration,
                          replace(opts, nodes=opts.nodes + [node]), _pre=pre)
            got = evaluate(trial, 'search')
            kept = got < err
            log(f'[quantize] try {step + 1}: {node} in float: {100 * got:.2f}% '
                f'({"kept" if kept else "undone"})')
            if kept:
                opts.nodes.append(node)
                os.replace(trial, best)
                err = got
            if err <= max_error:
                break
        if err > max_error:
            raise DeployError(f'--max-error {max_error:g}: the {measure} is '
                              f'{err:.4g} on the search images with {len(opts.nodes)} nodes '
                              f'in float; nothing written. Try more calibration images, '
                              f'another --method or --exclude')
        checked = confirm(evaluate(best, 'check'), err, max_error, len(opts.nodes), measure,
                          log)
        publish(best, dst)
        return checked, sqnr_report(pre, dst, search, work) if opts.nodes else rows
    finally:
        remove_quietly(work)


def confirm(checked: float, searched: float, max_error: float, nodes: int, measure: str,
            log=print) -> float:
    """The check half's error ``checked`` when it meets the budget, which the
    search met with ``searched`` on its own half; else a DeployError."""
    log(f'[quantize] {measure} {100 * checked:.2f}% on the check images (the search did not '
        f'see them; {100 * searched:.2f}% on its own)')
    if checked > max_error:
        met = (f'the search met it on its images ({searched:.4g}, {nodes} nodes in float), '
               f'but the check images give {checked:.4g}: the gain did not carry over'
               if nodes else f'the search images meet it ({searched:.4g}) with every node '
               f'int8, but the check images give {checked:.4g}')
        raise DeployError(f'--max-error {max_error:g}: {met}; nothing written. Try more '
                          f'images (--num) or a larger budget')
    return checked


def quantize_classifier(src: str, dst: str, images: Sequence[str], opts: QuantOptions,
                        report: Optional[str] = None, max_error: Optional[float] = None,
                        holdout: float = 0.25, max_tries: int = 20,
                        max_pixels: Optional[int] = None, log=print) -> dict:
    """The whole recipe on an exported classifier: its own preprocessing of
    ``images``; with ``max_error``, a held-out share ``holdout`` of them
    (spread evenly) measures the median relative logit error against the
    fp32 file in ``opts.backend`` (:func:`quantize_to_budget`); ``report``:
    the SQNR table (.md or .csv). Nothing is written unless all succeeds.
    Returns {'error': the check images' error (:func:`split_held`) or None,
    'rows': the report}."""
    from .accuracy import agreement
    from .runtime import OnnxClassifier
    kw = dict(max_pixels=max_pixels) if max_pixels else {}
    clf = OnnxClassifier(src, **kw)
    batch = clf.input.shape[0] or 1  # a static batch is filled with copies

    def feed(path):
        return {clf.input.name: np.repeat(clf.preprocess(path)[None], batch, axis=0)}

    held = held_out(len(images), holdout if max_error else 0)
    calib, hold = [], []
    for i, path in enumerate(images):
        (hold if i in held else calib).append(feed(path))
        if (i + 1) % 16 == 0 or i + 1 == len(images):
            log(f'[quantize]   preprocessed {i + 1}/{len(images)} images')
    log(f'[quantize] calibrating on {len(calib)} images ({opts.summary()})' + held_words(hold))
    fp32 = clf if opts.backend == 'onnxruntime' or not hold else OnnxClassifier(
        src, backend=opts.backend, **kw)
    halves = dict(zip(('search', 'check'), split_held(
        [(f[clf.input.name], fp32.run(f[clf.input.name])) for f in hold])))

    def evaluate(path, half):
        q = OnnxClassifier(path, backend=opts.backend, **kw)
        return agreement([r for _, r in halves[half]],
                         [q.run(x) for x, _ in halves[half]])['median_error']
    return finish_recipe(src, dst, calib, split_held(hold)[0], opts, evaluate, max_error,
                         max_tries, report, calib[:16], log)


def held_out(n: int, share: float) -> set:
    """Indices of ``share`` of ``n`` images, spread evenly (none for 0); a
    DeployError unless at least two are held out (one for the search, one
    for its check: :func:`split_held`) and some are left to calibrate on."""
    step = max(1, round(1 / share)) if share else 0
    held = set(range(0, n, step)) if share else set()
    if share and (len(held) < 2 or len(held) == n):
        need = f'at least {step + 1}' if step > 1 else 'a held-out share below a half'
        raise DeployError(f'--max-error needs images to calibrate on and to hold out, half of '
                          f'them to steer the search and half to check it: give {need} '
                          f'(got {n})')
    return held


def split_held(items: Sequence) -> Tuple[list, list]:
    """The held-out images (or their feeds) in two halves, alternately: the
    search's, which steer :func:`quantize_to_budget`, and the check's, on
    which it confirms the budget."""
    return list(items[0::2]), list(items[1::2])


def held_words(hold: Sequence) -> str:
    """', N held out (S to steer the search, C to check it)', or '' for none."""
    search, check = split_held(hold)
    return (f', {len(hold)} held out ({len(search)} to steer the search, {len(check)} to '
            f'check it)' if hold else '')


def finish_recipe(src: str, dst: str, calib, search, opts: QuantOptions,
                  evaluate: Optional[Callable[[str, str], float]], max_error: Optional[float],
                  max_tries: int, report: Optional[str], report_feeds, log=print,
                  measure: str = 'held-out median logit error', logits: bool = True) -> dict:
    """Quantize ``src`` on the ``calib`` feeds, to the ``max_error`` budget of
    ``evaluate`` when one is given (:func:`quantize_to_budget`, steered by
    the ``search`` feeds' SQNR), write the SQNR ``report`` (on
    ``report_feeds``; with ``logits``, a classifier's, each activation's
    logit error alone too: :func:`add_alone_errors`) and publish ``dst``:
    all or nothing. Returns {'error': the held-out error
    on the check images or None, 'rows', 'measure'}."""
    work = partial_path(dst, 'quantize')
    os.makedirs(work, exist_ok=True)
    try:
        trial = osp.join(work, 'int8.onnx')
        pre = preprocess(src, osp.join(work, 'pre.onnx'), opts.pools)  # once, for all
        err = None
        if max_error:
            err, rows = quantize_to_budget(src, trial, calib, search, opts, max_error, evaluate,
                                           max_tries, log=log, measure=measure, _pre=pre)
        else:
            quantize_int8(src, trial, calib, opts, _pre=pre)
            rows = sqnr_report(pre, trial, report_feeds, work) if report else []
        if report:
            if logits:
                add_alone_errors(rows, src, pre, trial, report_feeds, log)
            write_report(rows, report)
        publish(trial, dst)
    finally:
        remove_quietly(work)
    return dict(error=err, rows=rows, measure=measure)


def add_alone_errors(rows: List[dict], src: str, pre: str, int8: str, feeds, log=print) -> None:
    """Each activation row's ``alone``: the median relative logit error of
    ``int8`` on ``feeds`` against ``src`` with the weights and that
    activation alone quantized (:mod:`.qdq_isolate`), printed with the
    weights' own."""
    from .backends.onnxruntime import session
    from .qdq_isolate import alone_errors
    fp32 = session(src)
    ref = [fp32.run(None, f)[0] for f in feeds]
    log(f'[quantize] report: the logit error of each activation alone, on {len(feeds)} images')
    weights, alone = alone_errors(pre, int8, feeds, ref, log)
    for r in rows:
        r['alone'] = alone.get(r['tensor']) if r['kind'] == 'activation' else None
    if alone:
        name, worst = max(alone.items(), key=lambda kv: kv[1])
        log(f'[quantize] report: median logit error {100 * weights:.2f}% with the weights '
            f'alone in int8; with one activation too, {100 * min(alone.values()):.2f}% to '
            f'{100 * worst:.2f}% ({name})')
