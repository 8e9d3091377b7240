"""The columns of a :class:`~aekit.data.tables.TableSchema`: what one is, and how its kind is learned.

:func:`_infer` applies the rule in :mod:`aekit.data.tables` (only the dtype and the
values decide, never the number of distinct values) to one training column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from aekit.data.table_cells import _F32_MAX, _text
from aekit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("numeric", "boolean", "categorical")
MAX_CATEGORIES = 200
# What pandas.api.types.infer_dtype calls cells that are neither text nor numbers nor booleans.
_REFUSED_CELLS = ("date", "datetime", "datetime64", "time", "timedelta", "timedelta64", "period", "interval", "complex")
_CONTAINERS = (list, tuple, dict, set, np.ndarray)


@dataclass(frozen=True)
class Column:
    """One column of a :class:`TableSchema`.

    Parameters
    ----------
    name : str
    kind : {"numeric", "boolean", "categorical"}
    categories : tuple of str
        Categorical columns: the categories seen in training, sorted. Booleans:
        ``("False", "True")``.
    integer : bool
        Numeric columns whose training values were all whole numbers: imputed
        values are rounded.
    """

    name: str
    kind: str
    categories: tuple[str, ...] = ()
    integer: bool = False

    @property
    def width(self) -> int:
        """Encoded width: 1 for numeric, one per category (0 when only one was seen)."""
        if self.kind == "numeric":
            return 1
        return len(self.categories) if len(self.categories) >= 2 else 0


def _infer(series: pd.Series, column: str, name: str, first_row: int, max_categories: int) -> Column:
    """The kind of one training column (the rule: the docstring of aekit.data.tables)."""
    import pandas as pd
    from pandas.api import types

    where = f"{name}: column {column!r}"
    present = series.dropna()
    if len(present) == 0:
        raise DataError(f"{where} holds no value in any row; drop it")
    if types.is_bool_dtype(series.dtype):
        return Column(column, "boolean", ("False", "True"))
    if types.is_numeric_dtype(series.dtype) and not types.is_complex_dtype(series.dtype):
        values = present.to_numpy(dtype=np.float64)
        bad = ~(np.abs(values) <= _F32_MAX)  # inf, and finite values float32 cannot hold
        if bad.any():
            row = int(series.index.get_loc(present.index[bad][0]))
            value = values[bad][0]
            shown = f"{value} (too large for float32)" if np.isfinite(value) else f"{value}"
            raise DataError(
                f"{name}: row {row + first_row}, column {column!r} is "
                f"{shown}; aekit needs finite numbers or a missing cell"
            )
        return Column(column, "numeric", integer=bool(np.array_equal(values, np.round(values))))
    if isinstance(series.dtype, pd.CategoricalDtype):
        return _categorical(series, column, name, max_categories)
    if not (types.is_object_dtype(series.dtype) or types.is_string_dtype(series.dtype)):
        raise DataError(
            f"{where} has dtype {series.dtype}; aekit reads numeric, boolean and text columns "
            "(convert it to numbers or text, or drop it)"
        )
    kinds = types.infer_dtype(present, skipna=True)
    if kinds in _REFUSED_CELLS:
        raise DataError(
            f"{where} holds {kinds} values; aekit reads numeric, boolean and text columns "
            "(convert it to numbers or text, or drop it)"
        )
    if kinds.startswith("mixed"):
        nested = [isinstance(v, _CONTAINERS) for v in present]  # lists, dicts: pyarrow's nested columns
        if any(nested):
            at = present.index[nested][0]
            row, kind = int(series.index.get_loc(at)), type(present[at]).__name__
            raise DataError(
                f"{name}: row {row + first_row}, column {column!r} holds a nested value ({kind}); "
                "aekit reads one number, boolean or text per cell (flatten or drop the column)"
            )
    if kinds == "boolean":
        return Column(column, "boolean", ("False", "True"))
    if kinds in ("integer", "floating", "mixed-integer-float", "decimal"):
        return Column(
            column, "numeric", integer=bool(np.array_equal(present.astype(float), np.round(present.astype(float))))
        )
    numbers = pd.to_numeric(present, errors="coerce")
    n_numbers = int(numbers.notna().sum())
    if 0 < n_numbers < len(present) and 2 * n_numbers >= len(present):
        bad = series.notna() & pd.to_numeric(series, errors="coerce").isna()
        row = int(bad.to_numpy().argmax())
        raise DataError(
            f"{name}: row {row + first_row}, column {column!r} holds {series.iloc[row]!r}, which is "
            f"not a number, while {n_numbers} of its {len(present)} cells are; fix the cell (aekit "
            "takes a text column for categorical only when most cells are not numbers)"
        )
    return _categorical(series, column, name, max_categories)


def _categorical(series: pd.Series, column: str, name: str, max_categories: int) -> Column:
    categories = sorted(set(_text(series).dropna()))
    if len(categories) > max_categories:
        raise DataError(
            f"{name}: column {column!r} holds {len(categories)} distinct values; a categorical column "
            f"may have at most {max_categories} (max_categories): an ID or free-text column should be "
            "dropped"
        )
    return Column(column, "categorical", tuple(categories))
