"""Mixed tables: numeric, boolean and categorical columns with missing cells.

A :class:`TableSchema` is learned from a pandas DataFrame and turns any frame with
the same columns into the float32 matrix the model sees, and back:

=============  =================================  ==========================================
kind           encoded as                         a missing cell
=============  =================================  ==========================================
numeric        one column, the value as it is     NaN (masked out of the loss, imputed)
boolean        a one-hot pair ``[False, True]``   ``[0, 0]`` (the group contributes nothing)
categorical    one-hot, categories sorted         all zeros
=============  =================================  ==========================================

Scaling is not the schema's job: the estimator standardises the numeric columns
(:mod:`aekit.data.scaling`) and leaves the one-hot groups as they are.

How a column's kind is chosen (only the dtype and the values decide, never the
number of distinct values):

- bool dtype, or text/object cells that are all Python booleans -> boolean;
- int or float dtype (nullable ones too) -> numeric;
- object, string or category dtype -> categorical, compared as text (``1`` and
  ``1.0`` both read ``"1"``), except that a text column whose non-missing cells
  are at least half numbers, but not all, is taken for a numeric column with a
  typo and refused with the row and the value (the usual CSV mistake);
- anything else (dates, intervals) is refused by name.

Validation of a frame against the schema, each a :class:`~aekit.errors.DataError`
naming the column and what is expected: a missing column, an extra column (drop
it, or pass ``extra="ignore"``), a numeric column holding text, a boolean column
holding something other than True/False/0/1, and a category not seen in training
(``unknown="error"``, the default; ``unknown="missing"`` treats it as a missing
cell, which is then imputed). Column order does not matter. Rows are counted
from ``first_row`` (0 for frames, the file line for files).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from aekit.data.table_cells import (  # noqa: F401
    _F32_MAX,
    _as_frame,
    _booleans,
    _number_text,
    _numbers,
    _text,
)
from aekit.data.table_columns import (  # noqa: F401
    _CONTAINERS,
    _REFUSED_CELLS,
    KINDS,
    MAX_CATEGORIES,
    Column,
    _categorical,
    _infer,
)
from aekit.errors import DataError, ModelFileError

if TYPE_CHECKING:
    import pandas as pd

_SHOWN = 10  # categories listed in an error message


class TableSchema:
    """Column kinds, categories and the encoding of a mixed table.

    Build one with :meth:`fit`; a schema is immutable afterwards.

    Parameters
    ----------
    columns : sequence of Column

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"size": [1.5, None, 3.0], "colour": ["red", "blue", None],
    ...                       "ok": [True, False, True]})
    >>> schema = TableSchema.fit(frame)
    >>> [(c.name, c.kind, c.width) for c in schema.columns]
    [('size', 'numeric', 1), ('colour', 'categorical', 2), ('ok', 'boolean', 2)]
    >>> schema.categorical                      # one-hot groups (start, size)
    ((1, 2), (3, 2))
    >>> x = schema.encode(frame)                # (3, 5): size | blue red | False True
    >>> x[1].tolist(), x[2].tolist()
    ([nan, 1.0, 0.0, 1.0, 0.0], [3.0, 0.0, 0.0, 0.0, 1.0])
    >>> schema.decode(x).colour.tolist()        # a missing category decodes to one anyway
    ['red', 'blue', 'blue']
    """

    def __init__(self, columns: Iterable[Column]) -> None:
        self.columns = tuple(columns)
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise DataError(f"duplicate column names in {names}")
        self._offsets: list[int] = np.cumsum([0] + [c.width for c in self.columns]).tolist()

    # -- learning ----------------------------------------------------------------
    @classmethod
    def fit(
        cls, frame: pd.DataFrame, *, name: str = "X", first_row: int = 0, max_categories: int = MAX_CATEGORIES
    ) -> TableSchema:
        """Learn every column's kind and categories from ``frame`` (n rows, any columns).

        Parameters
        ----------
        frame : pandas.DataFrame
        name : str
            What to call the table in error messages (a file path).
        first_row : int
            The number messages give the first row (2 for a CSV file with a header).
        max_categories : int
            A categorical column with more distinct values is refused (an ID or free
            text column would one-hot into thousands of features).

        Raises
        ------
        DataError
            No rows or columns, duplicate names, a column with no value, a text
            column that is mostly numbers (a typo), too many categories, or a dtype
            aekit cannot encode.
        """
        frame = _as_frame(frame, name)
        if frame.shape[1] == 0:
            raise DataError(f"{name} has no columns")
        if len(frame) == 0:
            raise DataError(f"{name} holds no samples")
        columns = []
        for column in frame.columns:
            columns.append(_infer(frame[column], column, name, first_row, max_categories))
        schema = cls(columns)
        if schema.width == 0:
            raise DataError(f"{name}: every column holds a single value; there is nothing to learn")
        return schema

    # -- shape -----------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Column names in encoding order."""
        return [c.name for c in self.columns]

    @property
    def width(self) -> int:
        """Encoded features per row."""
        return int(self._offsets[-1])

    @property
    def categorical(self) -> tuple[tuple[int, int], ...]:
        """``(start, size)`` of every one-hot group, as ``ModelConfig.categorical`` wants."""
        return tuple((self._offsets[i], c.width) for i, c in enumerate(self.columns) if c.kind != "numeric" and c.width)

    @property
    def one_hot(self) -> np.ndarray:
        """(width,) bool: True for encoded features inside a one-hot group."""
        mask = np.zeros(self.width, dtype=bool)
        for start, size in self.categorical:
            mask[start : start + size] = True
        return mask

    def feature_names(self) -> list[str]:
        """One name per encoded feature: ``size``, ``colour=red``, ``ok=True``."""
        out = []
        for c in self.columns:
            out.extend([c.name] if c.kind == "numeric" else [f"{c.name}={v}" for v in c.categories[: c.width]])
        return out

    # -- encoding ----------------------------------------------------------------
    def check(self, frame: pd.DataFrame, *, name: str = "X", extra: str = "error") -> pd.DataFrame:
        """``frame`` with exactly the schema's columns, in its order.

        Raises
        ------
        DataError
            A column missing, or (``extra="error"``) a column the schema lacks.
        """
        frame = _as_frame(frame, name)
        have = list(frame.columns)
        missing = [c for c in self.names if c not in have]
        if missing:
            raise DataError(f"{name} lacks column(s) {missing}; the model was fitted on columns {self.names}")
        unexpected = [c for c in have if c not in self.names]
        if unexpected and extra == "error":
            raise DataError(
                f"{name} has column(s) {unexpected} the model was not fitted on; expected exactly "
                f"{self.names} (drop the others)"
            )
        return frame[self.names]

    def encode(
        self, frame: pd.DataFrame, *, name: str = "X", first_row: int = 0, unknown: str = "error", extra: str = "error"
    ) -> NDArray[np.float32]:
        """Encode ``frame`` to float32, shape (n, width); missing numeric cells are NaN.

        Parameters
        ----------
        frame : pandas.DataFrame
            The schema's columns in any order.
        name, first_row : str, int
            For error messages, as in :meth:`fit`.
        unknown : {"error", "missing"}
            A category not seen in training: refuse it, or treat the cell as missing.
        extra : {"error", "ignore"}
            Columns the schema lacks: refuse them, or drop them.

        Examples
        --------
        >>> import pandas as pd
        >>> schema = TableSchema.fit(pd.DataFrame({"c": ["a", "b"]}))
        >>> schema.encode(pd.DataFrame({"c": ["z"]}))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        aekit.errors.DataError: X: row 0, column 'c' holds 'z', a category not seen in training; expected one of ...
        >>> schema.encode(pd.DataFrame({"c": ["z"]}), unknown="missing").tolist()
        [[0.0, 0.0]]
        """
        if unknown not in ("error", "missing"):
            raise DataError(f"unknown={unknown!r} is not one of: error, missing")
        if extra not in ("error", "ignore"):
            raise DataError(f"extra={extra!r} is not one of: error, ignore")
        frame = self.check(frame, name=name, extra=extra)
        out = np.zeros((len(frame), self.width), dtype=np.float32)  # (n, width)
        for i, column in enumerate(self.columns):
            start, series = self._offsets[i], frame[column.name]
            if column.kind == "numeric":
                out[:, start] = _numbers(series, column.name, name, first_row)
            elif column.width:
                codes = self._codes(series, column, name, first_row, unknown)  # (n,), -1 where missing
                rows = np.flatnonzero(codes >= 0)
                out[rows, start + codes[rows]] = 1.0
            else:
                self._codes(series, column, name, first_row, unknown)  # validates the cells
        return out

    def missing(self, frame: pd.DataFrame, *, name: str = "X") -> NDArray[np.bool_]:
        """(n, n_columns) bool: True where a cell is missing (NaN, None or empty)."""
        mask: NDArray[np.bool_] = self.check(frame, name=name, extra="ignore").isna().to_numpy()
        return mask

    def decode(self, x: np.ndarray) -> pd.DataFrame:
        """Encoded rows (n, width) -> a DataFrame: numbers as they are (rounded for
        integer columns), the most likely category, True where p(True) > p(False).

        Rows never come back missing: an all-zero or uniform group decodes to its
        first category.
        """
        import pandas as pd

        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.width:
            raise DataError(f"decode needs rows of {self.width} encoded features, got shape {x.shape}")
        data: dict[str, Any] = {}
        for i, column in enumerate(self.columns):
            start = self._offsets[i]
            if column.kind == "numeric":
                values = x[:, start].astype(np.float64)
                data[column.name] = np.round(values) if column.integer else values
            elif column.kind == "boolean":
                data[column.name] = x[:, start + 1] > x[:, start]
            elif column.width:
                cats = np.asarray(column.categories, dtype=object)
                data[column.name] = cats[x[:, start : start + column.width].argmax(1)]
            else:
                data[column.name] = np.full(len(x), column.categories[0], dtype=object)
        return pd.DataFrame(data)

    # -- persistence ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description; :meth:`from_dict` reads it back."""
        return {
            "format": 1,
            "columns": [
                {"name": c.name, "kind": c.kind, "categories": list(c.categories), "integer": c.integer}
                for c in self.columns
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config.json") -> TableSchema:
        """Rebuild a schema written by :meth:`to_dict`.

        Examples
        --------
        >>> import pandas as pd
        >>> schema = TableSchema.fit(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
        >>> TableSchema.from_dict(schema.to_dict()).to_dict() == schema.to_dict()
        True
        """
        try:
            if data.get("format") != 1:
                raise ValueError(f"format {data.get('format')!r} is not 1")
            columns = []
            for entry in data["columns"]:
                column = Column(
                    str(entry["name"]),
                    str(entry["kind"]),
                    tuple(str(v) for v in entry.get("categories", [])),
                    bool(entry.get("integer")),
                )
                if column.kind not in KINDS:
                    raise ValueError(f"column {column.name!r} has kind {column.kind!r}, not one of {KINDS}")
                if column.kind == "categorical" and not column.categories:
                    raise ValueError(f"categorical column {column.name!r} lists no categories")
                if len(set(column.categories)) != len(column.categories):
                    raise ValueError(f"column {column.name!r} lists a category twice: {list(column.categories)}")
                if column.kind == "boolean" and column.categories != ("False", "True"):
                    raise ValueError(f"boolean column {column.name!r} must have categories ['False', 'True']")
                columns.append(column)
            return cls(columns)
        except (AttributeError, KeyError, TypeError, ValueError, DataError) as exc:
            raise ModelFileError(f"{source}: table schema is malformed ({exc})") from None

    def __repr__(self) -> str:
        kinds = {k: sum(c.kind == k for c in self.columns) for k in KINDS}
        return (
            f"TableSchema({len(self.columns)} columns: {kinds['numeric']} numeric, {kinds['boolean']} boolean, "
            f"{kinds['categorical']} categorical; width {self.width})"
        )

    # -- helpers -----------------------------------------------------------------
    def _codes(self, series: pd.Series, column: Column, name: str, first_row: int, unknown: str) -> NDArray[np.int64]:
        """Category index per row, -1 where missing (or unknown with ``unknown="missing"``)."""
        import pandas as pd

        if column.kind == "boolean":
            text = _booleans(series, column.name, name, first_row)
        else:
            text = _text(series)
        codes = pd.Index(column.categories).get_indexer(text.to_numpy()).astype(np.int64)
        bad = (codes < 0) & text.notna().to_numpy()
        if bad.any() and unknown == "error":
            row = int(bad.argmax())
            shown = list(column.categories[:_SHOWN]) + (["..."] if len(column.categories) > _SHOWN else [])
            raise DataError(
                f"{name}: row {row + first_row}, column {column.name!r} holds {text.iloc[row]!r}, a "
                f"category not seen in training; expected one of {shown} or a missing cell"
            )
        return np.where(bad, -1, codes)
