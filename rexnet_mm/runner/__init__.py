"""Run helpers for the tools, the tests and users' configs: mmengine hooks
(:mod:`.exact_resume`), run checks (:mod:`.checks`) and building a model from
a config with dummy inputs (:mod:`.build`). Not imported by ``import
rexnet_mm``; import it from a config with
``custom_imports=dict(imports=['rexnet_mm', 'rexnet_mm.runner'])``."""
from .exact_resume import ExactResumeHook

__all__ = ['ExactResumeHook']
