"""Data bigger than memory: ``.npy`` and Parquet files read in chunks.

:func:`open_stream` gives a :class:`RowStream`: the file's rows as float32
samples, read a chunk at a time, never all at once. ``AutoEncoder.fit`` trains
from one (see :mod:`aekit.fitting.stream`); ``aekit encode`` and ``aekit score``
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
"""

from __future__ import annotations

import copy
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from aekit.data.dataset import split_mask
from aekit.data.readers import LABEL_COLUMNS, array_to_samples
from aekit.errors import DataError

if TYPE_CHECKING:
    import torch

CHUNK_BYTES = 4 << 20  # one read: big enough to be fast, small enough to shuffle many per buffer
BUFFER_BYTES = 128 << 20  # the shuffle buffer's default budget (at most 65,536 rows)
SUFFIXES = (".npy", ".parquet", ".pq")
_M64 = (1 << 64) - 1


def _unit_hash(rows: np.ndarray, key: int) -> np.ndarray:
    """A uniform number in [0, 1) per row number (splitmix64 of ``row + key``), shape (k,)."""
    with np.errstate(over="ignore"):
        z = rows.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(key & _M64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


@dataclass(frozen=True)
class HashSelect:
    """The rows whose seeded hash lies in [low, high): a split that stores nothing per row.

    Examples
    --------
    >>> rows = np.arange(100_000)
    >>> held = HashSelect(seed=0, low=0.0, high=0.1)(rows)
    >>> round(float(held.mean()), 2), bool((held == HashSelect(0, 0.0, 0.1)(rows)).all())
    (0.1, True)
    """

    seed: int
    low: float
    high: float
    purpose: int = 0  # different purposes (validation, a sample) draw independent hashes

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        u = _unit_hash(rows, self.seed * 0xD1B54A32D192ED03 + self.purpose * 0x8CB92BA72F3D8DD7)
        return (u >= self.low) & (u < self.high)


class RowStream:
    """Samples of one file read in chunks; base of :class:`NpyStream` and :class:`ParquetStream`.

    Attributes: ``name`` (the path), ``kind`` ("image" or "table"),
    ``sample_shape``, ``columns`` (table column names or None), ``chunk_rows``,
    ``buffer_rows`` (the shuffle buffer, None for the default), ``n_file_rows``.
    ``len(stream)`` counts the rows of this view. Like a :class:`Dataset` it has
    ``split``, ``is_test`` (None) and ``n_features``, so ``aekit fit`` treats both alike.
    """

    is_test = None

    def __init__(self, name: str, n_rows: int, kind: str, sample_shape: tuple[int, ...],
                 columns: list[str] | None, chunk_rows: int | None, buffer_rows: int | None):
        if n_rows < 1:
            raise DataError(f"{name} holds no samples")
        for option, value in (("chunk_rows", chunk_rows), ("buffer_rows", buffer_rows)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise DataError(f"{option}={value!r} must be a positive integer or None")
        self.name, self.n_file_rows, self.kind = name, n_rows, kind
        self.sample_shape, self.columns, self.buffer_rows = tuple(sample_shape), columns, buffer_rows
        self.chunk_rows = chunk_rows or int(np.clip(CHUNK_BYTES // (4 * self.n_features), 64, 65536))
        self._mask: np.ndarray | None = None  # (n_file_rows,) bool: rows of this view
        self._selects: tuple[HashSelect, ...] = ()
        self._len: int | None = None

    # -- what subclasses provide ---------------------------------------------------
    def blocks(self) -> list[tuple[int, int]]:
        """Units of reading, (first row, end row) in file order; training shuffles their order."""
        raise NotImplementedError

    def _read(self, block: int) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, samples (k, *sample_shape) float32) pieces of one block, each at most chunk_rows."""
        raise NotImplementedError

    def check_numeric(self) -> None:
        """Raise a DataError naming the first column that cannot be read as numbers (Parquet)."""

    # -- rows --------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        return int(math.prod(self.sample_shape))

    def __len__(self) -> int:
        if self._mask is None and not self._selects:
            return self.n_file_rows
        if self._len is None:  # counts row numbers only: no data is read
            self._len = sum(int(self._keep(np.arange(a, b)).sum()) for a, b in self.blocks())
        return self._len

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, kind={self.kind!r}, n={len(self)}, "
                f"sample_shape={self.sample_shape}, chunk_rows={self.chunk_rows})")

    def _keep(self, rows: np.ndarray) -> np.ndarray:
        keep = np.ones(len(rows), dtype=bool) if self._mask is None else self._mask[rows]
        for select in self._selects:
            keep &= select(rows)
        return keep

    def chunks(self, order: list[int] | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """This view's rows a chunk at a time: (row numbers (k,) int64, samples (k, *sample_shape) float32).

        ``order`` lists block indices (default: file order).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
        >>> np.save(p, np.arange(10.0).reshape(5, 2))
        >>> [rows.tolist() for rows, x in open_stream(p, chunk_rows=2).chunks()]
        [[0, 1], [2, 3], [4]]
        """
        blocks = range(len(self.blocks())) if order is None else order
        for block in blocks:
            for first, x in self._read(block):
                rows = np.arange(first, first + len(x))
                keep = self._keep(rows)
                if keep.all():
                    yield rows, x
                elif keep.any():
                    yield rows[keep], x[keep]

    def read(self) -> np.ndarray:
        """All rows of this view in memory, (n, *sample_shape) float32: for views known to be small."""
        parts = [x for _, x in self.chunks()]
        return np.concatenate(parts) if parts else np.empty((0, *self.sample_shape), np.float32)

    # -- views ---------------------------------------------------------------------
    def where(self, select: HashSelect) -> RowStream:
        """The rows of this view that ``select`` keeps."""
        view = copy.copy(self)
        view._selects, view._len = self._selects + (select,), None
        return view

    def subset(self, mask: np.ndarray) -> RowStream:
        """The rows of this view where ``mask`` (n_file_rows,) bool is True."""
        view = copy.copy(self)
        view._mask = mask if self._mask is None else mask & self._mask
        view._len = None
        return view

    def split(self, test_size: float = 0.2, seed: int = 0) -> tuple[RowStream, RowStream]:
        """Train and test views, the same rows :meth:`aekit.data.Dataset.split` picks for the loaded file.

        Holds a (n_file_rows,) bool mask (and builds the seeded permutation once),
        one byte per row.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
        >>> np.save(p, np.zeros((10, 2)))
        >>> [len(part) for part in open_stream(p).split(test_size=0.3, seed=1)]
        [7, 3]
        """
        positions = split_mask(len(self), test_size, seed, self.name)  # the rows Dataset.split holds out
        test = np.zeros(self.n_file_rows, dtype=bool)
        if self._mask is None and not self._selects:
            test = positions
        else:
            rows = np.concatenate([np.arange(a, b)[self._keep(np.arange(a, b))] for a, b in self.blocks()])
            test[rows[positions]] = True
        return self.subset(~test), self.subset(test)

    # -- helpers for readers -------------------------------------------------------
    def _checked(self, x: np.ndarray, first: int) -> np.ndarray:
        """Finite float32 samples, or a DataError naming the row (in the file) and the column."""
        if not np.isfinite(x).all():
            flat = x.reshape(len(x), -1)
            row, col = np.argwhere(~np.isfinite(flat))[0]
            where = f"column {self.columns[col]!r} ({col})" if self.columns else f"column {col}"
            value = "NaN" if np.isnan(flat[row, col]) else str(float(flat[row, col]))
            raise DataError(f"{self.name}: row {first + row}, {where} is {value}; aekit needs finite "
                            "numbers (drop or impute missing values first, or fit in memory, where a table's "
                            "missing cells are masked)")
        if self.kind == "image" and not getattr(self, "_warned", False) and x.size and x.max() > 1.0:
            self._warned = True
            warnings.warn(f"{self.name}: image values reach {x.max():g}; they look like 0-255 pixel values "
                          "and should be scaled to [0, 1] (divide by 255)", UserWarning, stacklevel=3)
        return x


class NpyStream(RowStream):
    """A ``.npy`` file read through memory maps, ``chunk_rows`` rows per read.

    See :func:`open_stream`; ``limit`` keeps the first rows only.
    """

    def __init__(self, path: str | Path, chunk_rows: int | None = None, buffer_rows: int | None = None,
                 limit: int | None = None):
        self.path = Path(path)
        mm = self._map()
        if not (np.issubdtype(mm.dtype, np.number) or mm.dtype == np.bool_) or np.iscomplexobj(mm):
            raise DataError(f"{path} holds {mm.dtype} values, not real numbers; aekit needs numbers")
        if mm.ndim < 2:
            raise DataError(f"{path} is {mm.ndim}-D with shape {mm.shape}; expected (n_samples, n_features) "
                            "or (n, channels, height, width); use reshape(-1, 1) for a single feature")
        probe, kind = array_to_samples(np.zeros((1, *mm.shape[1:]), np.float32), str(path))
        self._channels_last = mm.ndim == 4 and probe.shape[1:] != mm.shape[1:]
        n = min(len(mm), limit) if limit else len(mm)
        super().__init__(str(path), n, kind, probe.shape[1:], None, chunk_rows, buffer_rows)
        self._scale = self._image_scale(mm.dtype) if kind == "image" else None

    def _map(self) -> np.ndarray:
        try:
            return np.load(self.path, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            hint = ("a truncated file?" if "file size" in str(exc)
                    else "save a numeric array without pickle, or load it in memory")
            raise DataError(f"{self.path}: cannot read in chunks ({exc}); {hint}") from None
        except (OSError, EOFError) as exc:
            raise DataError(f"{self.path}: not a readable .npy file ({exc})") from None

    def _image_scale(self, dtype: np.dtype) -> float | None:
        """Integer images to [0, 1] as array_to_samples scales them, decided on the whole file."""
        if dtype == np.uint8:
            return 255.0
        if not np.issubdtype(dtype, np.integer):
            return None
        low, high = math.inf, -math.inf
        for a, b in self.blocks():
            raw = np.array(self._map()[a:b])
            low, high = min(low, raw.min()), max(high, raw.max())
        if low >= 0 and high <= 255:
            return 255.0
        return 65535.0 if dtype == np.uint16 else None

    def blocks(self) -> list[tuple[int, int]]:
        n, step = self.n_file_rows, self.chunk_rows
        return [(a, min(a + step, n)) for a in range(0, n, step)]

    def _read(self, block: int) -> Iterator[tuple[int, np.ndarray]]:
        a, b = self.blocks()[block]
        raw = np.array(self._map()[a:b])  # a fresh map, dropped at once: see the module docstring
        if raw.ndim == 3:
            raw = raw[:, None]
        elif self._channels_last:
            raw = np.moveaxis(raw, -1, 1)
        x = np.ascontiguousarray(raw, dtype=np.float32)
        if self._scale is not None:
            x /= self._scale  # division, as array_to_samples divides: 255 maps to exactly 1.0
        yield a, self._checked(x, a)


class ParquetStream(RowStream):
    """A Parquet file's numeric columns, row group by row group. See :func:`open_stream`."""

    def __init__(self, path: str | Path, chunk_rows: int | None = None, buffer_rows: int | None = None,
                 limit: int | None = None):
        self.path = Path(path)
        meta = self._file().metadata
        schema = meta.schema.to_arrow_schema()
        names = [str(n) for n in schema.names]
        label = next((c for c in names if c.strip().lower() in LABEL_COLUMNS), None)
        self.features = [c for c in names if c != label]
        if not self.features:
            raise DataError(f"{path} holds no feature columns, only the label column {label!r}")
        import pyarrow.types as pat

        def kind(t) -> str:
            if pat.is_string(t) or pat.is_large_string(t):
                return f"text ({t})"
            return "boolean" if pat.is_boolean(t) else "categorical" if pat.is_dictionary(t) else str(t)

        self.non_numeric = {c: kind(schema.field(c).type) for c in self.features
                            if not (pat.is_integer(schema.field(c).type) or pat.is_floating(schema.field(c).type))}
        self._groups, start = [], 0
        for g in range(meta.num_row_groups):
            rows = meta.row_group(g).num_rows
            if limit:
                rows = min(rows, limit - start)
            if rows > 0:
                self._groups.append((start, start + rows, g))
            start += rows
        super().__init__(str(path), start, "table",
                         (len(self.features),), self.features, chunk_rows, buffer_rows)

    def _file(self):
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise DataError(f"{self.path}: reading parquet needs pyarrow ({exc})") from None
        try:
            return pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises its own error types for bad files
            raise DataError(f"{self.path}: not a readable parquet file ({exc})") from None

    def blocks(self) -> list[tuple[int, int]]:
        return [(a, b) for a, b, _ in self._groups]

    def _batches(self, block: int):
        start, end, group = self._groups[block]
        for batch in self._file().iter_batches(batch_size=self.chunk_rows, row_groups=[group],
                                               columns=self.features, use_threads=False):
            if start >= end:
                return
            yield start, batch.slice(0, end - start)
            start += batch.num_rows

    def check_numeric(self) -> None:
        if self.non_numeric:
            column, kind = next(iter(self.non_numeric.items()))
            raise DataError(f"{self.name}: column {column!r} holds {kind} values; reading in chunks takes numeric "
                            "(int, float) columns only. Fit this table in memory (without --stream), where "
                            "text and boolean columns are one-hot encoded, or store them as numbers")

    def _read(self, block: int) -> Iterator[tuple[int, np.ndarray]]:
        self.check_numeric()
        for first, batch in self._batches(block):
            x = np.empty((batch.num_rows, len(self.features)), np.float32)  # (k, n_columns)
            for j, column in enumerate(batch.columns):
                x[:, j] = column.to_numpy(zero_copy_only=False)  # nulls arrive as NaN: refused below
            yield first, self._checked(x, first)

    def frames(self) -> Iterator[tuple[np.ndarray, object]]:
        """This view's rows as pandas DataFrames of the feature columns, for a model fitted on a table:
        (row numbers (k,), frame), any column types, missing cells as read."""
        for block in range(len(self._groups)):
            for first, batch in self._batches(block):
                rows = np.arange(first, first + batch.num_rows)
                keep = self._keep(rows)
                if keep.any():
                    frame = batch.to_pandas()
                    yield rows[keep], frame[keep].reset_index(drop=True)


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


def open_stream(path: str | Path, *, chunk_rows: int | None = None, buffer_rows: int | None = None,
                limit: int | None = None) -> RowStream:
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


class StreamingBatches:
    """A :class:`~aekit.train.Trainer` batch source over a :class:`RowStream`.

    Each epoch reads the blocks in an order drawn from the trainer's generator and
    fills a shuffle buffer of ``stream.buffer_rows`` rows (default: 65,536 or 128
    MiB). When it is full, a permutation drawn from the generator picks batches
    until half of it is left, which mixes with the next blocks; at the end of the
    file the rest goes out, the last batch possibly short. Every row comes once
    per epoch; memory holds the buffer plus one chunk. All randomness comes from
    the generator, so a seeded run repeats and a resumed one continues exactly.

    Parameters
    ----------
    stream : RowStream
        The training rows (a view without the validation rows).
    transform : callable, optional
        Samples (k, *sample_shape) -> model input (k, *input_shape) float32, e.g.
        the fitted preprocessing, applied per chunk.

    Examples
    --------
    >>> import tempfile, pathlib, torch
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
    >>> np.save(p, np.arange(20.0).reshape(10, 2))
    >>> source = StreamingBatches(open_stream(p, chunk_rows=3, buffer_rows=4))
    >>> batches = list(source.batches(torch.Generator().manual_seed(0), 2, torch.device("cpu")))
    >>> len(source), len(batches), sorted(torch.cat(batches)[:, 0].tolist()) == list(np.arange(0.0, 20, 2))
    (10, 5, True)
    """

    def __init__(self, stream: RowStream, transform=None):
        self.stream = stream
        self.transform = transform

    def __len__(self) -> int:
        return len(self.stream)

    def batches(self, generator: torch.Generator, batch_size: int, device: torch.device) -> Iterator[torch.Tensor]:
        """One epoch of shuffled batches (batch, *input_shape), float32, on ``device``."""
        import torch  # here, so that aekit.data itself does not need torch

        s = self.stream
        cap = s.buffer_rows or min(65536, max(1, BUFFER_BYTES // (4 * s.n_features)))
        cap = max(cap, 2 * batch_size)  # half a buffer must hold a batch, or nothing could go out
        order = torch.randperm(len(s.blocks()), generator=generator).tolist()
        buf, m = None, 0
        for _, x in s.chunks(order):
            if self.transform is not None:
                x = self.transform(x)
            if buf is None:  # (cap + chunk_rows, *input_shape): a full buffer plus one more chunk
                buf = np.empty((cap + s.chunk_rows, *x.shape[1:]), np.float32)
            buf[m : m + len(x)] = x
            m += len(x)
            if m >= cap:
                perm = torch.randperm(m, generator=generator).numpy()
                n_out = min(-(-(m - cap // 2) // batch_size) * batch_size, m // batch_size * batch_size)
                for i in range(0, n_out, batch_size):
                    yield torch.from_numpy(buf[perm[i : i + batch_size]]).to(device)  # (batch, *input_shape)
                m = _compact(buf, perm[:n_out], m)
        if m:
            perm = torch.randperm(m, generator=generator).numpy()
            for i in range(0, m, batch_size):
                yield torch.from_numpy(buf[perm[i : i + batch_size]]).to(device)


def _compact(buf: np.ndarray, gone: np.ndarray, m: int, piece: int = 4096) -> int:
    """Move the rows of ``buf[:m]`` not in ``gone`` to the front, in place; returns how many stay.

    Only the rows beyond the new end move, into the holes before it, a piece at a
    time: no copy of the whole rest (half a buffer) is ever held.
    """
    r = m - len(gone)
    emitted = np.zeros(m, dtype=bool)
    emitted[gone] = True
    holes = np.flatnonzero(emitted[:r])  # free slots before the new end
    movers = r + np.flatnonzero(~emitted[r:m])  # rows kept beyond it; as many as holes
    for i in range(0, len(holes), piece):
        buf[holes[i : i + piece]] = buf[movers[i : i + piece]]
    return r
