#!/usr/bin/env python3
"""A C++ compiler front that shares one precompiled header across a build.

``tools/setup_env.sh`` builds mmcv's ops with ``CXX`` set to this file. Each
of mmcv's 77 C++ units spends most of its compile time parsing torch's headers
through ``pytorch_cpp_helper.hpp`` (about 10 of 12 s on a 2-core EPYC). This
front compiles that header once per distinct set of flags, with exactly the
flags of the units that use it, and puts the ``.gch`` first on the include
path. GCC then loads it for every unit whose first include is that header (63
of 77) and parses the header normally everywhere else; the object files are
byte-identical to a build without it (checked with ``cmp`` on -g0 objects).

Anything that is not a C++ compile (linking, ``-E``, ``-v``, a unit without
the header on its include path) goes to the real compiler untouched. If the
header does not precompile, the build goes on without it.

Environment:
    PCH_CXX_REAL    the real compiler (default ``c++``)
    PCH_CXX_HEADER  the header to precompile (default ``pytorch_cpp_helper.hpp``)
    PCH_CXX_DIR     where precompiled headers go; required. Keep it outside the
                    source tree: mmcv's wheel packages everything under csrc/.
"""
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time

CXX_SOURCES = ('.cpp', '.cc', '.cxx', '.c++')


def _split(argv):
    """Return (flags, source) of a plain compile, or None for anything else.

    ``flags`` drops what differs between units: the source, ``-o``, ``-MF``,
    ``-MMD`` and ``-c`` (torch's ninja file passes ``-c`` twice).
    """
    if '-c' not in argv or any(a in ('-E', '-S', '-M', '-MM', '-x') for a in argv):
        return None
    flags, sources, skip = [], [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ('-o', '-MF', '-MT', '-MQ'):
            skip = True
        elif arg in ('-c', '-MMD', '-MD'):
            pass
        elif not arg.startswith('-') and arg.endswith(CXX_SOURCES):
            sources.append(arg)
        else:
            flags.append(arg)
    return (flags, sources[0]) if len(sources) == 1 else None


def _find_header(flags, name):
    for i, arg in enumerate(flags):
        if arg == '-I' and i + 1 < len(flags):
            d = flags[i + 1]
        elif arg.startswith('-I'):
            d = arg[2:]
        else:
            continue
        if os.path.isfile(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


def _precompiled(real, flags, header, root):
    """Directory holding ``<header>.gch`` for these flags, or None."""
    name = os.path.basename(header)
    key = hashlib.sha256('\0'.join([real, header] + flags).encode()).hexdigest()[:16]
    out_dir = os.path.join(root, key)
    gch = os.path.join(out_dir, name + '.gch')
    failed = gch + '.failed'
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(root, key + '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one unit builds it; the others wait
        if os.path.exists(gch):
            return out_dir
        if os.path.exists(failed):
            return None
        start = time.monotonic()
        tmp = f'{gch}.{os.getpid()}.tmp'
        cmd = [real] + flags + ['-x', 'c++-header', header, '-o', tmp]
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            open(failed, 'w').close()
            sys.stderr.write(f'pch_cxx: {name} did not precompile (rc {done.returncode}); '
                             'building without it\n')
            return None
        os.replace(tmp, gch)
        sys.stderr.write(f'pch_cxx: precompiled {name} in {time.monotonic() - start:.0f}s\n')
        return out_dir


def main(argv):
    real = os.environ.get('PCH_CXX_REAL', 'c++')
    if os.path.realpath(shutil.which(real) or real) == os.path.realpath(__file__):
        sys.exit('pch_cxx: PCH_CXX_REAL names this front itself; set it to the real compiler')
    root = os.environ.get('PCH_CXX_DIR')
    split = _split(argv)
    header = split and _find_header(split[0], os.environ.get(
        'PCH_CXX_HEADER', 'pytorch_cpp_helper.hpp'))
    pch_dir = header and root and _precompiled(real, split[0], header, root)
    if pch_dir:
        # searched before the header's own directory; -Winvalid-pch says
        # when a unit that reaches the header cannot use it
        argv = ['-I', pch_dir, '-Winvalid-pch'] + argv
    os.execvp(real, [real] + argv)


if __name__ == '__main__':
    main(sys.argv[1:])
