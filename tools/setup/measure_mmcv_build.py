"""Where mmcv's compile time goes, and whether the set-up's cuts change the code.

Compiles a sample of mmcv's C++ units (or all 77) with the flags torch's
build gives them, three ways, one unit at a time:

    released   mmcv's own flags (-O3 -g)
    g0         the same with -g0 (no debug information)
    g0+pch     -g0 through tools/setup/pch_cxx.py (torch's headers precompiled)

and prints a table: seconds per unit per variant, and whether the machine code
is identical: the ``g0+pch`` object byte for byte against ``g0``, and the
disassembly (``objdump -d``) of ``g0`` against ``released``.

    python tools/setup/measure_mmcv_build.py                 # 10 units, ~7 min
    python tools/setup/measure_mmcv_build.py --units 0       # all 77, ~50 min
    python tools/setup/measure_mmcv_build.py --src DIR       # an unpacked sdist

Needs torch, and downloads mmcv's sdist (pip) unless --src is given.
"""
import argparse
import glob
import os
import subprocess
import sys
import sysconfig
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def base_flags(src):
    """The flags torch's BuildExtension gives mmcv's C++ units on a CPU build."""
    from torch.utils.cpp_extension import include_paths
    flags = sysconfig.get_config_var('CFLAGS').split() + ['-fPIC']
    flags += ['-I' + os.path.join(src, 'mmcv/ops/csrc/common')]
    flags += ['-I' + p for p in include_paths()]
    flags += ['-I' + os.path.join(sys.prefix, 'include'), '-I' + sysconfig.get_paths()['include']]
    post = ['-std=c++20', '-DTORCH_API_INCLUDE_EXTENSION_H', '-DTORCH_EXTENSION_NAME=_ext']
    return flags, post


def fetch_sdist(version, dst):
    subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--no-binary',
                    'mmcv', '--no-build-isolation', f'mmcv=={version}', '-d', dst], check=True)
    subprocess.run(['tar', '-xzf', os.path.join(dst, f'mmcv-{version}.tar.gz'), '-C', dst],
                   check=True)
    return os.path.join(dst, f'mmcv-{version}')


def compile_unit(cmd, env=None):
    start = time.monotonic()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start


def disassembly(obj):
    out = subprocess.run(['objdump', '-d', obj], check=True, capture_output=True, text=True)
    return out.stdout.split('\n', 2)[2]  # drop the line naming the file


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--src', help='an unpacked mmcv sdist (default: download one)')
    parser.add_argument('--version', default='2.1.0', help='mmcv version to download')
    parser.add_argument('--units', type=int, default=10,
                        help='units to compile, spread over the sorted list (0: all)')
    args = parser.parse_args()
    if args.units < 0:
        parser.error(f'--units must be 0 (all) or positive, got {args.units}')

    with tempfile.TemporaryDirectory(prefix='mmcv-measure-') as tmp:
        src = args.src or fetch_sdist(args.version, tmp)
        units = sorted(glob.glob(os.path.join(src, 'mmcv/ops/csrc/pytorch/*.cpp'))
                       + glob.glob(os.path.join(src, 'mmcv/ops/csrc/pytorch/cpu/*.cpp')))
        if not units:
            sys.exit(f'error: --src {src}: no mmcv/ops/csrc/pytorch/*.cpp there')
        if args.units and args.units < len(units):
            step = len(units) / args.units
            units = [units[int(i * step)] for i in range(args.units)]
        flags, post = base_flags(src)
        pch_env = dict(os.environ, PCH_CXX_REAL=os.environ.get('CXX', 'c++'),
                       PCH_CXX_DIR=os.path.join(tmp, 'pch'))
        front = [sys.executable, os.path.join(HERE, 'pch_cxx.py')]
        real = [pch_env['PCH_CXX_REAL']]

        # the precompiled header is built once, as the set-up builds it
        probe = os.path.join(tmp, 'probe.o')
        pch_s = compile_unit(front + flags + ['-g0', '-c', units[0], '-o', probe] + post,
                             pch_env)
        print(f'[measure] precompiling the header (with {os.path.relpath(units[0], src)}): '
              f'{pch_s:.1f}s', flush=True)
        rows, totals = [], [0.0, 0.0, 0.0]
        for i, unit in enumerate(units, 1):
            name = os.path.relpath(unit, os.path.join(src, 'mmcv/ops/csrc/pytorch'))
            objs = [os.path.join(tmp, f'{v}.o') for v in ('released', 'g0', 'pch')]
            secs = [compile_unit(real + flags + ['-c', unit, '-o', objs[0]] + post),
                    compile_unit(real + flags + ['-g0', '-c', unit, '-o', objs[1]] + post),
                    compile_unit(front + flags + ['-g0', '-c', unit, '-o', objs[2]] + post,
                                 pch_env)]
            with open(objs[1], 'rb') as a, open(objs[2], 'rb') as b:
                same_bytes = a.read() == b.read()
            same_code = disassembly(objs[0]) == disassembly(objs[1])
            totals = [t + s for t, s in zip(totals, secs)]
            rows.append((name, *secs, same_code, same_bytes))
            print(f'[measure] {i}/{len(units)} {name}: ' + ' / '.join(f'{s:.1f}s' for s in secs),
                  flush=True)

    print('\n| unit | released (-O3 -g) | -g0 | -g0 + pch | code -g = -g0 | bytes -g0 = pch |')
    print('|---|---:|---:|---:|:-:|:-:|')
    for name, a, b, c, code, same in rows:
        print(f'| {name} | {a:.1f} | {b:.1f} | {c:.1f} | {"yes" if code else "NO"} | '
              f'{"yes" if same else "NO"} |')
    print(f'| **total ({len(rows)} units)** | {totals[0]:.0f} | {totals[1]:.0f} | '
          f'{totals[2]:.0f} (+{pch_s:.0f} once) | | |')
    return 0 if all(r[4] and r[5] for r in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
