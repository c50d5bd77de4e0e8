"""Image files given to the tools: found in folders without following links,
and checked (size from the header first, then a decode) before any work.

A decoded image costs width x height x 3 bytes, and OpenCV accepts up to
2^30 pixels: a small PNG of 20000 x 20000 pixels decodes to 1.2 GB. Images
over ``MAX_PIXELS`` (50 megapixels; tools: ``--max-pixels``) are refused
from their header, before they are decoded.
"""
import os
import os.path as osp
import re
from typing import List, Optional, Sequence, Tuple

from .files import FileCheckError, check_input_file

IMAGE_EXT = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
MAX_PIXELS = 50_000_000


def image_size(path: str) -> Optional[Tuple[int, Optional[str]]]:
    """(pixels, 'WxH') from the file's header, without decoding it ('WxH' is
    None past Pillow's own limit); None when Pillow cannot identify the file
    (OpenCV may still read it)."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            w, h = im.size
            return w * h, f'{w}x{h}'
    except Image.DecompressionBombError as e:  # over Pillow's own limit (about 179 MP)
        m = re.search(r'\((\d+) pixels\)', str(e))
        pixels = int(m.group(1)) if m else 2 * (Image.MAX_IMAGE_PIXELS or 0) + 1
        return pixels, None
    except Exception:
        return None


def check_image(path: str, what: str = 'image', max_pixels: int = MAX_PIXELS,
                decode: bool = True) -> None:
    """Refuse in one line a path that is no image file, an image over
    ``max_pixels`` pixels (from its header) or, with ``decode``, a file that
    does not decode."""
    check_input_file(path, what)
    size = image_size(path)
    if size is not None and max_pixels and size[0] > max_pixels:
        pixels, dims = size
        raise FileCheckError(f'{what} {path} is {dims + " pixels, " if dims else ""}'
                             f'{pixels / 1e6:.1f} MP, over the limit of {max_pixels / 1e6:g} MP '
                             f'(--max-pixels); decoding it would take {pixels * 3 / 1e9:.1f} GB. '
                             f'Resize it first')
    if not decode:
        return
    import mmcv
    try:
        img = mmcv.imread(path)
    except Exception as e:
        img, why = None, f' ({type(e).__name__}: {" ".join(str(e).split())[:120]})'
    else:
        why = ''
    if img is None or img.size == 0:
        raise FileCheckError(f'{what} {path} cannot be decoded as an image{why}; JPEG, PNG, BMP, '
                             f'TIFF and WebP files are read')


def checked_images(paths: Sequence[str], limit: Optional[int], what: str,
                   max_pixels: int = MAX_PIXELS) -> List[str]:
    """:func:`list_images`, each one checked by :func:`check_image` (a file
    that does not decode or is too large is refused in one line naming
    ``what``)."""
    images = list_images(paths, limit, what=what)
    for img in images:
        check_image(img, f'{what} image', max_pixels)
    return images


def list_images(paths: Sequence[str], limit: Optional[int] = None,
                what: str = 'image') -> List[str]:
    """Image files given directly or found in folders (recursively, without
    following symbolic links to folders), each file once (by its real
    path), sorted per folder; at most ``limit``, spread evenly."""
    if limit is not None and limit < 1:
        raise FileCheckError(f'the number of images must be >= 1, but got {limit}')
    found, seen = [], set()

    def add(path):
        real = osp.realpath(path)
        if real not in seen:
            seen.add(real)
            found.append(path)

    for p in paths:
        if osp.isdir(p):
            for root, dirs, files in os.walk(p):  # followlinks=False: no cycles
                dirs.sort()
                for f in sorted(files):
                    full = osp.join(root, f)
                    if f.lower().endswith(IMAGE_EXT) and osp.isfile(full):
                        add(full)
        elif osp.isfile(p):
            add(p)
        else:
            raise FileCheckError(f'{what} {p} is neither an image file nor a directory')
    if not found:
        raise FileCheckError(f'no image ({", ".join(IMAGE_EXT)}) in {" ".join(paths)}')
    if limit and len(found) > limit:
        step = len(found) / limit
        found = [found[int(i * step)] for i in range(limit)]
    return found
