#!/usr/bin/env python
"""Fuse a trained model for deployment: every BatchNorm folded into the layer
before it (``switch_to_deploy`` of ReXNet and ReXNetClsHead), as mmpretrain's
RepVGG/MobileOne tool does. The eval outputs stay the same.

    python tools/model_converters/reparameterize_model.py CONFIG CKPT OUT

Load OUT with the config's fused form: ``--cfg-options model.backbone.deploy=True``
(and ``model.head.deploy=True`` for a ReXNet classifier), e.g. in tools/test.py.
"""
import argparse
import sys

import rexnet_mm  # noqa: F401
from rexnet_mm.utils.errors import one_line_errors
from rexnet_mm.utils.files import check_input_file, check_output_file


@one_line_errors
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('out')
    p.add_argument('--overwrite', action='store_true', help='replace an existing OUT')
    args = p.parse_args(argv)
    from rexnet_mm.deploy.loading import load_for_inference
    from rexnet_mm.models.layers import fuse_model
    from rexnet_mm.runner.checks import read_checkpoint
    from rexnet_mm.utils.checkpoint import save_whole
    check_input_file(args.checkpoint, 'checkpoint')
    check_output_file(args.out, 'OUT', overwrite=args.overwrite,
                      inputs=[('the config', args.config), ('the checkpoint', args.checkpoint)])
    _, model = load_for_inference(args.config, args.checkpoint)
    fused = [name or type(model).__name__ for name in fuse_model(model)]
    if not fused:
        raise SystemExit(f'error: {args.config} builds no module with switch_to_deploy '
                         f'(ReXNet backbone, ReXNetClsHead): nothing to fuse')
    meta = dict(read_checkpoint(args.checkpoint).get('meta') or {}, deploy=True)
    save_whole({'state_dict': model.state_dict(), 'meta': meta}, args.out)
    print(f'fused {", ".join(fused)}; wrote {args.out}')
    print('load it with --cfg-options ' + ' '.join(f'model.{n}.deploy=True' for n in fused))
    return 0


if __name__ == '__main__':
    sys.exit(main())
