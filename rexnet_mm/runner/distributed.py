"""Distributed runs on CPUs: ``--launcher pytorch`` (torchrun) without GPUs
(gloo, a DDP wrapper without device_ids) and a clean exit of every rank."""
import functools
import os


def setup_cpu_distributed(cfg, launcher):
    """Let ``--launcher pytorch`` run without GPUs.

    mmengine's init_dist calls torch.cuda.set_device unconditionally, so on a
    machine without CUDA the process group (gloo) is created here, before the
    Runner, which then uses it. ``DIST_BACKEND`` overrides the backend either way.
    """
    import torch
    import torch.distributed as dist
    if launcher == 'none':
        return
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    backend = os.environ.get('DIST_BACKEND')
    if backend:
        dist_cfg['backend'] = backend
    if torch.cuda.is_available() or launcher != 'pytorch':
        return
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        print(f'[rexnet_mm] no CUDA device: distributed backend nccl -> gloo '
              f'(rank {os.environ.get("RANK")})', flush=True)
        dist_cfg['backend'] = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend=dist_cfg['backend'])
    # mmengine hands DDP device_ids=[LOCAL_RANK], which CPU modules reject
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    if wrapper.get('type', 'MMDistributedDataParallel') == 'MMDistributedDataParallel':
        wrapper['type'] = register_cpu_ddp().__name__
        cfg.model_wrapper_cfg = wrapper


def teardown_distributed():
    """End a distributed run cleanly: wait for every rank, destroy the process
    group, flush, and leave without the interpreter's finalisation.

    With gloo, a rank's exit sometimes aborts (``terminate called without an
    active exception``, SIGABRT) after all work is done, while C++ objects
    are destroyed under gloo's threads at interpreter shutdown; torchrun then
    fails the whole run. A no-op for non-distributed runs.
    """
    import logging
    import sys

    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()):
        return
    dist.barrier()
    dist.destroy_process_group()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@functools.lru_cache(maxsize=None)
def register_cpu_ddp():
    """The CPU DDP wrapper, registered in mmengine's MODEL_WRAPPERS (by the
    first distributed CPU run that needs it)."""
    from mmengine.model import MMDistributedDataParallel
    from mmengine.registry import MODEL_WRAPPERS

    class CPUDistributedDataParallel(MMDistributedDataParallel):
        """MMDistributedDataParallel for CPU modules (no device_ids)."""

        def __init__(self, module, device_ids=None, **kwargs):
            super().__init__(module=module, device_ids=None, **kwargs)

    MODEL_WRAPPERS.register_module(module=CPUDistributedDataParallel, force=True)
    return CPUDistributedDataParallel
