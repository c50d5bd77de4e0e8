"""Running exported models: an onnxruntime session with the config's
preprocessing (``OnnxClassifier``, ``OnnxDetector``; ``load_exported`` picks
by the file's kind). Needs the ``deploy`` extra (``pip install -e .[deploy]``);
``import rexnet_mm`` does not load it."""
from .runtime import (META_KEY, OnnxClassifier, OnnxDetector, list_images, load_exported, read_meta,
                      require, session)

__all__ = ['META_KEY', 'OnnxClassifier', 'OnnxDetector', 'list_images', 'load_exported',
           'read_meta', 'require', 'session']
