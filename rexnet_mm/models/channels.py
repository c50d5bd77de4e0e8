"""ReXNet's variant table and linear channel schedule: the one source of truth.

Everything else (the backbone, the checkpoint converter, the FLOPs tool, the
channel search, the configs' neck widths) derives from :func:`build_schedule`.
Pure Python: importable without torch.
"""
import math
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

# Per stage: (blocks at depth_mult=1, first stride, expansion ratio, SE in V1).
STAGES: Tuple[Tuple[int, int, int, bool], ...] = (
    (1, 1, 1, False),
    (2, 2, 6, False),
    (2, 2, 6, True),
    (3, 2, 6, True),
    (3, 1, 6, True),
    (5, 2, 6, True),
)
NUM_STAGES = len(STAGES)
# out_indices 0-5 are the six stages, 6 is the head conv.
NUM_OUTPUTS = NUM_STAGES + 1

# Where a named variant's weights were published (the ``released`` flag).
RELEASES = ('official', 'timm')

# The named variants: arch settings (any key of ARCH_DEFAULTS) plus
# ``released``: 'official' (clovaai/rexnet: ReXNetV1 and ReXNet-lite), 'timm'
# (only timm publishes weights: its rexnetr_200 / rexnetr_300, trained by Ross
# Wightman) or None (the architecture alone). timm's rexnetr_* ("rounded") are
# ReXNetV1 with every width, the SE's and the head conv's too, a multiple of 8
# (16 for 3.0x).
ARCH_SETTINGS: Dict[str, dict] = {
    '0.9x': dict(width_mult=0.9, released='official'),
    '1.0x': dict(width_mult=1.0, released='official'),
    '1.3x': dict(width_mult=1.3, released='official'),
    '1.5x': dict(width_mult=1.5, released='official'),
    '2.0x': dict(width_mult=2.0, released='official'),
    '2.2x': dict(width_mult=2.2, released='official'),
    '3.0x': dict(width_mult=3.0, released='official'),
    'lite-1.0x': dict(width_mult=1.0, lite=True, released='official'),
    'lite-1.3x': dict(width_mult=1.3, lite=True, released='official'),
    'lite-1.5x': dict(width_mult=1.5, lite=True, released='official'),
    'lite-2.0x': dict(width_mult=2.0, lite=True, released='official'),
    'r-1.0x': dict(width_mult=1.0, divisor=8, released=None),
    'r-1.3x': dict(width_mult=1.3, divisor=8, released=None),
    'r-1.5x': dict(width_mult=1.5, divisor=8, released=None),
    'r-2.0x': dict(width_mult=2.0, divisor=8, released='timm'),
    'r-3.0x': dict(width_mult=3.0, divisor=16, released='timm'),
}

ARCH_DEFAULTS = dict(
    width_mult=1.0,  # channel multiplier
    depth_mult=1.0,  # blocks per stage = ceil(n * depth_mult)
    lite=False,  # ReXNet-lite: no SE, ReLU6 everywhere, channels divisible
    use_se=None,  # None: V1 uses SE in stages 3-6, lite never
    se_ratio=12,  # SE reduction: C -> C // se_ratio
    divisor=None,  # channel divisor; None: 1 for V1, 8 for lite (V1 > 1: timm's rexnetr rule)
    widths=None,  # explicit block output widths (overrides the linear rule)
    expand_ratio=6,  # expansion of stages 2-6 (stage 1 is always 1)
    stem_channels=None,  # None: 32 rule of the release
    head_channels=None,  # None: int(1280 * width_mult) rule of the release
)


def released_archs(source: Optional[str] = None) -> List[str]:
    """Names of the variants with published weights (from ``source`` only,
    when given: 'official' or 'timm')."""
    if source is not None and source not in RELEASES:
        raise ValueError(f'source must be one of {RELEASES} or None, but got {source!r}')
    return [a for a, s in ARCH_SETTINGS.items()
            if s['released'] is not None and source in (None, s['released'])]


class BlockSpec(NamedTuple):
    in_channels: int
    out_channels: int
    expand_ratio: int
    stride: int
    use_se: bool
    stage: int  # 0-based stage index
    mid_channels: int  # width of the expansion / depthwise conv
    se_channels: int  # width inside the SE (0 without SE)


class Schedule(NamedTuple):
    stem_channels: int
    blocks: Tuple[BlockSpec, ...]
    head_channels: int
    se_ratio: int
    lite: bool
    # hidden width of the released classifier on the pooled head conv: the
    # lite head's 1024-wide linear; None for V1 (dropout and a linear only)
    cls_mid_channels: Optional[int] = None

    @property
    def stage_blocks(self) -> Tuple[int, ...]:
        return tuple(sum(b.stage == s for b in self.blocks) for s in range(NUM_STAGES))

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of each out_index (six stage outputs, then the head conv)."""
        ends = []
        for s in range(NUM_STAGES):
            ends.append([b for b in self.blocks if b.stage == s][-1].out_channels)
        return tuple(ends) + (self.head_channels, )

    @property
    def out_strides(self) -> Tuple[int, ...]:
        """Strides of each out_index as released (output stride 32)."""
        return out_strides(32)


# the released ReXNet-lite classifier's hidden linear
LITE_CLS_MID_CHANNELS = 1024

OUTPUT_STRIDES = (8, 16, 32)


def stage_strides(output_stride: int = 32) -> Tuple[Tuple[int, int], ...]:
    """(stride, dilation) of each stage's depthwise convs for an output stride.

    With 32 every stage runs as released. Below it, a stage whose stride would
    take the running stride past ``output_stride`` runs at stride 1, and its
    depthwise convs and those of every later stage dilate by the strides given
    up (as mmseg's MobileNetV2 ``strides``/``dilations`` and timm's
    ``output_stride`` do): 16 dilates stage 6 by 2; 8 dilates stages 4-5 by 2
    and stage 6 by 4. Weights are unchanged.
    """
    if isinstance(output_stride, bool) or output_stride not in OUTPUT_STRIDES:
        raise ValueError(f'output_stride must be one of {OUTPUT_STRIDES}, but got '
                         f'{output_stride!r}')
    current, dilation, out = 2, 1, []  # the stem has stride 2
    for _, stride, _, _ in STAGES:
        if current * stride > output_stride:
            dilation, stride = dilation * stride, 1
        current *= stride
        out.append((stride, dilation))
    return tuple(out)


def out_strides(output_stride: int = 32) -> Tuple[int, ...]:
    """Stride of each out_index (six stages, then the head conv)."""
    stride, strides = 2, []
    for s, _ in stage_strides(output_stride):
        stride *= s
        strides.append(stride)
    return tuple(strides) + (strides[-1], )


def make_divisible(value: float, divisor: int, min_value: Optional[int] = None) -> int:
    """TensorFlow's rule: round to a multiple of ``divisor``, never losing > 10%."""
    min_value = divisor if min_value is None else min_value
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def _arch_error(msg: str) -> ValueError:
    return ValueError(f'arch: {msg}')


def resolve_arch(arch: Union[str, dict]) -> dict:
    """Turn an ``arch`` (a variant name or a dict) into a full settings dict."""
    if isinstance(arch, str):
        if arch not in ARCH_SETTINGS:
            raise ValueError(f'arch must be one of {list(ARCH_SETTINGS)} or a dict, '
                             f'but got {arch!r}')
        cfg = dict(ARCH_DEFAULTS, **ARCH_SETTINGS[arch])
        del cfg['released']
    elif isinstance(arch, dict):
        unknown = set(arch) - set(ARCH_DEFAULTS)
        if unknown:
            raise _arch_error(f'unknown keys {sorted(unknown)} in the arch dict; '
                              f'allowed keys are {sorted(ARCH_DEFAULTS)}')
        cfg = dict(ARCH_DEFAULTS, **arch)
    else:
        raise ValueError(f'arch must be one of {list(ARCH_SETTINGS)} or a dict, '
                         f'but got {type(arch).__name__} {arch!r}')

    def positive(key, kind=(int, float)):
        v = cfg[key]
        if isinstance(v, bool) or not isinstance(v, kind) or not math.isfinite(v) or v <= 0:
            raise _arch_error(f'{key} must be a positive finite number, but got {v!r}')

    positive('width_mult')
    positive('depth_mult')
    positive('se_ratio', int)
    positive('expand_ratio', int)
    for key in ('stem_channels', 'head_channels', 'divisor'):
        if cfg[key] is not None:
            positive(key, int)
    for key in ('lite', ):
        if not isinstance(cfg[key], bool):
            raise _arch_error(f'{key} must be True or False, but got {cfg[key]!r}')
    if cfg['use_se'] is not None and not isinstance(cfg['use_se'], bool):
        raise _arch_error(f'use_se must be None, True or False, but got {cfg["use_se"]!r}')
    if cfg['widths'] is not None:
        w = cfg['widths']
        if (not isinstance(w, (list, tuple)) or not w
                or any(isinstance(c, bool) or not isinstance(c, int) or c <= 0 for c in w)):
            raise _arch_error(f'widths must be a non-empty list of positive ints, but got {w!r}')
        n = len(stage_depths(cfg['depth_mult']))
        if len(w) != sum(stage_depths(cfg['depth_mult'])):
            raise _arch_error(
                f'widths has {len(w)} entries but depth_mult={cfg["depth_mult"]} gives '
                f'{sum(stage_depths(cfg["depth_mult"]))} blocks in {n} stages '
                f'{list(stage_depths(cfg["depth_mult"]))}')
    return cfg


def stage_depths(depth_mult: float) -> Tuple[int, ...]:
    return tuple(math.ceil(n * depth_mult) for n, _, _, _ in STAGES)


def _block_widths(cfg: dict, n: int, stem: int, div) -> Tuple[List[int], List[int]]:
    """Every block's (input, output) widths: the linear schedule, or the
    arch's own ``widths``."""
    if cfg['widths'] is not None:
        outs = list(cfg['widths'])
        return [stem] + outs[:-1], outs
    w, lite = float(cfg['width_mult']), cfg['lite']
    planes = 16 / w if w < 1.0 else 16.0
    step = 164 / (n - 1) if lite else 180 / n  # n == 1: the lite step is never used
    ins, outs = [stem], [div(planes * w)]
    for _ in range(1, n):
        ins.append(div(planes * w))
        planes += step
        outs.append(div(planes * w))
    return ins, outs


def build_schedule(arch: Union[str, dict] = '1.0x') -> Schedule:
    """The channel schedule of ReXNet (V1 and lite) as released.

    V1: planes start at 16 (16/w when w < 1); block 0 outputs round(16*w) from
    the stem; every later block takes round(planes*w), adds 180/n to planes and
    outputs round(planes*w). Lite: the same with 164/(n-1) increments and every
    width passed through make_divisible(., 8). Python's round() (ties to even)
    is what the released weights were built with.
    """
    cfg = resolve_arch(arch)
    w, lite = float(cfg['width_mult']), cfg['lite']
    depths = stage_depths(cfg['depth_mult'])
    n = sum(depths)
    divisor = cfg['divisor'] if cfg['divisor'] is not None else (8 if lite else 1)

    def div(x: float) -> int:
        return make_divisible(int(round(x)), divisor) if divisor > 1 else int(round(x))

    if cfg['stem_channels'] is not None:
        stem = cfg['stem_channels']
    else:
        stem = div((32 / w if w < 1.0 else 32) * w)

    ins, outs = _block_widths(cfg, n, stem, div)
    use_se = (not lite) if cfg['use_se'] is None else cfg['use_se']
    # V1 with a divisor (timm's rexnetr) rounds the SE and head widths too
    rounded = not lite and divisor > 1

    def se_width(mid: int) -> int:
        if rounded:  # timm: make_divisible(int(mid * (1 / 12)), ch_div)
            return make_divisible(int(mid * (1 / cfg['se_ratio'])), divisor)
        return mid // cfg['se_ratio']

    blocks: List[BlockSpec] = []
    k = 0
    for s, (num, (_, stride, t, se)) in enumerate(zip(depths, STAGES)):
        expand = t if t == 1 else cfg['expand_ratio']
        for j in range(num):
            mid = ins[k] * expand
            with_se = bool(se and use_se)
            se_mid = se_width(mid) if with_se else 0
            if with_se and se_mid < 1:
                raise _arch_error(f'se_ratio={cfg["se_ratio"]} leaves no channel in the SE of '
                                  f'block {k} ({mid} channels); use a smaller se_ratio')
            blocks.append(
                BlockSpec(ins[k], outs[k], expand, stride if j == 0 else 1, with_se, s, mid,
                          se_mid))
            k += 1

    if cfg['head_channels'] is not None:
        head = cfg['head_channels']
    elif lite:
        head = int(1280 * w) if w > 1 else 1280
    else:
        head = make_divisible(1280 * w, divisor) if rounded else int(1280 * w)
    return Schedule(stem, tuple(blocks), head, cfg['se_ratio'], lite,
                    LITE_CLS_MID_CHANNELS if lite else None)


def arch_out_channels(arch: Union[str, dict] = '1.0x',
                      out_indices: Sequence[int] = tuple(range(NUM_OUTPUTS))) -> List[int]:
    """Channels of the requested out_indices; what configs use for neck widths."""
    chans = build_schedule(arch).out_channels
    return [chans[i] for i in out_indices]
