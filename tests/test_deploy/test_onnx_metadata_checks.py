"""A downloaded ``.onnx`` file is untrusted: its metadata is validated
before any use and its test pipeline is built from an allow-list, so a
crafted file is refused in one line by every entry point (the Python API,
tools/infer.py, quantize_onnx.py, precision_agreement.py, tools/test.py)
and no code named in it runs (a marker file proves it). The files are
tiny graphs made here, with the metadata the exporter writes or a crafted
one; the benign ones run, and their preprocessing equals mmpretrain's and
mmdet's own pipeline built from the same dicts (the oracle)."""
import os.path as osp
import sys

import numpy as np
import pytest

pytest.importorskip('onnxruntime')
pytest.importorskip('mmpretrain')

from helpers.onnx_files import NORM, classifier_meta, detector_meta, tiny_onnx  # noqa: E402
from helpers.tool import ROOT, assert_clean_error, run_main, run_tool, sample_photo  # noqa: E402

IMAGE = sample_photo()


# ------------------------------------------------------------------ crafted metadata
def _pipeline_step(step):
    def craft(meta):
        meta['test_pipeline'].insert(1, step)
    return craft


def _set(**kw):
    def craft(meta):
        meta.update(kw)
    return craft


def crafted_cases(marker):
    """name -> (how the classifier metadata is altered, text the refusal names)."""
    shell = f'touch {marker}'
    return {
        'dotted_type_os_system': (_pipeline_step(dict(type='os.system', command=shell)),
                                  "'os.system'"),
        'dotted_type_config_fromstring': (_pipeline_step(dict(
            type='mmengine.config.Config.fromstring', file_format='.py',
            cfg_str=f"import os\nos.system('{shell}')\n")), 'Config.fromstring'),
        'scoped_type': (_pipeline_step(dict(type='mmdet.Resize', scale=[64, 64])),
                        "'mmdet.Resize'"),
        'scope_key': (_pipeline_step(dict(type='CenterCrop', crop_size=32, _scope_='os')),
                      '_scope_'),
        'registered_but_not_allowed': (_pipeline_step(dict(type='RandomFlip', prob=1.0)),
                                       "'RandomFlip'"),
        'argument_of_another_type': (_pipeline_step(dict(type='CenterCrop', crop_size='32')),
                                     'crop_size'),
        'huge_crop': (_pipeline_step(dict(type='CenterCrop', crop_size=10**6)), 'crop_size'),
        'nan_mean': (_set(mean=[float('nan'), 0, 0]), "'mean'"),
        'inf_std': (_set(std=[1, float('inf'), 1]), "'std'"),
        'zero_std': (_set(std=[1, 0, 1]), "'std'"),
        'control_characters_in_classes': (_set(classes=['cat', 'dog\x1b]0;pwned\x07', 'x']),
                                          "'classes'"),
        'unknown_kind': (_set(kind='loader'), "'kind'"),
        'unknown_key': (_set(hook='os.system'), "'hook'"),
    }


@pytest.fixture(scope='module')
def crafted(tmp_path_factory):
    """name -> (crafted classifier file, expected text), plus the marker a
    run of the crafted code would create."""
    d = tmp_path_factory.mktemp('crafted_onnx')
    marker = d / 'PWNED'
    files = {}
    for name, (craft, expected) in crafted_cases(marker).items():
        meta = classifier_meta()
        craft(meta)
        files[name] = (tiny_onnx(d / f'{name}.onnx', meta), expected)
    files['not_json'] = (tiny_onnx(d / 'not_json.onnx', '{"kind": "classifier", '),
                         'not valid JSON')
    files['deeply_nested_json'] = (tiny_onnx(d / 'deep.onnx', '[' * 100000 + ']' * 100000),
                                   'not valid JSON')
    return files, marker


def test_benign_files_run_with_the_toolkits_own_preprocessing(tmp_path):
    """The allow-listed pipeline equals the one mmengine's registry builds
    from the same dicts (for files the exporter writes), and the runtimes
    return one result for one image, a list for a list."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope

    from rexnet_mm.deploy import OnnxClassifier, OnnxDetector
    meta = classifier_meta()
    clf = OnnxClassifier(tiny_onnx(tmp_path / 'c.onnx', meta))
    init_default_scope('mmpretrain')
    ref = Compose(meta['test_pipeline'])(dict(img_path=IMAGE))['inputs'].numpy()
    x = clf.preprocess(IMAGE)
    mean, std = np.array(NORM['mean'])[:, None, None], np.array(NORM['std'])[:, None, None]
    np.testing.assert_allclose(x, (ref[::-1] - mean) / std, rtol=1e-5, atol=1e-5)
    one = clf(IMAGE)
    assert isinstance(one, dict) and one['pred_scores'].shape == (3, )
    np.testing.assert_allclose(one['pred_scores'], clf([IMAGE])[0]['pred_scores'])
    assert one['pred_class'] in meta['classes']

    meta = detector_meta()
    det = OnnxDetector(tiny_onnx(tmp_path / 'd.onnx', meta, 'detector'))
    init_default_scope('mmdet')
    pipeline = [dict(t, scale=tuple(t['scale'])) if t['type'] == 'Resize' else
                dict(t, meta_keys=tuple(t['meta_keys'])) if 'meta_keys' in t else t
                for t in meta['test_pipeline'] if t['type'] != 'LoadAnnotations']
    ref = Compose(pipeline)(dict(img_path=IMAGE))
    got = det.pipeline(dict(img_path=IMAGE))
    assert np.array_equal(got['inputs'].numpy(), ref['inputs'].numpy())
    assert got['data_samples'].metainfo == ref['data_samples'].metainfo
    sample = det(IMAGE)
    scale = np.array(ref['data_samples'].metainfo['scale_factor'] * 2)
    np.testing.assert_allclose(sample.pred_instances.bboxes[0].numpy(),
                               np.array([4, 6, 40, 30]) / scale, rtol=1e-5)
    assert sample.pred_instances.labels.tolist() == [1]
    import mmcv
    arr = det([mmcv.imread(IMAGE)])  # an array skips the file loading
    assert len(arr) == 1 and arr[0].pred_instances.labels.tolist() == [1]


def test_crafted_metadata_is_refused_by_the_python_api(crafted):
    from rexnet_mm.deploy import MetadataError, OnnxClassifier, load_exported
    files, marker = crafted
    for name, (path, expected) in files.items():
        for open_it in (load_exported, OnnxClassifier):
            with pytest.raises(MetadataError) as err:
                open_it(path)(IMAGE)
            msg = str(err.value)
            assert expected in msg and path in msg and '\n' not in msg, (name, msg)
            assert '\x1b' not in msg and '\x07' not in msg, name
    assert not marker.exists()


def test_crafted_metadata_is_refused_by_infer_and_quantize(crafted, tmp_path):
    files, marker = crafted
    for name, (path, expected) in files.items():
        rc, out = run_main('tools/infer.py', [path, IMAGE])
        assert_clean_error(rc, out, expected, 'nothing in it was run'
                           if 'JSON' not in expected else 'not valid JSON')
        assert len(out.strip().splitlines()) == 1, (name, out)
        q = tmp_path / f'{name}-int8.onnx'
        rc, out = run_main('tools/deployment/quantize_onnx.py',
                           [path, '--calib', IMAGE, '--out', str(q)])
        assert_clean_error(rc, out, expected)
        assert not q.exists() and 'calibrating' not in out
    assert not marker.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_crafted_file_runs_no_code_as_a_user_runs_it(crafted):
    """The tools in a subprocess, as a user types them: rc 1, one line."""
    files, marker = crafted
    path, expected = files['dotted_type_config_fromstring']
    rc, out = run_tool([sys.executable, osp.join(ROOT, 'tools/infer.py'), path, IMAGE],
                       check=False)
    assert rc == 1 and out.strip().startswith('error: ') and len(out.strip().splitlines()) == 1
    assert expected in out and not marker.exists()


@pytest.fixture(scope='module')
def demo_classifier(tmp_path_factory):
    """The demo classifier config and a random-weight checkpoint of it."""
    import torch

    from rexnet_mm.runner.build import build_from_config
    cfg = osp.join(ROOT, 'configs/demo/rexnet-w0.5_demo-cls.py')
    torch.manual_seed(0)
    model, _ = build_from_config(cfg)
    path = tmp_path_factory.mktemp('demo_cls') / 'demo_cls.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return cfg, str(path)


def test_crafted_int8_file_is_refused_by_precision_agreement(crafted, demo_classifier):
    files, marker = crafted
    cfg, ckpt = demo_classifier
    path, expected = files['dotted_type_os_system']
    rc, out = run_main('tools/analysis/precision_agreement.py',
                       [cfg, ckpt, '--images', IMAGE, '--int8', path])
    assert_clean_error(rc, out, expected, path)
    assert not marker.exists()


def test_detector_files_are_checked_too(tmp_path, tiny_coco):
    """A detector's classes index its labels: an empty list is refused when
    the file opens, a label beyond the list when it appears (it would crash
    COCO evaluation and the visualiser); tools/test.py refuses a crafted
    detector before its run."""
    from rexnet_mm.deploy import MetadataError, OnnxDetector
    meta = detector_meta()
    meta['classes'] = []
    with pytest.raises(MetadataError, match="'classes' is \\[\\]; allowed: a non-empty list"):
        OnnxDetector(tiny_onnx(tmp_path / 'empty.onnx', meta, 'detector'))
    det = OnnxDetector(tiny_onnx(tmp_path / 'label5.onnx', detector_meta(), 'detector', label=5))
    with pytest.raises(MetadataError, match='returned label 5, but its metadata names 2 classes'):
        det(IMAGE)
    marker = tmp_path / 'PWNED'
    meta = detector_meta()
    meta['test_pipeline'][1] = dict(type='os.system', command=f'touch {marker}')
    crafted = tiny_onnx(tmp_path / 'crafted_det.onnx', meta, 'detector')
    from helpers.tool import DEMO_DETECTORS, demo_det_options
    rc, out = run_main('tools/test.py', [osp.join(ROOT, DEMO_DETECTORS['faster']), crafted,
                                         '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                                         *demo_det_options(tiny_coco / 'coco', 2)])
    assert_clean_error(rc, out, "'os.system'", 'nothing in it was run')
    assert not marker.exists() and 'Iter(test)' not in out


def test_static_input_sizes_are_bounded(tmp_path):
    """A graph whose static input would make the runtime allocate gigabytes
    is refused when it opens."""
    import onnx

    from rexnet_mm.deploy import MetadataError, OnnxClassifier
    path = tiny_onnx(tmp_path / 'c.onnx', classifier_meta())
    model = onnx.load(path)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for d, v in zip(dims, (1, 3, 100000, 100000)):
        d.dim_value = v
    onnx.save(model, path)
    with pytest.raises(MetadataError, match='static shape .* sides of 1-8192'):
        OnnxClassifier(path)
