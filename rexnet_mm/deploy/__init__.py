"""Exporting and running models: ``export_onnx`` (:mod:`.export`),
``quantize_classifier`` (:mod:`.quantize`, int8), and an exported file in
onnxruntime or OpenVINO (:mod:`.backends`) with the config's preprocessing
(``OnnxClassifier``, ``OnnxDetector``; ``load_exported`` picks by the file's
kind). The file's metadata is validated before use (:mod:`.metadata`);
errors are :class:`DeployError` (one line). Needs the ``deploy`` extra
(``pip install -e .[deploy]``); ``import rexnet_mm`` does not load it."""
from ..utils.images import list_images
from .backends import BACKENDS, open_engine, require
from .backends.onnxruntime import session
from .errors import DeployError, MetadataError
from .loading import load_for_inference
from .metadata import META_KEY
from .runtime import OnnxClassifier, load_exported, read_meta
from .runtime_det import OnnxDetector

__all__ = ['BACKENDS', 'DeployError', 'META_KEY', 'MetadataError', 'OnnxClassifier',
           'OnnxDetector', 'list_images', 'load_exported', 'load_for_inference', 'open_engine',
           'read_meta', 'require', 'session']
