"""Data bigger than memory: ``.npy`` and Parquet files read in chunks.

:func:`open_stream` gives a :class:`RowStream`: the file's rows as float32
samples, read a chunk at a time, never all at once. ``AutoEncoder.fit`` trains
from one (see :mod:`aekit.fitting`); ``aekit encode`` and ``aekit score``
stream such files input to output.

- ``.npy``: ``np.load(mmap_mode="r", allow_pickle=False)``, a fresh map per read.
  A map kept open counts every page read so far in the process's resident memory
  (after one epoch, the whole file); a map per chunk keeps only the chunk.
  Layouts and integer image scaling as :func:`aekit.data.readers.array_to_samples`,
  the scale decided once for the whole file.
- Parquet: numeric (int, float) columns, read by ``ParquetFile.iter_batches``
  within one row group at a time; a column named label, y or target is left out
  as :func:`~aekit.data.readers.read_parquet` leaves it out. Text, boolean and
  other columns are refused when rows are read as arrays: a mixed table needs a
  schema fitted on all of it, so fit it in memory. A model fitted on a table
  (with a schema) can still *score and encode* a big Parquet file:
  :meth:`ParquetStream.frames` gives it the columns as read. Memory holds one
  row group's column chunks (pyarrow reads them whole), so write big files with
  bounded row groups (pyarrow's default, 1Mi rows, is fine for a few dozen columns).
- Missing or non-finite cells are refused, naming the file, row and column.

A *view* (``split``, ``where``) keeps the same file and selects rows: a boolean
mask over the rows (``split`` reproduces :meth:`Dataset.split` exactly, so
``aekit evaluate`` finds the same held-out rows in memory), or a seeded hash of
the row number (:class:`HashSelect`, no per-row state at all).

This module opens files; the pieces live beside it and are importable from here:
:class:`RowStream` and its views in :mod:`aekit.data.row_stream`, the two readers in
:mod:`aekit.data.stream_readers`, the shuffle buffer in :mod:`aekit.data.stream_batches`.
"""

from __future__ import annotations

import os
from pathlib import Path

# CHUNK_BYTES is read by RowStream in aekit.data.row_stream: patch it there, not here.
from aekit.data.row_stream import _M64, CHUNK_BYTES, HashSelect, RowStream, _unit_hash  # noqa: F401
from aekit.data.stream_batches import BUFFER_BYTES, StreamingBatches, _compact  # noqa: F401
from aekit.data.stream_readers import NpyStream, ParquetStream
from aekit.errors import DataError

__all__ = [  # this module's own names, and the pieces beside it that are importable from here
    "BUFFER_BYTES",
    "CHUNK_BYTES",
    "SUFFIXES",
    "HashSelect",
    "NpyStream",
    "ParquetStream",
    "RowStream",
    "StreamingBatches",
    "available_memory",
    "open_stream",
    "should_stream",
    "streamable",
]

SUFFIXES = (".npy", ".parquet", ".pq")


def streamable(spec: str | Path) -> bool:
    """Whether ``spec`` is a file :func:`open_stream` reads (``.npy``, ``.parquet``, ``.pq``)."""
    path = Path(str(spec)).expanduser()
    return path.suffix.lower() in SUFFIXES and path.is_file()


def available_memory() -> int | None:
    """Bytes of memory available to new work (Linux ``MemAvailable``), or None where unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def should_stream(spec: str | Path, share: float = 0.5) -> bool:
    """Whether ``aekit fit`` streams ``spec`` by default: a streamable file larger than
    ``share`` of the available memory (loading needs about twice the file: the array and its scaled copy)."""
    if not streamable(spec):
        return False
    free = available_memory()
    return free is not None and Path(str(spec)).expanduser().stat().st_size > share * free


def open_stream(
    path: str | Path, *, chunk_rows: int | None = None, buffer_rows: int | None = None, limit: int | None = None
) -> RowStream:
    """Open a ``.npy`` or Parquet file for reading in chunks (module docstring for the rules).

    Parameters
    ----------
    path : str or Path
    chunk_rows : int, optional
        Rows per read; default about 4 MiB of float32 samples (64 to 65,536 rows).
    buffer_rows : int, optional
        Training's shuffle buffer (see :class:`StreamingBatches`); default 65,536
        rows or 128 MiB of samples, whichever is smaller.
    limit : int, optional
        Only the first ``limit`` rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
    >>> np.save(p, np.arange(12, dtype=np.uint8).reshape(3, 2, 2))
    >>> s = open_stream(p)
    >>> len(s), s.kind, s.sample_shape, round(float(s.read().max()) * 255, 3)   # grey images, scaled by 1/255
    (3, 'image', (1, 2, 2), 11.0)
    """
    spec = Path(str(path)).expanduser()
    if not spec.exists():
        raise DataError(f"no such file: {spec} (reading in chunks takes a .npy or .parquet file)")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DataError(f"limit={limit!r} must be a positive integer or None")
    suffix = spec.suffix.lower()
    if suffix == ".npy":
        return NpyStream(spec, chunk_rows, buffer_rows, limit)
    if suffix in (".parquet", ".pq"):
        return ParquetStream(spec, chunk_rows, buffer_rows, limit)
    raise DataError(f"{spec}: cannot read {suffix or '(no suffix)'!r} in chunks; streaming reads .npy and .parquet")
