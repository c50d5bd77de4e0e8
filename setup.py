"""rexnet_mm: ReXNet as a first-class OpenMMLab backbone (mmdet, mmpretrain, mmseg)."""
import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))
# shipped inside the package as OpenMMLab's toolkits do (mmdet/.mim/...): an
# installed wheel has its configs and model index (`rexnet_mm::detection/...`
# config paths, mmpretrain's list_models / get_model)
MIM_FILES = ('configs', 'model-index.yml', 'metafile.yml', 'metafile-cls.yml')


class BuildPyWithMim(build_py):
    """build_py that also copies the configs and model index into
    ``rexnet_mm/.mim`` of the build (a checkout reads them in place)."""

    def run(self):
        super().run()
        mim = osp.join(self.build_lib, 'rexnet_mm', '.mim')
        for name in MIM_FILES:
            src, dst = osp.join(HERE, name), osp.join(mim, name)
            if osp.isdir(dst):
                shutil.rmtree(dst)
            os.makedirs(mim, exist_ok=True)
            if osp.isdir(src):
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__'))
            else:
                shutil.copy2(src, dst)


def read_version():
    ns = {}
    with open(osp.join(osp.dirname(__file__), 'rexnet_mm', 'version.py')) as f:
        exec(f.read(), ns)
    return ns['__version__']


with open(osp.join(osp.dirname(__file__), 'README.md'), encoding='utf-8') as f:
    long_description = f.read()

setup(
    name='rexnet_mm',
    version=read_version(),
    description='ReXNet backbones, detectors and classifiers for OpenMMLab '
    '(mmdet 3.x, mmpretrain 1.x, mmseg 1.x)',
    long_description=long_description,
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(include=['rexnet_mm', 'rexnet_mm.*']),
    cmdclass={'build_py': BuildPyWithMim},
    install_requires=[
        'torch>=1.8',
        'torchvision>=0.9',
        'numpy',
        'mmengine>=0.8,<1.0',
        'mmcv>=2.0.0rc4,<2.2.0',
    ],
    extras_require={
        # The toolkits are optional: rexnet_mm registers into each one that
        # is importable.
        'det': ['mmdet>=3.3.0,<3.4', 'pycocotools'],
        'cls': ['mmpretrain>=1.2.0,<1.3'],
        # mmseg.utils imports ftfy and regex without declaring them (mmseg#3704)
        'seg': ['mmsegmentation>=1.2.2,<1.3', 'ftfy', 'regex'],
        'all': ['mmdet>=3.3.0,<3.4', 'mmpretrain>=1.2.0,<1.3', 'pycocotools',
                'mmsegmentation>=1.2.2,<1.3', 'ftfy', 'regex', 'matplotlib'],
        # ONNX export (dynamo exporter: onnxscript); inference in onnxruntime or OpenVINO
        'deploy': ['onnx>=1.16', 'onnxruntime>=1.18', 'onnxscript>=0.3', 'openvino>=2024.0'],
        'tests': ['pytest>=7', 'pytest-xdist>=3.2', 'timm>=0.9', 'matplotlib', 'tqdm'],
        'lint': ['flake8>=6', 'isort>=5', 'codespell>=2.2'],
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
