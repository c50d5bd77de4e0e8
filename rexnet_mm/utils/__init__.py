from .checkpoint import allow_mmengine_checkpoints, check_checkpoint_file

__all__ = ['allow_mmengine_checkpoints', 'check_checkpoint_file']
