"""How close int8 can come to fp32 on a model, before any recipe or runtime:
the int8 arithmetic simulated in PyTorch (per-channel symmetric int8 weights;
each Conv / Linear input rounded to a per-tensor uint8 grid; conv outputs and
everything else float, as OpenVINO's default recipe), with the activation
ranges chosen four ways:

- ``static``: one range per tensor, the calibration images' min and max (the
  recipe's min-max calibration: a check of the simulation against a real
  int8 file);
- ``image``: each image its own min and max (no clipping, no slack);
- ``image-mse``: each image the range that minimises that tensor's own
  squared error (clipping allowed);
- none: the activations float (weights alone in int8).

The per-image rows are oracles, not recipes: a static recipe gives every
image one range per tensor, chosen before it sees the image, so it fits no
image better than the image's own ranges would. They are not a proof for the
logits (the least squared error per tensor need not give the least logit
error), so both are printed. Where both miss an accuracy target, tuning the
ranges alone will hardly meet it (tools/analysis/int8_bound.py prints the
table)."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

# name: (activation ranges or None for float activations, int8 weights)
SCHEMES = {
    'static ranges + int8 weights (the recipe, simulated)': ('static', True),
    'int8 weights, float activations': (None, True),
    'each image\'s own ranges, float weights': ('image', False),
    'each image\'s own ranges + int8 weights': ('image', True),
    'each image\'s best ranges (oracle), float weights': ('image-mse', False),
    'each image\'s best ranges (oracle) + int8 weights': ('image-mse', True),
}
UINT8 = (0, 255)


def quantize_weight(w: torch.Tensor, reduce_range: bool = False) -> torch.Tensor:
    """``w`` through per-channel (dim 0) symmetric int8 and back, as
    onnxruntime's quantizer stores Conv / Gemm weights (7-bit with
    ``reduce_range``)."""
    q = 64 if reduce_range else 127
    absmax = w.detach().abs().flatten(1).amax(1).view(-1, *[1] * (w.dim() - 1))
    scale = torch.where(absmax > 0, 2 * absmax / (2 * q), torch.ones_like(absmax))
    return (w / scale).round().clamp(-q, q) * scale


def fake_quant(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """``x`` through asymmetric uint8 with the range [lo, hi] (widened to
    hold 0) and back: onnxruntime's scale, zero point and rounding."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo <= 0:
        return torch.zeros_like(x)
    scale = (hi - lo) / (UINT8[1] - UINT8[0])
    zero = float(np.round(UINT8[0] - lo / scale))
    return ((x / scale).round() + zero).clamp(*UINT8).sub(zero) * scale


def best_range(x: torch.Tensor, steps: int = 36) -> Tuple[float, float]:
    """The range (a grid over shrunk maxima and minima) whose uint8 grid
    gives ``x`` the least squared error."""
    lo, hi = float(x.min()), float(x.max())
    best = (float('inf'), lo, hi)
    for f in np.linspace(0.3, 1.0, steps):
        for g in ((1.0, 0.7, 0.5) if lo < 0 else (1.0, )):
            err = float((fake_quant(x, lo * g, hi * f) - x).pow(2).mean())
            if err < best[0]:
                best = (err, lo * g, hi * f)
    return best[1], best[2]


class Int8Simulation:
    """``model``'s Conv2d and Linear layers run as int8 would (see the
    module's doc); use as a context manager, which puts every weight back.

    Args:
        model: the fused fp32 model (each BatchNorm folded, as exported);
            called as ``model(x, mode='tensor')``.
        reduce_range: 7-bit weights, as the recipe on CPUs without VNNI.
    """

    def __init__(self, model: nn.Module, reduce_range: bool = False):
        self.model = model
        self.reduce_range = reduce_range
        self.layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        self.weights = {m: m.weight.data.clone() for m in self.layers}
        self.ranges: Dict[nn.Module, List[float]] = {}
        self.acts: Optional[str] = None
        self.hooks = [m.register_forward_pre_hook(self._hook) for m in self.layers]

    def _hook(self, module, inputs):
        x = inputs[0]
        if self.acts is None:
            return None
        if self.acts == 'calibrate':
            r = self.ranges.setdefault(module, [float('inf'), float('-inf')])
            r[0], r[1] = min(r[0], float(x.min())), max(r[1], float(x.max()))
            return None
        if self.acts == 'static':
            lo, hi = self.ranges[module]
        elif self.acts == 'image':
            lo, hi = float(x.min()), float(x.max())
        else:
            lo, hi = best_range(x)
        return (fake_quant(x, lo, hi), ) + tuple(inputs[1:])

    def _logits(self, inputs: Sequence[torch.Tensor]) -> List[np.ndarray]:
        with torch.no_grad():
            return [self.model(x, mode='tensor')[0].float().numpy() for x in inputs]

    def calibrate(self, inputs: Sequence[torch.Tensor]) -> None:
        """The static ranges: min and max of each layer's input over ``inputs``."""
        self.acts = 'calibrate'
        self._set_weights(int8=False)
        self._logits(inputs)

    def run(self, inputs: Sequence[torch.Tensor], acts: Optional[str] = None,
            int8_weights: bool = False, only: Optional[nn.Module] = None) -> List[np.ndarray]:
        """Logits with the activations quantized as ``acts`` says (None: float)
        and the weights in int8 (``only``: that layer's alone)."""
        if acts == 'static' and not self.ranges:
            raise RuntimeError('Int8Simulation.run(acts="static") needs calibrate() first')
        self.acts = acts
        self._set_weights(int8_weights, only)
        return self._logits(inputs)

    def _set_weights(self, int8: bool, only: Optional[nn.Module] = None) -> None:
        for m in self.layers:
            w = self.weights[m]
            m.weight.data = (quantize_weight(w, self.reduce_range)
                             if int8 and (only is None or m is only) else w.clone())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.acts = None
        for h in self.hooks:
            h.remove()
        self._set_weights(int8=False)


def simulate(model: nn.Module, inputs: Sequence[torch.Tensor],
             calibration: Sequence[torch.Tensor], reduce_range: bool = False,
             log: Callable = print) -> Dict[str, List[np.ndarray]]:
    """{'fp32': logits, scheme name: logits for each of :data:`SCHEMES`}."""
    with Int8Simulation(model, reduce_range) as sim:
        out = {'fp32': sim.run(inputs)}
        log(f'[int8-bound] calibrating {len(sim.layers)} layer inputs on '
            f'{len(calibration)} images')
        sim.calibrate(calibration)
        for name, (acts, int8_weights) in SCHEMES.items():
            log(f'[int8-bound] {name}')
            out[name] = sim.run(inputs, acts, int8_weights)
    return out


def weight_sensitivity(model: nn.Module, inputs: Sequence[torch.Tensor],
                       reduce_range: bool = False, log: Callable = print,
                       ) -> List[Tuple[str, List[np.ndarray]]]:
    """(layer name, logits) with that layer's weights alone in int8, for
    every Conv2d and Linear layer, in the model's order."""
    names = {m: n for n, m in model.named_modules()}
    out = []
    with Int8Simulation(model, reduce_range) as sim:
        for i, layer in enumerate(sim.layers):
            if i % 20 == 0:
                log(f'[int8-bound] weights alone in int8: layer {i + 1}/{len(sim.layers)}')
            out.append((names[layer], sim.run(inputs, None, True, only=layer)))
    return out
