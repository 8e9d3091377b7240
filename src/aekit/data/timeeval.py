"""The TimeEval CSV layout: one long recording, one row per time step.

TimeEval (Schmidl, Wenig & Papenbrock, "Anomaly detection in time series: a
comprehensive evaluation", VLDB 2022) and the GutenTAG generator write every series as

    timestamp,value-0,value-1,...,is_anomaly
    0,0.345,1.20,...,0
    1,3.609,1.18,...,1

a header line, a ``timestamp`` column (integers, decimals or ISO 8601 dates), one
column per channel and an optional ``is_anomaly`` column of 0/1 labels (``0.0``/``1.0``
are accepted: TimeEval's own training files write them so). Columns are found by name
(either case), so their order does not matter; a file without a ``timestamp`` column is
read with ``timestamps=None`` and every other column as a channel.

The reader treats the file as untrusted: every problem (no header, a ragged row, a cell
that is not a number, NaN or infinity, a value beyond float32, a label other than 0/1)
is a :class:`~aekit.errors.DataError` naming the file and the line (counted from 1, the
header being line 1).
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from aekit.errors import DataError

__all__ = ["LABEL_COLUMN", "TIMESTAMP_COLUMN", "TimeEvalSeries", "read_timeeval"]

TIMESTAMP_COLUMN = "timestamp"
LABEL_COLUMN = "is_anomaly"
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_LAYOUT = "timestamp,<one column per channel>,is_anomaly (the label column optional)"


@dataclass(frozen=True, eq=False)
class TimeEvalSeries:
    """One recording read from a TimeEval CSV.

    Attributes
    ----------
    values : ndarray of float32, shape (T, C)
        One row per time step, one column per channel, all finite.
    labels : ndarray of int8, shape (T,), or None
        1 where the step is an anomaly, 0 elsewhere; None when the file has no
        ``is_anomaly`` column.
    channels : list of str
        The channel columns' names, in file order, ``len(channels) == C``.
    timestamps : ndarray, shape (T,), or None
        int64 when every timestamp is a whole number, else float64, or
        ``datetime64[ns]`` for ISO 8601 dates; None when the file has no
        ``timestamp`` column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = p.write_text("timestamp,value-0,is_anomaly\\n0,0.5,0\\n1,9.0,1\\n2,0.4,0\\n")
    >>> s = read_timeeval(p)
    >>> s.values.shape, s.labels.tolist(), s.channels, s.timestamps.tolist()
    ((3, 1), [0, 1, 0], ['value-0'], [0, 1, 2])
    """

    values: NDArray[np.float32]
    labels: NDArray[np.int8] | None
    channels: list[str]
    timestamps: NDArray[np.generic] | None

    def __len__(self) -> int:
        return len(self.values)


def read_timeeval(path: str | Path, limit: int | None = None) -> TimeEvalSeries:
    """Read a TimeEval CSV: a header, a ``timestamp`` column, channels, ``is_anomaly``.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.csv`` file (UTF-8, comma-separated; blank lines are skipped).
    limit : int, optional
        Read only the first ``limit`` time steps.

    Returns
    -------
    TimeEvalSeries
        ``values`` (T, C) float32, ``labels`` (T,) int8 or None, ``channels``,
        ``timestamps`` (T,) or None.

    Raises
    ------
    aekit.errors.DataError
        Naming the file and the line: no header, a duplicate or empty column name, no
        channel column, a row with another number of fields than the header, a cell
        that is not a number, NaN or infinity, a value beyond float32, a label other
        than 0/1, a timestamp that is neither a number nor an ISO 8601 date, no rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "two.csv"
    >>> _ = p.write_text("timestamp,x,y\\n2024-01-01T00:00,1,2\\n2024-01-01T00:01,3,4\\n")
    >>> s = read_timeeval(p)
    >>> s.values.tolist(), s.labels, s.timestamps.dtype
    ([[1.0, 2.0], [3.0, 4.0]], None, dtype('<M8[ns]'))
    >>> _ = p.write_text("timestamp,x,is_anomaly\\n0,1.5,0\\n1,nan,0\\n")
    >>> read_timeeval(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    aekit.errors.DataError: ...two.csv, line 3: column 'x' is NaN; every value must be a finite number
    """
    path = Path(path)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DataError(f"limit={limit!r} must be None or a positive integer")
    header, rows, lines = _read_rows(path, limit)
    names = [name.strip() for name in header]
    lowered = [name.lower() for name in names]
    time_col = lowered.index(TIMESTAMP_COLUMN) if TIMESTAMP_COLUMN in lowered else None
    label_col = lowered.index(LABEL_COLUMN) if LABEL_COLUMN in lowered else None
    channel_cols = [j for j in range(len(names)) if j not in (time_col, label_col)]
    if not channel_cols:
        raise DataError(f"{path}, line 1: the header {header!r} names no channel column; the layout is {_LAYOUT}")
    columns = list(zip(*rows))  # one tuple of cells per column
    values = np.empty((len(rows), len(channel_cols)), dtype=np.float32)
    for k, j in enumerate(channel_cols):
        values[:, k] = _numbers(columns[j], path, lines, names[j])
    labels = None if label_col is None else _labels(columns[label_col], path, lines)
    timestamps = None if time_col is None else _timestamps(columns[time_col], path, lines)
    return TimeEvalSeries(values, labels, [names[j] for j in channel_cols], timestamps)


def _read_rows(path: Path, limit: int | None) -> tuple[list[str], list[list[str]], list[int]]:
    """The header, the data rows (each as long as the header) and each row's file line."""
    rows: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line
                if header is None:
                    header = _checked_header(row, path, reader.line_num)
                    continue
                if len(row) != len(header):
                    raise DataError(
                        f"{path}, line {reader.line_num}: {len(row)} fields, but the header names "
                        f"{len(header)} columns ({','.join(header)}); every row needs one field per column"
                    )
                rows.append(row)
                lines.append(reader.line_num)
                if limit is not None and len(rows) >= limit:
                    break
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a readable CSV file (not UTF-8 text: {exc})") from None
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if header is None:
        raise DataError(f"{path} is empty; a TimeEval CSV starts with a header line: {_LAYOUT}")
    if not rows:
        raise DataError(f"{path} has a header but no time steps (no data rows after line 1)")
    return header, rows, lines


def _checked_header(row: list[str], path: Path, line: int) -> list[str]:
    names = [cell.strip() for cell in row]
    for cell in names:
        if _is_number(cell):
            raise DataError(
                f"{path}, line {line}: no header (the first line holds the number {cell!r}); "
                f"a TimeEval CSV starts with a header line: {_LAYOUT}"
            )
        if not cell:
            raise DataError(f"{path}, line {line}: the header {row!r} has an empty column name")
    seen: set[str] = set()
    for cell in names:
        if cell.lower() in seen:
            raise DataError(f"{path}, line {line}: the header names column {cell!r} twice")
        seen.add(cell.lower())
    return row


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_bad(cells: Sequence[str]) -> int:
    """The index of the first cell ``float`` cannot read."""
    for i, cell in enumerate(cells):
        if not _is_number(cell):
            return i
    raise AssertionError("every cell is a number")  # pragma: no cover - callers found one


def _as_floats(cells: Sequence[str], path: Path, lines: list[int], what: str) -> NDArray[np.float64]:
    try:
        return np.array([float(cell) for cell in cells], dtype=np.float64)
    except ValueError:
        i = _first_bad(cells)
        shown = repr(cells[i]) if cells[i].strip() else "empty"
        raise DataError(f"{path}, line {lines[i]}: {what} is {shown}, not a number") from None


def _numbers(cells: Sequence[str], path: Path, lines: list[int], name: str) -> NDArray[np.float64]:
    """One channel's cells as float64 (cast to float32 by the caller), all finite and within float32."""
    x = _as_floats(cells, path, lines, f"column {name!r}")
    bad = ~np.isfinite(x) | (np.abs(np.nan_to_num(x)) > _FLOAT32_MAX)
    if bad.any():
        i = int(np.argmax(bad))
        if math.isnan(x[i]):
            what = "is NaN"
        elif math.isinf(x[i]):
            what = f"is {x[i]}"
        else:
            what = f"holds {x[i]:g}, beyond the float32 range (+-{_FLOAT32_MAX:.3g})"
        raise DataError(f"{path}, line {lines[i]}: column {name!r} {what}; every value must be a finite number")
    return x


def _labels(cells: Sequence[str], path: Path, lines: list[int]) -> NDArray[np.int8]:
    y = _as_floats(cells, path, lines, f"the label ({LABEL_COLUMN})")
    bad = (y != 0) & (y != 1)  # NaN is neither
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{path}, line {lines[i]}: the label ({LABEL_COLUMN}) is {cells[i]!r}; it must be 0 or 1 (1 = anomaly)"
        )
    return y.astype(np.int8)


def _timestamps(cells: Sequence[str], path: Path, lines: list[int]) -> NDArray[np.generic]:
    """Numbers (int64 when all whole, else float64) or ISO 8601 dates (datetime64[ns])."""
    if all(_is_number(cell) for cell in cells):
        t = _as_floats(cells, path, lines, "the timestamp")
        if not np.isfinite(t).all():
            i = int(np.argmax(~np.isfinite(t)))
            raise DataError(f"{path}, line {lines[i]}: the timestamp is {cells[i]!r}; timestamps must be finite")
        if (t == np.round(t)).all() and (np.abs(t) < 2**53).all():
            return t.astype(np.int64)
        return t
    stamps: list[np.datetime64] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy warns about time-zone offsets it still parses
        for i, cell in enumerate(cells):
            stamp: np.datetime64
            try:
                stamp = np.datetime64(cell.strip(), "ns")
            except (ValueError, OverflowError, TypeError):
                stamp = np.datetime64("NaT")
            if np.isnat(stamp):
                raise DataError(
                    f"{path}, line {lines[i]}: the timestamp {cell!r} is neither a number nor an ISO 8601 date "
                    "(e.g. 2024-01-31T12:00:00)"
                )
            stamps.append(stamp)
    return np.array(stamps, dtype="datetime64[ns]")
