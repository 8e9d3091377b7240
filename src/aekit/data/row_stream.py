"""The rows of one file, read a chunk at a time, and views that select some of them.

:class:`RowStream` is the base of the file readers in :mod:`aekit.data.stream_readers`
(:func:`aekit.data.stream.open_stream` opens one). A *view* (``split``, ``where``,
``subset``) keeps the same file and selects rows: a boolean mask over the rows
(``split`` reproduces :meth:`Dataset.split` exactly, so ``aekit evaluate`` finds the
same held-out rows in memory), or a seeded hash of the row number
(:class:`HashSelect`, no per-row state at all).
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from aekit.data.dataset import split_mask
from aekit.errors import DataError

CHUNK_BYTES = 4 << 20  # one read: big enough to be fast, small enough to shuffle many per buffer
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

    def __init__(
        self,
        name: str,
        n_rows: int,
        kind: str,
        sample_shape: tuple[int, ...],
        columns: list[str] | None,
        chunk_rows: int | None,
        buffer_rows: int | None,
    ):
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
        return (
            f"{type(self).__name__}(name={self.name!r}, kind={self.kind!r}, n={len(self)}, "
            f"sample_shape={self.sample_shape}, chunk_rows={self.chunk_rows})"
        )

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
        >>> from aekit.data.stream import open_stream
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
        >>> from aekit.data.stream import open_stream
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
            raise DataError(
                f"{self.name}: row {first + row}, {where} is {value}; aekit needs finite "
                "numbers (drop or impute missing values first, or fit in memory, where a table's "
                "missing cells are masked)"
            )
        top = float(x.max()) if self.kind == "image" and x.size else 0.0
        # Whole-number pixels up to 255 are divided by their range at fit; float values above 1 are suspect.
        pixels = top <= 255 and float(x.min()) >= 0 and np.array_equal(x, np.round(x))
        if top > 1.0 and not pixels and not getattr(self, "_warned", False):
            self._warned = True
            warnings.warn(
                f"{self.name}: image values reach {x.max():g}; they look like 0-255 pixel values "
                "and should be scaled to [0, 1] (divide by 255)",
                UserWarning,
                stacklevel=3,
            )
        return x
