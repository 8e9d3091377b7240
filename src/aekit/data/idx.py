"""MNIST-format IDX files, gzipped or not, parsed with ``np.frombuffer`` (no copies).

The header's promised size is checked before the data is used, and a gzipped file is
decompressed only as far as its header promises (plus one byte, to detect trailing
data), so a file claiming gigabytes, or a gzip bomb, costs no more memory than the
data actually there.
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path
from typing import Any

import numpy as np

from aekit.data.dataset import Dataset
from aekit.data.readers import GZIP_ERRORS, check_fits_in_memory
from aekit.data.samples import _labels, array_to_samples
from aekit.errors import DataError

_CHUNK = 1 << 20  # bytes decompressed per read

# IDX type codes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT"); big-endian.
IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(data: bytes, name: str) -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file into an array, without copying.

    Raises
    ------
    DataError
        Wrong magic number, unknown type code, or a payload shorter or longer
        than the header promises.

    Examples
    --------
    >>> import numpy as np
    >>> header = bytes([0, 0, 0x08, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    >>> parse_idx(header + bytes(range(6)), "demo").tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    if len(data) < 4:
        raise DataError(f"{name}: truncated IDX file ({len(data)} bytes, header needs 4)")
    if data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        raise DataError(
            f"{name}: not an IDX file (magic number {data[:4].hex()}; expected 0000 then a "
            "type code 08, 09, 0b, 0c, 0d or 0e and the number of dimensions)"
        )
    dtype, ndim = IDX_DTYPES[data[2]], data[3]
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise DataError(f"{name}: truncated IDX file (header of {ndim} dimensions cut off)")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = offset + math.prod(shape) * dtype.itemsize  # Python ints: no int64 overflow
    if len(data) != expected:
        problem = "truncated IDX file" if len(data) < expected else "IDX file with trailing bytes"
        raise DataError(
            f"{name}: {problem}: header promises shape {shape} ({expected} bytes), file holds {len(data)} bytes"
        )
    try:
        arr = np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape)
    except ValueError as exc:  # e.g. (0, 2**32 - 1, 2**32 - 1): no bytes, yet too large a shape for numpy
        raise DataError(f"{name}: the IDX header's shape {shape} cannot be an array ({exc})") from None
    return arr if dtype.byteorder in ("=", "|") else arr.astype(dtype.newbyteorder("="))


def read_idx_array(path: Path) -> np.ndarray:
    """Read an IDX file, gzipped or not (detected from its first bytes).

    Examples
    --------
    >>> import gzip, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "l-idx1-ubyte.gz"
    >>> _ = p.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9])))
    >>> read_idx_array(p).tolist()
    [7, 9]
    """
    try:
        with path.open("rb") as handle:
            gzipped = handle.read(2) == b"\x1f\x8b"
        data = _read_gzipped(path) if gzipped else path.read_bytes()
    except GZIP_ERRORS as exc:
        raise DataError(f"{path}: truncated or corrupt gzip data ({exc})") from None
    return parse_idx(data, str(path))


def _read_gzipped(path: Path) -> bytes:
    """The decompressed bytes, but never more than the IDX header promises plus one."""
    with gzip.open(path, "rb") as stream:
        head = stream.read(4)
        if len(head) < 4 or head[0] or head[1] or head[2] not in IDX_DTYPES:
            return head  # parse_idx names what is wrong with it
        dims = stream.read(4 * head[3])
        if len(dims) < 4 * head[3]:
            return head + dims
        shape = [int.from_bytes(dims[i : i + 4], "big") for i in range(0, len(dims), 4)]
        wanted = math.prod(shape) * IDX_DTYPES[head[2]].itemsize + 1  # one more: trailing bytes are an error
        check_fits_in_memory(wanted - 1, str(path))
        chunks = [head, dims]
        while wanted > 0:
            chunk = stream.read(min(wanted, _CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)


def labels_sibling(path: Path) -> Path | None:
    """The labels file beside an images IDX file (``*-labels-idx1-ubyte[.gz]``), if any."""
    stem = path.name[:-3] if path.name.endswith(".gz") else path.name
    if "images" not in stem:
        return None
    wanted = stem.replace("images", "labels").replace("idx3", "idx1")
    for candidate in (path.with_name(wanted), path.with_name(wanted + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path: Path, limit: int | None = None) -> Dataset:
    """Read an MNIST-format IDX file; an images file picks up its sibling labels file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x-images-idx3-ubyte"
    >>> _ = p.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 255, 0, 255]))
    >>> read_idx(p).x.shape
    (1, 1, 2, 2)
    """
    arr = read_idx_array(path)
    arr = arr[:limit] if limit and arr.ndim else arr
    x, kind = array_to_samples(arr, str(path))
    y = label_names = None
    sibling = labels_sibling(path)
    if sibling is not None:
        labels = read_idx_array(sibling)
        if labels.ndim != 1 or len(labels) < len(x):
            raise DataError(f"{sibling} holds labels of shape {labels.shape} but {path} holds {len(x)} images")
        y, label_names = _labels(labels[: len(x)], str(sibling))
    return Dataset(x=x, y=y, kind=kind, name=str(path), label_names=label_names)
