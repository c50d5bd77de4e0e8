"""The command-line options the tools share: --cfg-options (with a usage
error for a malformed item), --arch, --launcher, --precision, a classifier
and the images it is measured on, and a parser from a tool's docstring."""
import argparse
import os

from mmengine.config import DictAction

from .precision import PRECISIONS


class CfgOptionsAction(DictAction):
    """mmengine's DictAction, with a usage error (not a traceback) for an
    item that is not KEY=VALUE."""

    def __call__(self, parser, namespace, values, option_string=None):
        for kv in values:
            if '=' not in kv or kv.startswith('='):
                raise argparse.ArgumentError(
                    self, f'expected KEY=VALUE items (e.g. model.backbone.arch=0.9x), '
                    f'but got {kv!r}')
        super().__call__(parser, namespace, values, option_string)


def doc_parser(doc: str, skip: int = 1) -> argparse.ArgumentParser:
    """A tool's parser from its docstring: the first paragraph describes the
    tool, the paragraphs after the first ``skip`` follow the options as
    written (examples, notes)."""
    return argparse.ArgumentParser(description=doc.split('\n\n')[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter,
                                   epilog=doc.split('\n\n', skip)[skip])


def add_measure_args(parser, num: int = 200):
    """CONFIG CKPT --images ... [--num N]: a classifier and the images it is
    measured on."""
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--images', nargs='+', required=True, help='image files or folders')
    parser.add_argument('--num', type=int, default=num,
                        help='at most this many --images (default %(default)s)')


def add_cfg_options_arg(parser):
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings, xxx=yyy format')


def parse_common_args(parser, argv=None):
    """Add the options train.py and test.py share (--cfg-options, --arch,
    --launcher, --local-rank), parse, and export LOCAL_RANK as
    torch.distributed.launch did."""
    add_cfg_options_arg(parser)
    parser.add_argument('--arch', help='switch the ReXNet backbone to this arch (e.g. 0.9x, '
                        'lite-1.5x) together with every width and the pretrained file that '
                        'follow it')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def add_precision_arg(parser):
    parser.add_argument('--precision', choices=PRECISIONS, default='fp32',
                        help='inference precision: bf16 runs the backbone and neck under '
                        'autocast (heads and post-processing stay fp32); fast on CPUs with '
                        'AMX/AVX512-BF16 and on bf16 GPUs, emulated (slow) elsewhere. An '
                        '.onnx file: bf16 in OpenVINO (--backend openvino; CPUs with native '
                        'bf16 only)')
