"""The paper's empirical study (section 3): how the rank of a layer's output
depends on its dimension ratio d_in/d_out and its nonlinearity.

For X in R^{d_in x N} (N > d_out > d_in) and a block f, the rank ratio is
rank(f(X)) / d_out, with the numerical rank counted in float64 as the number
of singular values above ``RTOL * sigma_max``. Blocks:

- ``conv1x1``: act(BN(W X)), W in R^{d_out x d_in} (a 1x1 conv over N pixels);
- ``conv3x3``: act(BN(conv3x3(X))) on a d_in x 16 x 16 map (N = 256 positions);
- ``bottleneck``: the inverted bottleneck: 1x1 expansion to 6*d_in, BN, act,
  3x3 depthwise, BN, act, then a linear 1x1 projection to d_out with BN.
"""
import math
from typing import Dict, Iterable, List

import torch
import torch.nn.functional as F

# Relative tolerance of the numerical rank: singular values below 1% of the
# largest do not count. In exact arithmetic any elementwise nonlinearity makes
# f(WX) full rank (rtol 1e-7 gives 1.0 everywhere), so the study measures how
# much of the output's energy leaves the d_in-dimensional span.
RTOL = 1e-2

ACTIVATIONS = {
    'identity': lambda x: x,
    'relu': F.relu,
    'relu6': lambda x: F.relu6(x),
    'leaky_relu': lambda x: F.leaky_relu(x, 0.01),
    'elu': F.elu,
    'silu': F.silu,
    'gelu': F.gelu,
    'hardswish': F.hardswish,
    'softplus': F.softplus,
    'tanh': torch.tanh,
    'sigmoid': torch.sigmoid,
}
BLOCKS = ('conv1x1', 'conv3x3', 'bottleneck')


def _bn(y, dim):
    mean = y.mean(dim, keepdim=True)
    var = y.var(dim, unbiased=False, keepdim=True)
    return (y - mean) / torch.sqrt(var + 1e-5)


def numerical_rank(m: torch.Tensor, rtol: float = RTOL) -> int:
    s = torch.linalg.svdvals(m)
    return int((s > rtol * s[0]).sum()) if s.numel() and s[0] > 0 else 0


def block_output(block: str, act: str, d_in: int, d_out: int, n: int,
                 g: torch.Generator) -> torch.Tensor:
    """The d_out x N output matrix of one random draw of a block."""
    f = ACTIVATIONS[act]
    dt = torch.float64
    if block == 'conv1x1':
        x = torch.randn(d_in, n, generator=g, dtype=dt)
        w = torch.randn(d_out, d_in, generator=g, dtype=dt) / math.sqrt(d_in)
        return f(_bn(w @ x, 1))
    side = int(round(math.sqrt(n)))
    x = torch.randn(1, d_in, side, side, generator=g, dtype=dt)
    if block == 'conv3x3':
        w = torch.randn(d_out, d_in, 3, 3, generator=g, dtype=dt) / math.sqrt(9 * d_in)
        y = f(_bn(F.conv2d(x, w, padding=1), (0, 2, 3)))
        return y.reshape(d_out, -1)
    if block == 'bottleneck':
        mid = 6 * d_in
        w1 = torch.randn(mid, d_in, 1, 1, generator=g, dtype=dt) / math.sqrt(d_in)
        wd = torch.randn(mid, 1, 3, 3, generator=g, dtype=dt) / 3
        w2 = torch.randn(d_out, mid, 1, 1, generator=g, dtype=dt) / math.sqrt(mid)
        y = f(_bn(F.conv2d(x, w1), (0, 2, 3)))
        y = f(_bn(F.conv2d(y, wd, padding=1, groups=mid), (0, 2, 3)))
        y = _bn(F.conv2d(y, w2), (0, 2, 3))
        return y.reshape(d_out, -1)
    raise ValueError(f'block must be one of {BLOCKS}, but got {block!r}')


def run_study(blocks: Iterable[str] = BLOCKS, activations: Iterable[str] = tuple(ACTIVATIONS),
              ratios: Iterable[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
              draws: int = 10, d_out_range=(64, 160), seed: int = 0, rtol: float = RTOL,
              progress=None) -> List[Dict]:
    """Mean rank ratio per (block, activation, dim_ratio) over random draws of
    d_out (uniform in d_out_range) and of the weights."""
    rows = []
    blocks, activations, ratios = list(blocks), list(activations), list(ratios)
    total = len(blocks) * len(activations) * len(ratios)
    done = 0
    for block in blocks:
        for act in activations:
            for r in ratios:
                g = torch.Generator().manual_seed(seed)
                vals = []
                for _ in range(draws):
                    d_out = int(torch.randint(d_out_range[0], d_out_range[1] + 1, (1, ),
                                              generator=g))
                    d_in = max(1, int(round(r * d_out)))
                    n = 256 if block != 'conv1x1' else 2 * d_out
                    n = max(n, d_out + 1)
                    y = block_output(block, act, d_in, d_out, n, g)
                    vals.append(numerical_rank(y, rtol) / d_out)
                rows.append(dict(block=block, activation=act, dim_ratio=r,
                                 rank_ratio=sum(vals) / len(vals),
                                 rank_ratio_min=min(vals), draws=draws))
                done += 1
                if progress:
                    progress(done, total, rows[-1])
    return rows


def findings(rows: List[Dict]) -> List[str]:
    """The paper's three findings, checked on measured rows."""
    out = []
    by = {}
    for r in rows:
        by.setdefault((r['block'], r['activation']), []).append((r['dim_ratio'], r['rank_ratio']))
    for (block, act), pts in sorted(by.items()):
        pts.sort()
    # identity 1x1 is the exact line rank = d_in
    ident = by.get(('conv1x1', 'identity'))
    if ident:
        err = max(abs(x - y) for x, y in ident)
        out.append(f'identity 1x1 conv: rank ratio = dimension ratio (max deviation {err:.3f})')
    for block in dict.fromkeys(r['block'] for r in rows):
        acts = [a for (b, a) in by if b == block and a != 'identity']
        if not acts:
            continue
        low = {a: by[(block, a)][0] for a in acts}
        high = {a: by[(block, a)][-1] for a in acts}
        rising = [a for a in acts if low[a][1] < high[a][1] - 1e-9]
        out.append(f'{block}: a sharp expansion (dim ratio {low[acts[0]][0]}) lowers the rank '
                   f'ratio for {len(rising)}/{len(acts)} nonlinearities '
                   f'(mean {sum(v[1] for v in low.values()) / len(acts):.3f} vs '
                   f'{sum(v[1] for v in high.values()) / len(acts):.3f} at '
                   f'{high[acts[0]][0]})')
        order = sorted(acts, key=lambda a: -sum(y for _, y in by[(block, a)]))
        out.append(f'{block}: mean rank ratio order: ' + ' > '.join(order))
    return out
