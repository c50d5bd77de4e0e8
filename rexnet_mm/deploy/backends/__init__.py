"""The runtimes that run an exported ``.onnx`` file, one module each, behind
one small interface (:class:`Engine`): :mod:`.onnxruntime` and
:mod:`.openvino` now; TensorRT would go beside them. The same file, fp32 or
int8 (QDQ), runs in either: there is no second artefact format.

    engine = open_engine('rexnet.onnx', 'openvino', threads=2)  # precision='bf16'
    engine.inputs          # [IOSpec(name, shape)], None for a dynamic axis
    engine.run({'input': x})  # the outputs, in the graph's order
"""
import importlib.util
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np

from ..errors import DeployError

INSTALL = 'pip install -e .[deploy]  (onnx, onnxruntime, onnxscript, openvino)'
BACKENDS = ('onnxruntime', 'openvino')
# what a runtime computes a file's float ops in: as exported, or bfloat16 (OpenVINO, on a
# CPU with native bf16: openvino.native_bf16); int8 (QDQ) parts stay int8 either way
PRECISIONS = ('fp32', 'bf16')


class IOSpec(NamedTuple):
    """A graph input or output: its name and shape (None: a dynamic axis)."""
    name: str
    shape: tuple


class Engine:
    """One exported file, compiled by one runtime on the CPU.

    Subclasses set ``name``, ``inputs``, ``outputs`` (:class:`IOSpec`) and
    implement :meth:`run` and :meth:`version`."""
    name = ''
    inputs: List[IOSpec] = []
    outputs: List[IOSpec] = []

    def run(self, feeds: Dict[str, np.ndarray]) -> List[np.ndarray]:
        """The graph's outputs, in order, for named inputs."""
        raise NotImplementedError

    @staticmethod
    def version() -> str:
        raise NotImplementedError

    @property
    def input(self) -> IOSpec:
        return self.inputs[0]

    @property
    def output_names(self) -> List[str]:
        return [o.name for o in self.outputs]


def require(*modules: str) -> None:
    """Refuse in one line when a deploy dependency is missing."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise DeployError(f'{", ".join(missing)} {"is" if len(missing) == 1 else "are"} '
                          f'not installed; ONNX export and inference need the deploy extra: '
                          f'{INSTALL}')


def check_backend(name: str, what: str = '--backend') -> str:
    if name not in BACKENDS:
        raise DeployError(f'{what} must be one of {", ".join(BACKENDS)}, but got {name!r}')
    return name


def checked_backends(names=None) -> tuple:
    """The runtimes an export's check runs in: ``names``, or every installed one."""
    if names:
        return tuple(check_backend(b, '--check-backends') for b in names)
    return tuple(b for b in BACKENDS if available(b))


def available(name: str) -> bool:
    """Whether backend ``name``'s package is installed."""
    return importlib.util.find_spec(check_backend(name, 'backend')) is not None


def check_precision(backend: str, precision: str) -> str:
    """``precision`` if ``backend`` computes a file in it (see :data:`PRECISIONS`)."""
    if precision not in PRECISIONS:
        raise DeployError(f'--precision must be one of {", ".join(PRECISIONS)}, but got '
                          f'{precision!r}')
    if precision == 'bf16' and backend != 'openvino':
        raise DeployError(f'--precision bf16 of an .onnx file is OpenVINO\'s (--backend '
                          f'openvino); {backend} runs a file in the precision it holds: fp32, '
                          f'or int8 from tools/deployment/quantize_onnx.py')
    return precision


def open_engine(path: str, backend: str = 'onnxruntime', threads: Optional[int] = None,
                precision: str = 'fp32', **kw) -> Engine:
    """``path`` compiled by ``backend`` for the CPU, with ``threads`` threads
    (default: the runtime's own) and no spinning threads; ``precision``
    'bf16': its float ops in bfloat16 (OpenVINO only, :func:`check_precision`)."""
    check_backend(backend)
    check_precision(backend, precision)
    require(backend)
    if backend == 'openvino':
        from .openvino import OpenVINOEngine
        return OpenVINOEngine(path, threads, precision=precision, **kw)
    from .onnxruntime import OrtEngine
    return OrtEngine(path, threads, **kw)


def static_dims(shape: Sequence) -> tuple:
    """A shape with every axis that is not a positive int as None."""
    return tuple(d if isinstance(d, int) and d > 0 else None for d in shape)


def add_backend_arg(parser, what: str = 'an .onnx file') -> None:
    """The tools' ``--backend`` option."""
    parser.add_argument('--backend', default='onnxruntime', choices=BACKENDS,
                        help=f'the runtime that runs {what} (default onnxruntime)')
