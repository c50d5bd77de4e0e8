"""Running exported models: an onnxruntime session with the config's
preprocessing (``OnnxClassifier``). Needs the ``deploy`` extra
(``pip install -e .[deploy]``); ``import rexnet_mm`` does not load it."""
from .runtime import META_KEY, OnnxClassifier, list_images, read_meta, require, session

__all__ = ['META_KEY', 'OnnxClassifier', 'list_images', 'read_meta', 'require', 'session']
