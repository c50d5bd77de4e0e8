"""The paper's analysis tools: FLOPs/params, rank study, channel search."""
import csv
import json
import os.path as osp
import sys

import pytest
import torch

from rexnet_mm.models import ReXNet, build_schedule, released_archs
from rexnet_mm.research import rank_study as rs
from rexnet_mm.research.complexity import ReXNetClassifier, count_complexity
from rexnet_mm.research.search import candidates, schedule_complexity
from helpers.tool import run_tool
from oracles.official_rexnet import OFFICIAL_PARAMS
from oracles.timm_rexnet import TIMM_PARAMS, timm_model

# the reference table's GFLOPs (MAC at 224) of the V1 models
PAPER_GFLOPS = {'0.9x': 0.35, '1.0x': 0.40, '1.3x': 0.66, '1.5x': 0.88, '2.0x': 1.5,
                '2.2x': 1.8, '3.0x': 3.4}


run = run_tool


RELEASED_PARAMS = {**OFFICIAL_PARAMS, **TIMM_PARAMS}


def test_every_released_variant_has_its_oracle_number():
    """A variant flagged released needs its published parameter count: the
    official ones in official_rexnet.py, timm's in timm_rexnet.py (checked
    against timm itself here)."""
    assert set(released_archs('official')) == set(OFFICIAL_PARAMS)
    assert set(released_archs('timm')) == set(TIMM_PARAMS)
    for arch, n in TIMM_PARAMS.items():
        assert sum(p.numel() for p in timm_model(arch).parameters()) == n


@pytest.mark.parametrize('arch', released_archs())
def test_analytic_counts_match_release(arch):
    macs, params = schedule_complexity(build_schedule(arch))
    assert params == RELEASED_PARAMS[arch]  # exact
    n = sum(p.numel() for p in ReXNetClassifier(arch).parameters())
    assert n == RELEASED_PARAMS[arch]
    if arch in PAPER_GFLOPS:
        ref = PAPER_GFLOPS[arch]
        assert abs(macs / 1e9 - ref) <= 0.05 * ref  # the table rounds to 2 digits


@pytest.mark.parametrize('arch', ['1.0x', '2.0x', 'lite-1.5x'])
def test_counter_agrees_with_analytic_count(arch):
    macs, params = schedule_complexity(build_schedule(arch))
    flops, n = count_complexity(ReXNetClassifier(arch), 224, 224)
    assert n == params
    # the traced count (convs and linears) equals the analytic one exactly
    assert flops == macs


def test_get_flops_cli_reference_numbers():
    out = run([sys.executable, 'tools/analysis/get_flops.py', '--arch', '1.0x'])
    assert 'FLOPs: 0.40 G' in out and 'Params: 4.80 M' in out
    out = run([sys.executable, 'tools/analysis/get_flops.py',
               'configs/detection/faster-rcnn_rexnet-1.0x_fpn_1x_coco.py', '--shape', '256', '320'])
    assert 'Input shape: 3x256x320' in out and 'FLOPs:' in out


def test_rank_identity_is_dimension_ratio_and_nonlinear_exceed():
    rows = rs.run_study(blocks=['conv1x1'], activations=['identity', 'relu', 'silu', 'elu'],
                        ratios=[0.1, 0.3, 0.5], draws=3, d_out_range=(40, 80))
    for r in rows:
        if r['activation'] == 'identity':
            # rank(W X) = d_in: the ratio is d_in / d_out up to the rounding of d_in
            assert abs(r['rank_ratio'] - r['dim_ratio']) < 0.02, r
        else:
            ident = next(i for i in rows if i['activation'] == 'identity'
                         and i['dim_ratio'] == r['dim_ratio'])
            assert r['rank_ratio'] > ident['rank_ratio'] + 0.2, r


def test_numerical_rank_known_matrix():
    u = torch.linalg.qr(torch.randn(10, 10, dtype=torch.float64))[0]
    m = u @ torch.diag(torch.tensor([1., 0.5, 0.2, 0.011, 0.009, 0, 0, 0, 0, 0],
                                    dtype=torch.float64)) @ u.T
    assert rs.numerical_rank(m, 1e-2) == 4
    assert rs.numerical_rank(m, 1e-7) == 5


def test_rank_study_cli_quick(tmp_path):
    out = run([sys.executable, 'tools/analysis/rank_study.py', '--out', str(tmp_path), '--quick'])
    rows = list(csv.DictReader(open(tmp_path / 'rank_study.csv')))
    assert {'block', 'activation', 'dim_ratio', 'rank_ratio'} <= set(rows[0])
    assert {r['block'] for r in rows} == set(rs.BLOCKS)
    assert osp.getsize(tmp_path / 'rank_study.png') > 10000
    assert 'identity 1x1 conv' in out


def test_search_respects_budgets_and_archs_build():
    rows = candidates(3e6, 0.25e9)
    assert rows
    for r in rows:
        assert r['params'] <= 3e6 and r['flops'] <= 0.25e9
        w = r['arch']['widths']
        assert w == sorted(w)  # c_1 <= ... <= c_d
    # both shapes of f occur
    assert {r['knee'] is None for r in rows} == {True, False}
    for r in rows[:: max(1, len(rows) // 5)]:
        model = ReXNet(r['arch'], out_indices=(5, )).eval()
        assert model(torch.randn(1, 3, 64, 64))[0].shape[1] == r['arch']['widths'][-1]
        assert schedule_complexity(build_schedule(r['arch']))[1] == r['params']


def test_channel_search_trains_candidates_on_demo_set(tmp_path):
    run([sys.executable, 'tools/misc/make_demo_cls.py', str(tmp_path / 'data'), '--train', '12',
         '--val', '6', '--size', '48'])
    root = str(tmp_path / 'data')
    out = run([sys.executable, 'tools/analysis/channel_search.py', '--params', '0.4',
               '--flops', '0.004', '--size', '48', '--num-classes', '4', '--train',
               'configs/demo/rexnet-w0.5_demo-cls.py', '--max-train', '2', '--epochs', '2',
               '--seeds', '0', '--out', str(tmp_path / 'search'), '--cfg-options',
               f'train_dataloader.dataset.data_root={root}',
               f'val_dataloader.dataset.data_root={root}', 'train_dataloader.num_workers=0',
               'val_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
               'val_dataloader.persistent_workers=False'])
    rows = list(csv.DictReader(open(tmp_path / 'search' / 'candidates.csv')))
    assert len(rows) == 2 and all(float(r['top1_mean']) >= 0 for r in rows)
    for r in rows:
        assert int(r['params']) <= 0.4e6 and int(r['flops']) <= 0.004e9
        json.loads(r['arch'])
    assert osp.isfile(tmp_path / 'search' / 'channels.png')
    assert 'candidate 2/2 seed 0' in out


def test_benchmark_burst_times_the_last_run_of_each_model(capsys):
    """--burst N: each model N times in a row per round (A A A B B B, then B B
    B A A A), one timing per round, the last run's; --burst 0 refused."""
    from rexnet_mm.research.benchmark import measure
    from helpers.tool import load_tool
    calls = []

    class Model:
        def train(self, mode):
            pass

    named = [(n, Model(), lambda n=n: calls.append(n), None) for n in 'ab']
    times = measure(named, 'eval', 1, 2, torch.device('cpu'), log=lambda *a, **k: None,
                    burst=3)
    assert calls == list('ab' + 'aaabbb' + 'bbbaaa')
    assert {n: len(t) for n, t in times.items()} == {'a': 2, 'b': 2}
    with pytest.raises(SystemExit):
        load_tool('tools/analysis/benchmark.py').main(['--burst', '0'])
    assert '--burst must be >= 1, but got 0' in capsys.readouterr().err
