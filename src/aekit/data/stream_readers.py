""":class:`NpyStream` and :class:`ParquetStream`: the two files a :class:`RowStream` reads.

The rules for each (memory maps, scaling, which Parquet columns) are in
:mod:`aekit.data.stream`; :func:`aekit.data.stream.open_stream` picks the reader
by the file's suffix.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from aekit.data.readers import LABEL_COLUMNS
from aekit.data.row_stream import RowStream
from aekit.data.samples import array_to_samples
from aekit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq


class NpyStream(RowStream):
    """A ``.npy`` file read through memory maps, ``chunk_rows`` rows per read.

    See :func:`~aekit.data.stream.open_stream`; ``limit`` keeps the first rows only.
    """

    def __init__(
        self, path: str | Path, chunk_rows: int | None = None, buffer_rows: int | None = None, limit: int | None = None
    ):
        self.path = Path(path)
        mm = self._map()
        if not (np.issubdtype(mm.dtype, np.number) or mm.dtype == np.bool_) or np.iscomplexobj(mm):
            raise DataError(f"{path} holds {mm.dtype} values, not real numbers; aekit needs numbers")
        if mm.ndim < 2:
            raise DataError(
                f"{path} is {mm.ndim}-D with shape {mm.shape}; expected (n_samples, n_features) "
                "or (n, channels, height, width); use reshape(-1, 1) for a single feature"
            )
        probe, kind = array_to_samples(np.zeros((1, *mm.shape[1:]), np.float32), str(path))
        self._channels_last = mm.ndim == 4 and probe.shape[1:] != mm.shape[1:]
        n = min(len(mm), limit) if limit else len(mm)
        super().__init__(str(path), n, kind, probe.shape[1:], None, chunk_rows, buffer_rows)
        self._scale = self._image_scale(mm.dtype) if kind == "image" else None

    def _map(self) -> np.ndarray:
        try:
            mm = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            hint = (
                "a truncated file?"
                if "file size" in str(exc)
                else "save a numeric array without pickle, or load it in memory"
            )
            raise DataError(f"{self.path}: cannot read in chunks ({exc}); {hint}") from None
        except (OSError, EOFError) as exc:
            raise DataError(f"{self.path}: not a readable .npy file ({exc})") from None
        if not isinstance(mm, np.ndarray):  # a zip archive, whatever its name: np.load gives an NpzFile
            mm.close()
            raise DataError(
                f"{self.path}: not a readable .npy file (a zip archive, as .npz files are); save one array with np.save"
            )
        return mm

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
        raw = np.array(self._map()[a:b])  # a fresh map, dropped at once: see aekit.data.stream
        if raw.ndim == 3:
            raw = raw[:, None]
        elif self._channels_last:
            raw = np.moveaxis(raw, -1, 1)
        x = np.ascontiguousarray(raw, dtype=np.float32)
        if self._scale is not None:
            x /= self._scale  # division, as array_to_samples divides: 255 maps to exactly 1.0
        yield a, self._checked(x, a)


class ParquetStream(RowStream):
    """A Parquet file's numeric columns, row group by row group. See :func:`~aekit.data.stream.open_stream`."""

    def __init__(
        self, path: str | Path, chunk_rows: int | None = None, buffer_rows: int | None = None, limit: int | None = None
    ):
        self.path = Path(path)
        meta = self._file().metadata
        schema = meta.schema.to_arrow_schema()
        names = [str(n) for n in schema.names]
        label = next((c for c in names if c.strip().lower() in LABEL_COLUMNS), None)
        self.features = [c for c in names if c != label]
        if not self.features:
            raise DataError(f"{path} holds no feature columns, only the label column {label!r}")
        import pyarrow.types as pat

        def kind(t: pa.DataType) -> str:
            if pat.is_string(t) or pat.is_large_string(t):
                return f"text ({t})"
            return "boolean" if pat.is_boolean(t) else "categorical" if pat.is_dictionary(t) else str(t)

        self.non_numeric = {
            c: kind(schema.field(c).type)
            for c in self.features
            if not (pat.is_integer(schema.field(c).type) or pat.is_floating(schema.field(c).type))
        }
        self._groups, start = [], 0
        for g in range(meta.num_row_groups):
            rows = meta.row_group(g).num_rows
            if limit:
                rows = min(rows, limit - start)
            if rows > 0:
                self._groups.append((start, start + rows, g))
            start += rows
        super().__init__(str(path), start, "table", (len(self.features),), self.features, chunk_rows, buffer_rows)

    def _file(self) -> pq.ParquetFile:
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

    def _batches(self, block: int) -> Iterator[tuple[int, pa.RecordBatch]]:
        start, end, group = self._groups[block]
        for batch in self._file().iter_batches(
            batch_size=self.chunk_rows, row_groups=[group], columns=self.features, use_threads=False
        ):
            if start >= end:
                return
            yield start, batch.slice(0, end - start)
            start += batch.num_rows

    def check_numeric(self) -> None:
        if self.non_numeric:
            column, kind = next(iter(self.non_numeric.items()))
            raise DataError(
                f"{self.name}: column {column!r} holds {kind} values; reading in chunks takes numeric "
                "(int, float) columns only. Fit this table in memory (without --stream), where "
                "text and boolean columns are one-hot encoded, or store them as numbers"
            )

    def _read(self, block: int) -> Iterator[tuple[int, np.ndarray]]:
        self.check_numeric()
        for first, batch in self._batches(block):
            x = np.empty((batch.num_rows, len(self.features)), np.float32)  # (k, n_columns)
            for j, column in enumerate(batch.columns):
                x[:, j] = column.to_numpy(zero_copy_only=False)  # nulls arrive as NaN: refused below
            yield first, self._checked(x, first)

    def frames(self) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
        """This view's rows as pandas DataFrames of the feature columns, for a model fitted on a table:
        (row numbers (k,), frame), any column types, missing cells as read."""
        for block in range(len(self._groups)):
            for first, batch in self._batches(block):
                rows = np.arange(first, first + batch.num_rows)
                keep = self._keep(rows)
                if keep.any():
                    frame = batch.to_pandas()
                    yield rows[keep], frame[keep].reset_index(drop=True)
