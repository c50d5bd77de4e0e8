"""Training-run helpers for the tools and for users' configs (mmengine hooks,
run checks). Not imported by ``import rexnet_mm``; import it from a config
with ``custom_imports=dict(imports=['rexnet_mm', 'rexnet_mm.runner'])``."""
from .exact_resume import ExactResumeHook

__all__ = ['ExactResumeHook']
