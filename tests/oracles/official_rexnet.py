"""Test oracle: models in the OFFICIAL release's module layout (clovaai/rexnet,
MIT), written from the paper and the release's published layout and parameter
counts.

Deliberately independent of rexnet_mm: plain nn.Sequential stacks whose
indices produce the released checkpoint keys, and their own channel rule
(the release's loop, written out again). Their parameter counts are checked
against the exact released counts, so the oracle itself is pinned down.
"""
import torch
import torch.nn as nn


def _conv(out, cin, cout, k=1, s=1, p=0, g=1, act=None):
    out.append(nn.Conv2d(cin, cout, k, s, p, groups=g, bias=False))
    out.append(nn.BatchNorm2d(cout))
    if act is not None:
        out.append(act())


class _SE(nn.Module):

    def __init__(self, c, ratio=12):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Conv2d(c, c // ratio, 1), nn.BatchNorm2d(c // ratio), nn.ReLU(inplace=True),
            nn.Conv2d(c // ratio, c, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.fc(self.avg_pool(x))


class _Block(nn.Module):

    def __init__(self, cin, cout, t, stride, use_se, lite):
        super().__init__()
        self.use_shortcut = stride == 1 and cin <= cout
        self.cin = cin
        out = []
        act = nn.ReLU6 if lite else nn.SiLU
        if t != 1:
            dw = cin * t
            _conv(out, cin, dw, act=act)
        else:
            dw = cin
        _conv(out, dw, dw, 3, stride, 1, dw, act=nn.ReLU6 if lite else None)
        if not lite:
            if use_se:
                out.append(_SE(dw))
            out.append(nn.ReLU6())
        _conv(out, dw, cout)
        self.out = nn.Sequential(*out)

    def forward(self, x):
        out = self.out(x)
        if self.use_shortcut:
            out = torch.cat([out[:, :self.cin] + x, out[:, self.cin:]], 1)
        return out


def _make_div(v, d=8):
    new = max(d, int(v + d / 2) // d * d)
    return new + d if new < 0.9 * v else new


TAPS = [3, 5, 7, 10, 13, 18, 21]  # last module of stages 1-6, head conv's act


class OfficialReXNetV1(nn.Module):
    """clovaai ReXNetV1 layout: features.0-2 stem, features.3-18 blocks,
    features.19-21 head conv, features.22 pool, output = [dropout, conv]."""

    def __init__(self, width_mult=1.0, classes=1000):
        super().__init__()
        layers = [1, 2, 2, 3, 3, 5]
        strides = sum([[s] + [1] * (n - 1) for n, s in zip(layers, [1, 2, 2, 2, 1, 2])], [])
        ses = sum([[e] * n for n, e in zip(layers, [0, 0, 1, 1, 1, 1])], [])
        ts = [1] + [6] * 15
        stem = 32 / width_mult if width_mult < 1.0 else 32
        planes = 16 / width_mult if width_mult < 1.0 else 16
        ins, outs = [], []
        for i in range(16):
            if i == 0:
                ins.append(int(round(stem * width_mult)))
                outs.append(int(round(planes * width_mult)))
            else:
                ins.append(int(round(planes * width_mult)))
                planes += 180 / 16
                outs.append(int(round(planes * width_mult)))
        feats = []
        _conv(feats, 3, int(round(stem * width_mult)), 3, 2, 1, act=nn.SiLU)
        for cin, cout, t, s, se in zip(ins, outs, ts, strides, ses):
            feats.append(_Block(cin, cout, t, s, se, lite=False))
        pen = int(1280 * width_mult)
        _conv(feats, outs[-1], pen, act=nn.SiLU)
        feats.append(nn.AdaptiveAvgPool2d(1))
        self.features = nn.Sequential(*feats)
        self.output = nn.Sequential(nn.Dropout(0.2), nn.Conv2d(pen, classes, 1, bias=True))

    def forward_features(self, x):
        """The 7 feature maps rexnet_mm's out_indices 0-6 return."""
        outs = []
        for i, m in enumerate(self.features[:-1]):
            x = m(x)
            if i in TAPS:
                outs.append(x)
        return outs

    def forward(self, x):
        return self.output(self.features(x)).flatten(1)


class OfficialReXNetLite(nn.Module):
    """clovaai ReXNet-lite layout: same features indices, ReLU6 everywhere, no
    SE; output = [conv1024, BN, ReLU6, dropout, conv]."""

    def __init__(self, multiplier=1.0, classes=1000):
        super().__init__()
        layers = [1, 2, 2, 3, 3, 5]
        strides = sum([[s] + [1] * (n - 1) for n, s in zip(layers, [1, 2, 2, 2, 1, 2])], [])
        ts = [1] + [6] * 15
        planes = 16 / multiplier if multiplier < 1.0 else 16
        first = 32 / multiplier if multiplier < 1.0 else 32
        first = _make_div(int(round(first * multiplier)))
        ins, outs = [], []
        for i in range(16):
            d = _make_div(int(round(planes * multiplier)))
            if i == 0:
                ins.append(first)
                outs.append(d)
            else:
                ins.append(d)
                planes += 164 / 15
                outs.append(_make_div(int(round(planes * multiplier))))
        feats = []
        _conv(feats, 3, first, 3, 2, 1, act=nn.ReLU6)
        for cin, cout, t, s in zip(ins, outs, ts, strides):
            feats.append(_Block(cin, cout, t, s, False, lite=True))
        pen = int(1280 * multiplier) if multiplier > 1 else 1280
        _conv(feats, outs[-1], pen, act=nn.ReLU6)
        self.features = nn.Sequential(*feats)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.output = nn.Sequential(
            nn.Conv2d(pen, 1024, 1, bias=True), nn.BatchNorm2d(1024), nn.ReLU6(inplace=True),
            nn.Dropout(0.2), nn.Conv2d(1024, classes, 1, bias=True))

    def forward_features(self, x):
        outs = []
        for i, m in enumerate(self.features):
            x = m(x)
            if i in TAPS:
                outs.append(x)
        return outs

    def forward(self, x):
        return self.output(self.avgpool(self.features(x))).flatten(1)


def randomize_bn(model, seed=0):
    """Non-trivial BN statistics and affine parameters, so that eval mode is
    really tested."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
                m.weight.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(n, generator=g) * 0.1)
                m.num_batches_tracked.fill_(7)
    return model


# Exact counts of the released models at 1000 classes (shared reference).
OFFICIAL_PARAMS = {
    '0.9x': 4_091_257, '1.0x': 4_796_873, '1.3x': 7_557_091, '1.5x': 9_728_593,
    '2.0x': 16_366_620, '2.2x': 19_485_308, '3.0x': 34_708_792,
    'lite-1.0x': 4_740_056, 'lite-1.3x': 6_747_960, 'lite-1.5x': 8_332_296,
    'lite-2.0x': 12_966_200,
}


def official_model(arch, classes=1000):
    if arch.startswith('lite-'):
        return OfficialReXNetLite(float(arch[5:-1]), classes)
    return OfficialReXNetV1(float(arch[:-1]), classes)
