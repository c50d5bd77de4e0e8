"""OpenVINO: an exported file read by OpenVINO's ONNX frontend (no
conversion step, no second file) and compiled for the CPU, fp32 kept in
fp32 (OpenVINO would otherwise run it in bf16 on CPUs that have it) unless
bf16 is asked for, and int8 (QDQ) files in int8."""
import functools
from typing import Optional

from ...utils.cpu import describe_cpu
from ..errors import DeployError
from . import Engine, IOSpec, static_dims

HINTS = {'fp32': 'f32', 'bf16': 'bf16'}  # INFERENCE_PRECISION_HINT per precision


@functools.lru_cache(maxsize=None)
def native_bf16() -> bool:
    """Whether OpenVINO's CPU plugin computes bf16 natively here (its 'BF16'
    capability: AVX512-BF16 or AMX); elsewhere it would run a bf16 request
    in fp32."""
    import openvino as ov
    return 'BF16' in ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')


def _dims(partial_shape) -> tuple:
    return static_dims([d.get_length() if d.is_static else None for d in partial_shape])


class OpenVINOEngine(Engine):
    """A file compiled by OpenVINO for the CPU with ``threads`` threads and
    the latency hint (one stream: the work of one call on every thread), its
    float ops in ``precision`` ('fp32' or 'bf16': :func:`native_bf16` CPUs
    only, refused elsewhere rather than silently run in fp32)."""
    name = 'openvino'

    def __init__(self, path: str, threads: Optional[int] = None, precision: str = 'fp32'):
        import openvino as ov
        if precision == 'bf16' and not native_bf16():
            raise DeployError(f'--precision bf16: OpenVINO has no native bf16 on this CPU '
                              f'({describe_cpu()}; it needs AVX512-BF16 or AMX) and would run '
                              f'{path} in fp32; use --precision fp32')
        core = ov.Core()
        self.precision = precision
        config = {'INFERENCE_PRECISION_HINT': HINTS[precision], 'PERFORMANCE_HINT': 'LATENCY'}
        if threads:
            config['INFERENCE_NUM_THREADS'] = int(threads)
        try:
            model = core.read_model(path)
            self.compiled = core.compile_model(model, 'CPU', config)
        except Exception as e:  # not an ONNX file, truncated, an op the frontend lacks
            first = (str(e).strip().splitlines() or [''])[0][:300]
            raise DeployError(f'openvino cannot load {path} ({type(e).__name__}: '
                              f'{first})') from None
        # (an input's tensor may carry the names of no-op Casts too: its
        # parameter's name is the graph input's)
        self.inputs = [IOSpec(p.get_node().get_friendly_name(), _dims(p.get_partial_shape()))
                       for p in self.compiled.inputs]
        self.outputs = [IOSpec(p.get_any_name(), _dims(p.get_partial_shape()))
                        for p in self.compiled.outputs]
        self.request = self.compiled.create_infer_request()

    def run(self, feeds):
        self.request.infer(feeds)
        return [self.request.get_output_tensor(i).data.copy() for i in range(len(self.outputs))]

    @staticmethod
    def version() -> str:
        import openvino
        return openvino.__version__
