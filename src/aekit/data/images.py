"""Folders of image files (Pillow): sorted names, sub-folders as classes.

Image files are untrusted: an image larger than Pillow's decompression-bomb limit
(``PIL.Image.MAX_IMAGE_PIXELS``, about 179 million pixels unless you change it) is
refused from its header before any pixel is decoded, the whole folder's array is
checked against the machine's memory before it is allocated, and whatever Pillow
raises for a damaged file (it raises a dozen types) comes out as a
:class:`~aekit.errors.DataError` naming the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from aekit.data.dataset import Dataset
from aekit.data.readers import check_fits_in_memory
from aekit.errors import DataError

if TYPE_CHECKING:
    from PIL import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    )


def _open(path: Path) -> Image.Image:
    """``Image.open`` with the size checked against the decompression-bomb limit."""
    from PIL import Image

    with warnings.catch_warnings():
        # Pillow warns between the limit and twice it, and raises above: we refuse both, below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(path)
    limit = Image.MAX_IMAGE_PIXELS
    width, height = image.size
    if limit and width * height > limit:
        image.close()
        raise DataError(
            f"{path} declares {width}x{height} pixels, more than Pillow's decompression-bomb limit "
            f"of {limit} (PIL.Image.MAX_IMAGE_PIXELS); raise that limit if the image is genuine"
        )
    if width * height == 0:
        image.close()
        raise DataError(f"{path} is {width}x{height} pixels: an image without pixels")
    return image


def _pixels(image: Image.Image, channels: int) -> NDArray[np.float32]:
    """One PIL image as (channels, H, W) in [0, 1]; alpha is dropped."""
    mode = image.mode
    if mode.startswith("I;16"):
        arr = np.asarray(image, dtype=np.float32) / 65535.0
        gray = True
    elif mode in ("I", "F"):
        arr, gray = np.asarray(image, dtype=np.float32), True
    elif mode in ("1", "L", "LA") or (mode == "P" and channels == 1):
        arr, gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0, True
    else:
        arr, gray = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0, False
    if gray:
        return np.broadcast_to(arr, (channels, *arr.shape))
    return arr.transpose(2, 0, 1)


def read_image_folder(folder: Path, limit: int | None = None) -> Dataset:
    """Read a folder of images, or a folder of class sub-folders of images.

    Files are taken in sorted name order. Grayscale images give one channel and
    colour images three (alpha is dropped); a folder mixing both gives three.
    When the folder holds only sub-folders, each sub-folder is a class and its
    name becomes a label name.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from PIL import Image
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for i in range(3):
    ...     Image.fromarray(np.full((4, 5), 255, np.uint8)).save(d / f"{i}.png")
    >>> read_image_folder(d).x.shape
    (3, 1, 4, 5)
    """
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    classes = sorted(p for p in entries if p.is_dir())
    if classes and len(classes) == len(entries):
        files, codes = [], []
        for code, sub in enumerate(classes):
            found = _image_files(sub)
            files += found
            codes += [code] * len(found)
        label_names = [p.name for p in classes]
    else:
        files, codes, label_names = _image_files(folder), None, None
    if not files:
        raise DataError(f"{folder} holds no samples (no {', '.join(IMAGE_SUFFIXES)} files)")
    if limit:
        files = files[:limit]
    # First pass reads headers only, so sizes and channels are known before decoding.
    size = None
    channels = 1
    for path in files:
        try:
            with _open(path) as image:
                if size is None:
                    size, first = image.size, path
                elif image.size != size:
                    raise DataError(
                        f"{path} is {image.size[0]}x{image.size[1]} pixels (width x height) "
                        f"but {first} is {size[0]}x{size[1]}; resize the images to one size"
                    )
                if image.mode not in ("1", "L", "LA", "I", "F") and not image.mode.startswith("I;16"):
                    if image.mode != "P" or _palette_has_colour(image):
                        channels = 3
        except DataError:
            raise
        except Exception as exc:  # Pillow: UnidentifiedImageError, OSError, SyntaxError, struct.error, ...
            raise DataError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from None
    assert size is not None, "files is not empty: the first pass set size"
    check_fits_in_memory(len(files) * channels * size[0] * size[1] * 4, str(folder))
    x = np.empty((len(files), channels, size[1], size[0]), dtype=np.float32)
    for i, path in enumerate(files):
        try:
            with _open(path) as image:
                pixels = _pixels(image, channels)
        except DataError:
            raise
        except Exception as exc:  # as above: a header can be sound and the pixel data damaged
            raise DataError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from None
        if pixels.shape != x.shape[1:]:
            raise DataError(
                f"{path} decodes to pixels of shape {pixels.shape}, not the {x.shape[1:]} its header promised"
            )
        x[i] = pixels
    y = None if codes is None else np.asarray(codes[: len(files)], dtype=np.int64)
    return Dataset(x=x, y=y, kind="image", name=str(folder), label_names=label_names)


def _palette_has_colour(image: Image.Image) -> bool:
    rgb = np.asarray(image.convert("RGB"))
    return not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]))
