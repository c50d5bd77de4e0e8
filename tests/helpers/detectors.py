"""The demo detectors as the deploy tests use them: built from their demo
configs with a checkpoint (the PyTorch oracle), and checkpoints whose BN
statistics come from real input."""
import os.path as osp

import torch

from .tool import DEMO_DETECTORS, ROOT


def demo_model(kind, checkpoint, score_thr=0.0):
    """The PyTorch oracle: the demo config with its checkpoint, reporting
    every box (the heads have trained 2 iterations)."""
    from mmengine.runner import load_checkpoint

    from rexnet_mm.runner.build import build_from_config
    model, _ = build_from_config(osp.join(ROOT, DEMO_DETECTORS[kind]))
    load_checkpoint(model, str(checkpoint), map_location='cpu', logger='silent')
    final_cfg(model, kind).score_thr = score_thr
    return model.eval()


def final_cfg(model, kind):
    """The test_cfg that holds the final score threshold."""
    return model.test_cfg if kind in ('ssdlite', 'retina') else model.test_cfg.rcnn


# After 2 iterations the BN running statistics are still about the initial
# ones (SSDLite's BN momentum is 0.03): features are then nearly the same for
# every image, every candidate scores alike (100 boxes within 1e-6), and
# 1e-7 float differences decide ties and NMS chains in any two runtimes. The
# test checkpoints get BN statistics of a batch of images instead, so that
# equality is about the graph, not about ties.


def recalibrated_bn(kind, state):
    """The state with BN running statistics of 8 demo images (a cumulative
    average over one batch)."""
    from rexnet_mm.runner.build import build_from_config, demo_det_batch
    model, _ = build_from_config(osp.join(ROOT, DEMO_DETECTORS[kind]))
    model.load_state_dict(state)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        feats = model.extract_feat(demo_det_batch(model, 8, 320, 320)['inputs'])
        if kind == 'ssdlite':  # its head has BN too
            model.bbox_head(feats)
    state = model.state_dict()
    if kind == 'retina':  # 2 iterations leave focal loss's prior (every score about 0.01):
        state['bbox_head.retina_cls.bias'] += 3.  # lift them over the 0.05 bar
    return state
