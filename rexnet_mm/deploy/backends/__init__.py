"""The runtimes that run an exported ``.onnx`` file, one module each
(:mod:`.onnxruntime` now; OpenVINO and TensorRT go beside it), and the
check that a runtime's package is installed."""
import importlib.util

from ..errors import DeployError

INSTALL = 'pip install -e .[deploy]  (onnx, onnxruntime, onnxscript)'


def require(*modules: str) -> None:
    """Refuse in one line when a deploy dependency is missing."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise DeployError(f'{", ".join(missing)} {"is" if len(missing) == 1 else "are"} '
                          f'not installed; ONNX export and inference need the deploy extra: '
                          f'{INSTALL}')
