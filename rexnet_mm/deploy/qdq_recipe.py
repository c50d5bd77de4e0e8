"""The int8 recipe's knobs (:class:`QuantOptions`), each runtime's defaults,
what a quantized file records of them, and recipe variants written as text
(``float-outputs=none:avg-pools=float``) for the benchmark's and the
reference table's A/B runs. :mod:`.quantize` runs the recipe."""
from dataclasses import dataclass, field, replace
from typing import List, Optional, Sequence

from ..utils.cpu import describe_cpu, has_int8_dot
from .errors import DeployError

METHODS = ('minmax', 'percentile', 'entropy')
REDUCE_RANGE = ('auto', 'on', 'off')
INPUT_RANGE = ('pixels', 'calibrated')
PRECISIONS = ('int8', 'float')
RECIPE_KEY = 'rexnet_mm_int8'
# kept in float by default, per runtime (docs/deploy.md has the measurement, and
# benchmark.py's recipe variants reproduce it: @ort-int8:exclude=Sigmoid,Mul): the
# accuracy is the same either way on the demo classifier; onnxruntime runs fastest
# with every op in int8 (a float Sigmoid or Mul breaks its int8 chain: ReXNet-1.0x
# 0.85x its fp32 instead of 1.39x at batch 16), OpenVINO with the SE gates' Sigmoid and
# the SE/SiLU products in float, which its kernels fuse (1.85x instead of 1.34x with
# neither float, 1.46x with only Sigmoid, 1.23x with only Mul)
DEFAULT_EXCLUDE = {'onnxruntime': (), 'openvino': ('Sigmoid', 'Mul')}
# op types whose outputs stay float by default, per runtime (docs/deploy.md): OpenVINO
# fuses a convolution with the float activation after it and with the next op's input
# quantization (@ov-int8 against @ov-int8:float-outputs=none, ReXNet-1.0x: 1.40x its
# fp32 against 1.22x at batch 1, 2.06x against 1.56x at batch 16; SSDLite 1.66x against
# 1.36x at batch 1) and the logits move less; onnxruntime needs the quantized output to
# run QLinearConv (0.92x its fp32 without)
DEFAULT_FLOAT_OUTPUTS = {'onnxruntime': (), 'openvino': ('Conv', )}
# spatial averages (the SE squeezes' ReduceMean, the neck's pool) in int8, as a
# GlobalAveragePool (qdq_options.global_pools), or float, per runtime: onnxruntime
# runs the pool in int8 and a ReduceMean in float (ReXNet-1.0x 1.18x its fp32 against
# 1.07x at batch 1, 1.50x against 1.38x at batch 16); OpenVINO runs both alike and keeps
# the float ReduceMean's accuracy (demo classifier median logit error 2.04% against
# 2.44% with int8 pools)
DEFAULT_AVG_POOLS = {'onnxruntime': 'int8', 'openvino': 'float'}
# the ops on pooled 1x1 maps (each SE block's excitation: two 1x1 convs, ReLU, Sigmoid;
# qdq_options.vector_nodes) in int8 by default: in float the demo classifier's median
# logit error fell on 4 of 5 seeds but within the noise (-0.14 / -0.11 points on
# average in onnxruntime / OpenVINO), the max moved either way, and batch 1 ran 1-11%
# slower (docs/deploy.md). 'float' is there for an image set whose SE vectors leave
# the calibrated ranges (the pinned demo model's max error on matplotlib's logo comes
# from one SE's clipped ReLU output: 25.8% -> 18.8% in onnxruntime with float vectors)
DEFAULT_VECTORS = {'onnxruntime': 'int8', 'openvino': 'int8'}


@dataclass
class QuantOptions:
    """The int8 recipe (tools/deployment/quantize_onnx.py's options); None:
    the ``backend``'s default."""
    method: str = 'minmax'
    reduce_range: str = 'auto'
    exclude: Optional[Sequence[str]] = None  # DEFAULT_EXCLUDE
    backend: str = 'onnxruntime'  # the runtime the file is for
    per_channel: bool = True
    nodes: List[str] = field(default_factory=list)  # returned to float by --max-error
    region: Optional[List[str]] = None  # the only nodes to quantize (None: all)
    input_range: str = 'pixels'
    float_outputs: Optional[Sequence[str]] = None  # DEFAULT_FLOAT_OUTPUTS
    avg_pools: Optional[str] = None  # DEFAULT_AVG_POOLS
    vectors: Optional[str] = None  # DEFAULT_VECTORS

    def check(self) -> 'QuantOptions':
        for name, allowed in (('method', METHODS), ('reduce_range', REDUCE_RANGE),
                              ('input_range', INPUT_RANGE), ('avg_pools', PRECISIONS),
                              ('vectors', PRECISIONS)):
            value = getattr(self, name)
            if value not in allowed and not (value is None and allowed is PRECISIONS):
                raise DeployError(f'--{name.replace("_", "-")} must be one of '
                                  f'{", ".join(allowed)}, but got {value!r}')
        from .backends import check_backend
        check_backend(self.backend)
        return self

    @property
    def excluded(self) -> List[str]:
        return list(DEFAULT_EXCLUDE[self.backend] if self.exclude is None else self.exclude)

    @property
    def float_output_types(self) -> List[str]:
        return list(DEFAULT_FLOAT_OUTPUTS[self.backend] if self.float_outputs is None
                    else self.float_outputs)

    @property
    def pools(self) -> bool:
        """Whether spatial ReduceMeans are quantized as pools."""
        return (self.avg_pools or DEFAULT_AVG_POOLS[self.backend]) == 'int8'

    @property
    def float_vectors(self) -> bool:
        """Whether the ops on pooled 1x1 maps stay float."""
        return (self.vectors or DEFAULT_VECTORS[self.backend]) == 'float'

    @property
    def reduce(self) -> bool:
        if self.reduce_range == 'auto':
            return not has_int8_dot()
        return self.reduce_range == 'on'

    def summary(self) -> str:
        """The recipe in a progress line's words."""
        return (f'{self.method}, reduce_range {"on" if self.reduce else "off"}, float: '
                f'{" ".join(self.excluded) or "none"}, float outputs: '
                f'{" ".join(self.float_output_types) or "none"}, averages '
                f'{"int8" if self.pools else "float"}, SE vectors '
                f'{"float" if self.float_vectors else "int8"}')


def recipe(opts: QuantOptions, calibration: int, pinned: Optional[dict] = None) -> dict:
    """What the file's metadata records of how it was quantized; ``pinned``:
    the TensorQuantOverrides applied (``input_pinned``: the input's range if
    it was pinned, else None, as for a graph that normalises uint8 pixels
    itself or a file without export_onnx.py's metadata)."""
    ranges = [[float(r['rmin']), float(r['rmax'])]
              for overrides in (pinned or {}).values() for r in overrides]
    return dict(method=opts.method, reduce_range=opts.reduce,
                reduce_range_option=opts.reduce_range, backend=opts.backend,
                exclude=opts.excluded, nodes=list(opts.nodes), per_channel=opts.per_channel,
                region=None if opts.region is None else len(opts.region),
                float_outputs=opts.float_output_types, input_range=opts.input_range,
                avg_pools='int8' if opts.pools else 'float',
                vectors='float' if opts.float_vectors else 'int8',
                input_pinned=ranges[0] if ranges else None,
                calibration_images=calibration, cpu=describe_cpu())


# a variant's keys (quantize_onnx.py's option names) and the QuantOptions fields they set
VARIANT_KEYS = {'method': 'method', 'reduce-range': 'reduce_range', 'exclude': 'exclude',
                'input-range': 'input_range', 'float-outputs': 'float_outputs',
                'avg-pools': 'avg_pools', 'vectors': 'vectors'}
LISTS = ('exclude', 'float_outputs')


def parse_variant(text: str, backend: str) -> QuantOptions:
    """``backend``'s recipe with the changes ``text`` names, as
    ``KEY=VALUE`` pairs joined by ':' (keys: :data:`VARIANT_KEYS`, the
    tool's option names; lists comma-separated, ``none`` for empty), e.g.
    ``float-outputs=none:avg-pools=int8``."""
    opts = QuantOptions(backend=backend)
    changes = {}
    for pair in filter(None, text.split(':')):
        key, sep, value = pair.partition('=')
        if not sep or key not in VARIANT_KEYS or not value:
            raise DeployError(f'recipe variant {text!r}: {pair!r} is not KEY=VALUE with KEY '
                              f'one of {", ".join(VARIANT_KEYS)} and a VALUE (none for an '
                              f'empty list)')
        name = VARIANT_KEYS[key]
        changes[name] = ([] if value == 'none' else value.split(',')) if name in LISTS \
            else value
    return replace(opts, **changes).check()
