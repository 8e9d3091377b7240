"""What the estimators accept as ``X``: array-likes turned into float32 samples, checked,
with an error that names the bad value (sparse, complex, text, dates, None, ragged rows,
masked cells, overflow, wrong width). Any real dtype (bool, integers, float16 to
float64) and any memory layout (Fortran order, strided views) give the same samples as
the float32 C-ordered array of the same values."""

from __future__ import annotations

import datetime
import math
import warnings
from typing import Any

import numpy as np
import torch

from aekit.data import Dataset, check_array
from aekit.data.sequences import is_grey_images
from aekit.errors import DataError, DataTypeError


def as_samples(
    X: Any, shape: tuple[int, ...] | None, owner: str = "AutoEncoder", kind: str = "auto"
) -> tuple[np.ndarray, str]:
    """Validate ``X`` and return float32 samples (n, *sample_shape) and the kind
    ("image", "table" or "sequence").

    ``shape``: the sample shape the estimator expects (given at fit, or learned), or None.
    ``kind``: the estimator's ``kind`` option. A 3-D array is sequences (n, length,
    channels) for ``kind="sequence"``, grey images (n, H, W) for "image", and
    otherwise as :func:`aekit.data.sequences.is_grey_images` decides. A series
    Dataset (one long recording) is refused: it is cut into windows first.

    Examples
    --------
    >>> x, kind = as_samples(np.zeros((5, 64)), (1, 8, 8))
    >>> x.shape, x.dtype, kind
    ((5, 1, 8, 8), dtype('float32'), 'image')
    >>> as_samples(np.full((5, 150, 2), -0.5), None)[0].shape
    (5, 150, 2)
    """
    name = "X"
    if isinstance(X, Dataset):
        x, kind, name = X.x, X.kind, X.name
        if kind == "series":
            raise DataError(
                f"{name} is one long recording of shape {x.shape} (steps, channels), not a set of samples: "
                "cut it into windows (n, length, channels) first, or use aekit.SeriesAnomalyDetector"
            )
    else:
        x = _to_numpy(X)
        wanted = kind
        kind = "image" if x.ndim == 4 else "table"
        if x.ndim == 3 and (wanted == "sequence" or (wanted != "image" and not is_grey_images(x))):
            kind = "sequence"  # (n, length, channels)
        elif x.ndim == 3:  # (n, H, W) grey images
            x, kind = x[:, None], "image"
    if x.ndim < 2:
        raise DataError(
            f"{name} must have one row per sample, got an array of shape {x.shape}. Reshape your "
            "data with X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample"
        )
    if x.ndim == 2 and x.shape[1] == 0:
        raise DataError(f"0 feature(s) (shape={x.shape}) while a minimum of 1 is required.")
    if shape is not None:
        shape = tuple(int(s) for s in shape)
        if math.prod(x.shape[1:]) != math.prod(shape):
            raise DataError(
                f"{name} has {math.prod(x.shape[1:])} features, but {owner} is "
                f"expecting {math.prod(shape)} features as input (samples of shape {shape}, "
                f"got {x.shape[1:]})"
            )
        x = x.reshape(len(x), *shape)
        kind = {2: "sequence", 3: "image"}.get(len(shape), kind)
    return check_array(x, name=name, kind=kind), kind


def _to_numpy(X: Any) -> np.ndarray:
    """Array-like -> ndarray of real numbers in its own dtype (:func:`check_array` makes it
    float32; an integer dtype tells it the pixels are whole numbers), refusing by name what
    holds none: sparse, complex, text (even text that reads as numbers), dates and
    durations, None, ragged rows, masked cells and values beyond float32.

    Examples
    --------
    >>> _to_numpy([[1, 2], [3, 4]]).dtype.kind
    'i'
    >>> _to_numpy([["1.5", "2"]])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    aekit.errors.DataTypeError: X holds text (<U3), not real numbers: X[0, 0] = '1.5'; ...
    """
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu()
        X = (X.float() if X.dtype == torch.bfloat16 else X).numpy()  # numpy has no bfloat16
    if hasattr(X, "toarray") and hasattr(X, "nnz"):
        raise DataTypeError(
            "A sparse matrix was passed, but dense data is required: aekit does not support "
            "sparse input; use X.toarray() to convert it to a dense numpy array"
        )
    if np.ma.isMaskedArray(X):
        masked = np.ma.getmaskarray(X)
        if masked.any():
            raise DataError(
                f"X is a masked array with {int(masked.sum())} masked value(s), the first at "
                f"X{_index(np.argwhere(masked)[0])}; aekit does not read masks: fill them "
                "(e.g. X.filled(0)) or drop those rows first"
            )
        X = np.ma.getdata(X)
    try:
        raw = np.asarray(X)
    except ValueError:  # nested sequences of different lengths
        raise DataError(f"X is ragged: {_ragged(X)}; every sample must have the same shape") from None
    if np.iscomplexobj(raw):
        raise DataError("Complex data not supported: aekit needs real numbers")
    _refuse_non_numbers(raw)
    if raw.dtype == object or not (np.issubdtype(raw.dtype, np.number) or raw.dtype == np.bool_):
        try:
            raw = raw.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise DataTypeError(f"X must hold numbers, got values of type {raw.dtype} ({exc})") from None
    if raw.dtype.kind == "f" and raw.dtype.itemsize > 4:
        with np.errstate(invalid="ignore", over="ignore"):
            overflow = np.isfinite(raw) & (np.abs(raw) > np.finfo(np.float32).max)
        if overflow.any():
            where = tuple(int(i) for i in np.argwhere(overflow)[0])
            raise DataError(
                f"X{list(where)} = {raw[where]!r} is too large for float32 (largest 3.4e38); rescale the data"
            )
    return raw


def _refuse_non_numbers(raw: np.ndarray) -> None:
    """Name the first text, date, duration or None in ``raw`` (any element of an object array)."""
    if raw.dtype.kind not in "USmMO":
        return
    for index, value in np.ndenumerate(raw):
        at = f"X{_index(index)}"
        if value is None:
            raise DataError(f"{at} is None; aekit needs finite numbers (drop or impute missing values first)")
        if isinstance(value, (str, bytes)):
            shown = bytes(value) if isinstance(value, bytes) else str(value)
            raise DataTypeError(
                f"X holds text ({raw.dtype}), not real numbers: {at} = {shown!r}; aekit needs numbers "
                "(convert text that holds numbers explicitly, e.g. X.astype(float))"
            )
        if isinstance(value, (np.datetime64, np.timedelta64, datetime.date, datetime.timedelta)):
            raise DataTypeError(
                f"X holds dates or durations ({raw.dtype}), not real numbers: {at} = {value}; "
                "convert them to numbers first, e.g. seconds: (X - X.min()) / np.timedelta64(1, 's')"
            )
        if raw.dtype.kind != "O":
            return  # one look names a text or date array; an object array's elements each differ


def _index(index: Any) -> str:
    return f"[{', '.join(str(int(i)) for i in index)}]"


def _ragged(X: Any) -> str:
    """Which rows of nested sequences differ in length."""
    try:
        lengths = [len(row) for row in X]
    except TypeError:
        return "its rows are not all sequences"
    for i, n in enumerate(lengths):
        if n != lengths[0]:
            return f"row 0 holds {lengths[0]} values, row {i} holds {n}"
    return "its rows hold elements of different shapes"


def check_range(x: np.ndarray, decisions: Any) -> None:
    """Warn (never clip silently) when values of ``x`` leave the range the fit assumed of them
    (``decisions.value_range``, set for intensities), naming how many and where they went.

    Examples
    --------
    >>> from aekit.fitting.decide import Decisions
    >>> d = Decisions("image", "none", (1, 2, 2), (0.0, 1.0), value_range=(0.0, 1.0))
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     check_range(np.array([[0.5, 2.0, 3.0, 0.0]]), d)
    >>> str(seen[0].message).split(" (")[0]
    '2 value(s) of X lie outside [0, 1]'
    """
    if decisions is None or decisions.value_range is None or not x.size:
        return
    low, high = decisions.value_range
    outside = int(np.count_nonzero((x < low) | (x > high)))
    if outside:
        warnings.warn(
            f"{outside} value(s) of X lie outside [{low:g}, {high:g}] (seen [{float(np.nanmin(x)):.4g}, "
            f"{float(np.nanmax(x)):.4g}]), the range this model was fitted to treat as intensities; "
            "their reconstructions are clipped to it. Scale new data as the training data was, or fit with "
            "kind='table'",
            UserWarning,
            stacklevel=4,
        )
