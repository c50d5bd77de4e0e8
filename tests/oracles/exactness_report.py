#!/usr/bin/env python
"""Worst relative difference between rexnet_mm and the released models, for
the 11 official variants (official layout) and the 10 timm implements
(rexnet_100 ... 300 and the rounded rexnetr_100 ... 300).

Randomly initialised models in the official layout (the test oracle in
tests/oracles/official_rexnet.py, with non-trivial BN statistics) and in timm's are
converted, loaded, and compared in eval mode at 224x224: the 7 feature taps
of the backbone, and for the official ones the logits of the ImageNet
config's classifier.

    python tests/oracles/exactness_report.py

It lives beside the oracles it reports on (official_rexnet.py and
timm_rexnet.py), which are test code, not tools: nothing under tools/
imports from tests/.
"""
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # tests/: oracles, helpers

from rexnet_mm.models import ReXNet, released_archs  # noqa: E402
from rexnet_mm.models.convert import convert_rexnet  # noqa: E402
from rexnet_mm.runner.build import build_from_config  # noqa: E402
from helpers.tool import ROOT  # noqa: E402
from oracles.official_rexnet import official_model, randomize_bn  # noqa: E402
from oracles.timm_rexnet import TIMM_NAMES, timm_taps  # noqa: E402


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def backbone_of(state, arch, out_indices):
    m = ReXNet(arch, out_indices=out_indices).eval()
    m.load_state_dict_checked({k[9:]: v for k, v in state.items() if k.startswith('backbone.')})
    return m


def main():
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    worst_f = worst_l = worst_t = 0.
    for i, arch in enumerate(released_archs('official')):
        torch.manual_seed(i)
        ref = randomize_bn(official_model(arch), seed=1).eval()
        _, _, state = convert_rexnet(ref.state_dict())
        clf, _ = build_from_config(
            osp.join(ROOT, 'configs', 'classification', f'rexnet-{arch}_4xb128_in1k.py'))
        clf.load_state_dict(state, strict=True)
        clf.eval()
        bb = backbone_of(state, arch, tuple(range(7)))
        with torch.no_grad():
            f = max(rel(o, r) for o, r in zip(bb(x), ref.forward_features(x)))
            lg = rel(clf(x, mode='tensor'), ref(x))
        worst_f, worst_l = max(worst_f, f), max(worst_l, lg)
        print(f'{arch:>10s}  features {f:.2e}  logits {lg:.2e}', flush=True)
    try:
        import timm
    except ImportError:
        timm = None
    for arch, name in TIMM_NAMES.items() if timm else []:
        torch.manual_seed(0)
        ref = randomize_bn(timm.create_model(name), 2).eval()
        _, _, state = convert_rexnet(ref.state_dict())
        with torch.no_grad():
            t = max(rel(o, r) for o, r in zip(backbone_of(state, arch, tuple(range(7)))(x),
                                              timm_taps(ref, x)))
        worst_t = max(worst_t, t)
        print(f'{name:>10s}  features {t:.2e}', flush=True)
    print(f'worst relative difference: official features {worst_f:.1e}, official logits '
          f'{worst_l:.1e}, timm features {worst_t:.1e}')


if __name__ == '__main__':
    main()
