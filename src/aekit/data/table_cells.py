"""Cells of a table read against its schema: frames checked, cells as text, numbers or booleans.

Each helper refuses a bad cell with a :class:`~aekit.errors.DataError` naming the
table, the row (counted from ``first_row``) and the column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from aekit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

_F32_MAX = float(np.finfo(np.float32).max)


def _as_frame(frame: object, name: str) -> pd.DataFrame:
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        dupes = sorted({c for c in names if names.count(c) > 1})
        raise DataError(f"{name} has duplicate column names {dupes}")
    if names != list(frame.columns):
        return frame.set_axis(names, axis=1).reset_index(drop=True)
    return frame.reset_index(drop=True)


def _number_text(value: object) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _text(series: pd.Series) -> pd.Series:
    """Cells as text, missing ones NaN: ``1``, ``1.0`` and ``"1"`` all read ``"1"``."""
    from pandas.api import types

    present = series.notna()
    out = series.astype(object).where(present)
    if types.infer_dtype(series, skipna=True) in ("string", "empty"):
        return out
    out[present] = [_number_text(v) for v in series[present]]
    return out


def _numbers(series: pd.Series, column: str, name: str, first_row: int) -> NDArray[np.float32]:
    """A numeric column as float32, NaN where missing; text cells refused by row."""
    import pandas as pd
    from pandas.api import types

    if types.is_bool_dtype(series.dtype):
        raise DataError(f"{name}: column {column!r} holds booleans; the model was fitted with it numeric")
    values: NDArray[np.float64]
    if types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        parsed = pd.to_numeric(series, errors="coerce")
        bad = (parsed.isna() & series.notna()).to_numpy()
        if bad.any():
            row = int(bad.argmax())
            raise DataError(
                f"{name}: row {row + first_row}, column {column!r} holds {series.iloc[row]!r}, which is "
                "not a number; the model was fitted with this column numeric"
            )
        values = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    too_large = np.abs(values) > _F32_MAX  # inf, and finite values float32 cannot hold
    if too_large.any():
        row = int(too_large.argmax())
        shown = f"{values[row]} (too large for float32)" if np.isfinite(values[row]) else f"{values[row]}"
        raise DataError(
            f"{name}: row {row + first_row}, column {column!r} is {shown}; aekit needs finite numbers or a missing cell"
        )
    return values.astype(np.float32)


def _booleans(series: pd.Series, column: str, name: str, first_row: int) -> pd.Series:
    """A boolean column as the text "False"/"True" (NaN where missing).

    True, False, 1, 0 and the words true/false in any case are accepted.
    """
    words = {"true": "True", "false": "False", "1": "True", "0": "False"}
    text = _text(series)
    present = text.notna()
    mapped = text[present].map(lambda v: words.get(str(v).strip().lower()))
    bad = mapped.isna()
    if bad.any():
        row = int(series.index.get_loc(mapped.index[bad.to_numpy()][0]))
        raise DataError(
            f"{name}: row {row + first_row}, column {column!r} holds {series.iloc[row]!r}; the model "
            "was fitted with this column boolean: expected True, False, 1, 0 or a missing cell"
        )
    out = text.copy()
    out[present] = mapped
    return out
