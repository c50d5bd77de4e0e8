"""Test helper: print every rank's training loss (mmengine logs rank 0's only)."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class PrintRankLossHook(Hook):

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if outputs is not None and 'loss' in outputs:
            print(f'RANK_LOSS rank={runner.rank} iter={runner.iter + 1} '
                  f'loss={outputs["loss"].detach().item():.6f}', flush=True)
