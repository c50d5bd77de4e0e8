"""What a lower precision or another runtime costs a classifier, image by
image, against a reference (fp32): top-1 agreement and the relative logit
error of each image, max|a - b| / max|a| over its logits (a: the
reference). One definition, used by tools/analysis/precision_agreement.py,
the int8 quantizer's ``--max-error`` and the pinned reference table."""
import os.path as osp
import statistics
from typing import Dict, List, Sequence, Tuple

import numpy as np


def relative_errors(ref: Sequence[np.ndarray], got: Sequence[np.ndarray]) -> list:
    """Each image's max|a - b| / max|a| (a: ``ref``'s logits)."""
    return [float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max()
                  / max(np.abs(np.asarray(a, np.float64)).max(), 1e-12))
            for a, b in zip(ref, got)]


def agreement(ref: Sequence[np.ndarray], got: Sequence[np.ndarray],
              labels: Sequence[int] = None) -> Dict[str, float]:
    """top1_agreement, median_error and max_error of ``got`` against
    ``ref`` (fractions), and with ``labels`` (-1: unknown) the top-1
    accuracy of each on the labelled images."""
    if len(ref) != len(got) or not len(ref):
        raise ValueError(f'agreement needs as many outputs as references (>= 1), but got '
                         f'{len(got)} and {len(ref)}')
    rel = relative_errors(ref, got)
    out = dict(images=len(ref),
               top1_agreement=float(np.mean([np.argmax(a) == np.argmax(b)
                                             for a, b in zip(ref, got)])),
               median_error=statistics.median(rel), max_error=max(rel))
    if labels is not None:
        known = [i for i, y in enumerate(labels) if y is not None and y >= 0]
        if known:
            out['ref_top1'] = float(np.mean([np.argmax(ref[i]) == labels[i] for i in known]))
            out['top1'] = float(np.mean([np.argmax(got[i]) == labels[i] for i in known]))
    return out


def table_row(name: str, stats: Dict[str, float]) -> str:
    """A markdown row: name | agreement | median | max (percent)."""
    return (f'| {name} | {100 * stats["top1_agreement"]:.1f}% | '
            f'{100 * stats["median_error"]:.2f}% | {100 * stats["max_error"]:.2f}% |')


def worst(ref: Sequence[np.ndarray], got: Sequence[np.ndarray], names: Sequence[str],
          k: int = 3) -> List[Tuple[str, float, float]]:
    """The ``k`` images whose logits moved most: (folder/file name, relative
    error, the image's largest |logit| in ``ref``), worst first."""
    rel = relative_errors(ref, got)
    order = sorted(range(len(rel)), key=lambda i: -rel[i])[:k]
    return [(osp.join(osp.basename(osp.dirname(names[i])), osp.basename(names[i])), rel[i],
             float(np.abs(np.asarray(ref[i], np.float64)).max())) for i in order]


def worst_line(label: str, ref: Sequence[np.ndarray], got: Sequence[np.ndarray],
               names: Sequence[str], k: int = 3) -> str:
    """``label: image error% (of its largest |logit|), ...`` for the ``k``
    images that moved most (:func:`worst`)."""
    return f'  {label}: ' + ', '.join(f'{n} {100 * e:.2f}% (of {m:.3g})'
                                      for n, e, m in worst(ref, got, names, k))


def logit_scale(ref: Sequence[np.ndarray]) -> str:
    """What a relative error is relative to: each image's largest |logit|,
    its median and range over the images, in words."""
    top = [float(np.abs(np.asarray(a, np.float64)).max()) for a in ref]
    mid = statistics.median(top)
    return (f'fp32 logits: the largest |logit| of an image is {mid:.3g} at the median '
            f'({min(top):.3g} to {max(top):.3g}), so a 1% relative error there is '
            f'{mid / 100:.2g} logits')
