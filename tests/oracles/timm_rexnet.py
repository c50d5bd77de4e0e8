"""Test oracle: timm's ports of ReXNet (timm is installed with the tests).

timm implements V1 1.0x-3.0x (rexnet_*) and the rounded variants (rexnetr_*:
every width a multiple of 8, 16 for 3.0x); only timm publishes weights for
rexnetr_200 and rexnetr_300. Independent of rexnet_mm: the names below are
timm's, the counts are timm's own.
"""
import pytest

TIMM_NAMES = {
    '1.0x': 'rexnet_100', '1.3x': 'rexnet_130', '1.5x': 'rexnet_150', '2.0x': 'rexnet_200',
    '3.0x': 'rexnet_300',
    'r-1.0x': 'rexnetr_100', 'r-1.3x': 'rexnetr_130', 'r-1.5x': 'rexnetr_150',
    'r-2.0x': 'rexnetr_200', 'r-3.0x': 'rexnetr_300',
}

# Parameters at 1000 classes of the variants whose weights only timm publishes
# (timm 1.0.31: sum of numel over timm.create_model(name).parameters()).
TIMM_PARAMS = {'r-2.0x': 16_522_432, 'r-3.0x': 34_810_008}

# Block index (in timm's `features`) that ends each of the six stages; 16 is
# the head conv. Stage depths 1, 2, 2, 3, 3, 5 (the paper's table).
STAGE_ENDS = (0, 2, 4, 7, 10, 15, 16)


def timm_model(arch, num_classes=1000):
    timm = pytest.importorskip('timm')
    return timm.create_model(TIMM_NAMES[arch], pretrained=False, num_classes=num_classes)


def timm_taps(model, x):
    """timm's outputs at the seven taps (six stage ends, then the head conv)."""
    outs = {}
    hooks = [model.features[i].register_forward_hook(
        lambda m, inp, out, i=i: outs.__setitem__(i, out)) for i in STAGE_ENDS]
    try:
        model.forward_features(x)
    finally:
        for h in hooks:
            h.remove()
    return [outs[i] for i in STAGE_ENDS]
