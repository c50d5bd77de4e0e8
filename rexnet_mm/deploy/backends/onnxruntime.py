"""onnxruntime: sessions of an exported file on the CPU, with the runtime's
options set in this one place (threads, no spinning, profiling)."""
from typing import Optional

from ..errors import DeployError
from . import Engine, IOSpec, require, static_dims


def session_options(threads: Optional[int] = None, spinning: bool = False,
                    profile_prefix: Optional[str] = None):
    """onnxruntime's session options, set in this one place: ``threads``
    intra-op threads (one inter-op); ``spinning=False`` stops idle threads
    from spinning after each run (which slows whatever runs next);
    ``profile_prefix``: write onnxruntime's profile there."""
    require('onnxruntime')
    import onnxruntime as ort
    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
    if not spinning:
        so.add_session_config_entry('session.intra_op.allow_spinning', '0')
    if profile_prefix:
        so.enable_profiling = True
        so.profile_file_prefix = profile_prefix
    so.log_severity_level = 3
    return so


def session(path: str, threads: Optional[int] = None, spinning: bool = False, options=None):
    """An onnxruntime CPU session of ``path`` with :func:`session_options`
    (or ``options``)."""
    import onnxruntime as ort
    so = options or session_options(threads, spinning)
    try:
        return ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
    except Exception as e:  # not an ONNX file, truncated, unsupported op
        first = (str(e).strip().splitlines() or [''])[0][:300]
        raise DeployError(f'onnxruntime cannot load {path} ({type(e).__name__}: '
                          f'{first})') from None


class OrtEngine(Engine):
    """A file in an onnxruntime CPU session (see :func:`session_options`)."""
    name = 'onnxruntime'

    def __init__(self, path: str, threads: Optional[int] = None, spinning: bool = False,
                 options=None):
        self.session = session(path, threads, spinning, options)
        self.inputs = [IOSpec(i.name, static_dims(i.shape)) for i in self.session.get_inputs()]
        self.outputs = [IOSpec(o.name, static_dims(o.shape))
                        for o in self.session.get_outputs()]

    def run(self, feeds):
        return self.session.run(None, feeds)

    @staticmethod
    def version() -> str:
        import onnxruntime
        return onnxruntime.__version__
