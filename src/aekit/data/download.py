"""Find the MNIST-family IDX files on disk, or download them once, verified.

Search order for ``builtin:NAME``, file by file, each name gzipped or not:

1. ``$AEKIT_DATA/NAME/`` then ``$AEKIT_DATA/``
2. the cache, ``cache_dir()/NAME/``
3. the system folders in :data:`SYSTEM_DIRS` (Debian's ``dataset-fashion-mnist``
   installs into ``/usr/share/datasets/fashion-mnist/``)

Only when a file is in none of them is it downloaded into the cache. The SHA-256
is taken over the decompressed IDX payload, so a mirror that re-gzips the files
(with another timestamp or level) still verifies. Files already on disk are
trusted as they are: they are the user's own.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import BinaryIO

from aekit.errors import DataError

log = logging.getLogger(__name__)

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

# Module-level so tests can point the search away from the real system folders.
SYSTEM_DIRS: list[Path] = [Path("/usr/share/datasets")]

MIRRORS = {
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "mnist": "https://storage.googleapis.com/cvdf-datasets/mnist/",
}

CHECKSUMS = {
    # Measured from Debian's dataset-fashion-mnist files (decompressed payloads).
    "fashion-mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
    # Taken from public references (torchvision, tensorflow-datasets); could not be
    # verified offline when this was written. A mismatch fails loudly, never silently.
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
}

_CHUNK = 1 << 20


def cache_dir() -> Path:
    """Where downloads are kept: ``$AEKIT_CACHE``, else ``~/.cache/aekit``.

    Examples
    --------
    >>> cache_dir().is_absolute()
    True
    """
    configured = os.environ.get("AEKIT_CACHE")
    return Path(configured).expanduser().absolute() if configured else Path.home() / ".cache" / "aekit"


def search_dirs(name: str) -> list[Path]:
    """Folders searched for ``name``'s IDX files, in order.

    Examples
    --------
    >>> search_dirs("mnist")[-1]
    PosixPath('/usr/share/datasets/mnist')
    """
    dirs = []
    data = os.environ.get("AEKIT_DATA")
    if data:
        dirs += [Path(data).expanduser() / name, Path(data).expanduser()]
    dirs.append(cache_dir() / name)
    dirs += [Path(system) / name for system in SYSTEM_DIRS]
    return dirs


def mirror(name: str) -> str:
    """Base URL for ``name``; ``$AEKIT_MIRROR_<NAME>`` (``-`` read as ``_``) overrides it.

    Examples
    --------
    >>> mirror("fashion-mnist")
    'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'
    """
    override = os.environ.get("AEKIT_MIRROR_" + name.upper().replace("-", "_"))
    base = override or MIRRORS[name]
    return base if base.endswith("/") else base + "/"


def find_local(name: str, file: str) -> Path | None:
    """The first ``file`` or ``file.gz`` in :func:`search_dirs`, or None."""
    for folder in search_dirs(name):
        for candidate in (folder / file, folder / (file + ".gz")):
            if candidate.is_file():
                return candidate
    return None


def fetch(name: str) -> dict[str, Path]:
    """Paths of the four IDX files of ``name``, downloading any that are missing.

    Parameters
    ----------
    name : {"fashion-mnist", "mnist"} or any key of :data:`CHECKSUMS`

    Returns
    -------
    dict
        Maps each of :data:`FILES` to a path (gzipped or not).

    Raises
    ------
    DataError
        A download failed or its checksum did not match.

    Examples
    --------
    >>> paths = fetch("fashion-mnist")  # doctest: +SKIP
    >>> sorted(paths)  # doctest: +SKIP
    ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', 'train-images-idx3-ubyte', ...]
    """
    paths = {}
    for file in FILES:
        found = find_local(name, file)
        paths[file] = found if found is not None else download(name, file)
    return paths


def download(name: str, file: str) -> Path:
    """Download ``file`` of ``name`` into the cache, verify it, and return its path.

    The bytes go to a temporary file beside the target and are moved into place
    with ``os.replace`` only after the SHA-256 of the decompressed payload
    matches, so an interrupted or corrupt download never leaves a file behind.

    Examples
    --------
    >>> download("mnist", "t10k-labels-idx1-ubyte")  # doctest: +SKIP
    PosixPath('/home/me/.cache/aekit/mnist/t10k-labels-idx1-ubyte.gz')
    """
    url = mirror(name) + file + ".gz"
    expected = CHECKSUMS[name][file]
    target_dir = cache_dir() / name
    target_dir.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s into %s", url, target_dir)
    handle, tmp_name = tempfile.mkstemp(dir=target_dir, prefix=f".{file}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            got, gzipped = _copy_hashing(url, out)
        if got != expected:
            raise DataError(
                f"{url}: SHA-256 of the decompressed file is {got}, expected {expected}; "
                "the download is corrupt or the mirror serves other data (nothing was kept)"
            )
        target = target_dir / (file + ".gz" if gzipped else file)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _copy_hashing(url: str, out: BinaryIO) -> tuple[str, bool]:
    """Stream ``url`` into ``out``; return the SHA-256 of the decompressed bytes and
    whether the body was gzip."""
    sha = hashlib.sha256()
    inflate = None
    first = True
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            while chunk := response.read(_CHUNK):
                if first:
                    # Gzip is detected from the bytes, not the URL, so a mirror
                    # serving raw IDX under .gz still works.
                    inflate = zlib.decompressobj(wbits=31) if chunk[:2] == b"\x1f\x8b" else None
                    first = False
                out.write(chunk)
                sha.update(inflate.decompress(chunk) if inflate else chunk)
    except (urllib.error.URLError, OSError) as exc:
        raise DataError(
            f"could not download {url} ({exc}); without a network, put the four IDX files "
            "into $AEKIT_DATA/<name>/ or the cache folder"
        ) from None
    except zlib.error as exc:
        raise DataError(f"{url}: corrupt gzip data ({exc}); nothing was kept") from None
    if inflate is not None:
        sha.update(inflate.flush())
        if not inflate.eof:
            raise DataError(f"{url}: gzip stream ends early (truncated download); nothing was kept")
    return sha.hexdigest(), inflate is not None
