"""Files a tool reads and writes: one check for an input, one for an output,
and partial files that are recognisable and cleaned up.

Every tool that writes follows the same rules: an output is never one of
its inputs (the same path, a symlink or a hard link), an existing output is
replaced only with ``--overwrite``, and an output appears whole or not at
all: it is written to ``.<name>.<pid>.part`` beside it and renamed at the
end. A partial file left by a killed run is removed by the next run that
writes the same output (its process is gone).
"""
import os
import os.path as osp
import re
import shutil
from typing import Iterable, Optional, Sequence

from .errors import UserError


class FileCheckError(UserError):
    """A path a tool was given cannot be used; the message is one line that
    names the argument, the path and what is expected."""


def check_input_file(path: str, what: str = 'file') -> None:
    """``path`` must be a non-empty regular file (or a link to one)."""
    if osp.isdir(path):
        raise FileCheckError(f'{what} {path} is a directory; give a file')
    if not osp.exists(path):
        raise FileCheckError(f'{what} {path} does not exist')
    if osp.getsize(path) == 0:
        raise FileCheckError(f'{what} {path} is an empty file (an interrupted download?)')


def same_file(a: str, b: str) -> bool:
    """Whether two paths name one file: the same path, a symlink or a hard link."""
    try:
        return osp.samefile(a, b)
    except OSError:  # either is missing
        return False


def check_output_file(path: str, what: str = '--out', *, overwrite: bool = False,
                      inputs: Iterable = (), suffixes: Sequence[str] = ()) -> None:
    """Refuse, before any work, an output that would replace an input, an
    existing file (unless ``overwrite``), a directory, or a path whose folder
    cannot hold it. A missing folder is fine: the writer creates it.
    ``inputs``: paths, or (argument name, path) pairs to name them by."""
    if osp.isdir(path):
        raise FileCheckError(f'{what} {path} is a directory; give the file to write, e.g. '
                             f'{osp.join(path, "out" + (suffixes[0] if suffixes else ""))}')
    if suffixes and not path.endswith(tuple(suffixes)):
        raise FileCheckError(f'{what} must name a {" or ".join(suffixes)} file, but got {path}')
    for src in inputs:
        name, src = src if isinstance(src, tuple) else ('the input', src)
        if src and same_file(path, src):
            raise FileCheckError(f'{what} {path} is {name} {src} (the same file): writing it '
                                 f'would destroy the input; write to another path')
    if osp.lexists(path) and not overwrite:
        raise FileCheckError(f'{what} {path} exists; pass --overwrite to replace it')
    folder = osp.dirname(osp.abspath(path))
    while not osp.exists(folder):  # the nearest existing ancestor must be a folder
        folder = osp.dirname(folder)
    if not osp.isdir(folder):
        raise FileCheckError(f'{what} {path}: {folder} is a file, not a folder')
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FileCheckError(f'{what} {path}: the folder {folder} is not writable')


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def partial_path(dst: str, kind: str = 'part') -> str:
    """Where to write ``dst`` before renaming it into place:
    ``.<name>.<pid>.<kind>`` in its folder (created). Leftovers of earlier
    runs for the same ``dst`` whose process is gone (killed mid-write) are
    removed first."""
    folder, name = osp.split(osp.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    pattern = re.compile(r'\.' + re.escape(name) + r'\.(\d+)\.' + re.escape(kind) + '$')
    for entry in os.listdir(folder):
        m = pattern.match(entry)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            stale = osp.join(folder, entry)
            if osp.isdir(stale) and not osp.islink(stale):
                shutil.rmtree(stale, ignore_errors=True)
            else:
                os.remove(stale)
    return osp.join(folder, f'.{name}.{os.getpid()}.{kind}')


def publish(tmp: str, dst: str) -> None:
    """Give ``tmp`` the permissions of a plainly created file and rename it
    to ``dst`` (atomic on one file system)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, dst)


def remove_quietly(path: str) -> None:
    if osp.isdir(path) and not osp.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif osp.lexists(path):
        os.remove(path)


def outputs_in(folder: str, inputs: Sequence[str]) -> list:
    """One output path in ``folder`` per input, named after it; inputs that
    share a name (``a/x.jpg``, ``b/x.jpg``) get ``x.jpg``, ``x-2.jpg``, ..."""
    taken, out = set(), []
    for path in inputs:
        stem, ext = osp.splitext(osp.basename(path))
        name, n = stem + ext, 1
        while name in taken:
            n += 1
            name = f'{stem}-{n}{ext}'
        taken.add(name)
        out.append(osp.join(folder, name))
    return out


def content_hash(path: str) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    import hashlib
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def check_output_dir(path: str, what: str = '--out', *, overwrite: bool = False,
                     flag: Optional[str] = '--overwrite') -> None:
    """A folder a tool fills: refused when it is a file, or holds anything
    already (unless ``overwrite``, which replaces the files the tool writes
    and leaves the others; ``flag``: the tool's option that sets it, named in
    the refusal, None where it has none)."""
    if osp.exists(path) and not osp.isdir(path):
        raise FileCheckError(f'{what} {path} is a file; give a folder to write into')
    if osp.isdir(path) and os.listdir(path) and not overwrite:
        hint = (f'pass {flag} to write into it (files of the same name are replaced), or '
                if flag else '')
        raise FileCheckError(f'{what} {path} exists and is not empty; {hint}give a new or '
                             f'empty folder')
