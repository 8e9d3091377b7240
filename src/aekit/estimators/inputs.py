"""What the estimators accept as ``X``: array-likes turned into float32 samples, checked,
with an error that names the bad value (sparse, complex, text, overflow, wrong width)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from aekit.data import Dataset, check_array
from aekit.errors import DataError, DataTypeError


def as_samples(X: Any, shape: tuple[int, ...] | None, owner: str = "AutoEncoder") -> tuple[np.ndarray, str]:
    """Validate ``X`` and return float32 samples (n, *sample_shape) and the kind ("image" or "table").

    ``shape``: the sample shape the estimator expects (given at fit, or learned), or None.

    Examples
    --------
    >>> x, kind = as_samples(np.zeros((5, 64)), (1, 8, 8))
    >>> x.shape, x.dtype, kind
    ((5, 1, 8, 8), dtype('float32'), 'image')
    """
    name = "X"
    if isinstance(X, Dataset):
        x, kind, name = X.x, X.kind, X.name
    else:
        x = _to_numpy(X)
        if x.ndim == 3:  # (n, H, W) grey images
            x = x[:, None]
        kind = "image" if x.ndim == 4 else "table"
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
        if len(shape) == 3:
            kind = "image"
    return check_array(x, name=name, kind=kind), kind


def _to_numpy(X: Any) -> np.ndarray:
    """Array-like -> float32 ndarray, refusing sparse, complex and non-numeric input by name."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    if hasattr(X, "toarray") and hasattr(X, "nnz"):
        raise DataTypeError(
            "A sparse matrix was passed, but dense data is required: aekit does not support "
            "sparse input; use X.toarray() to convert it to a dense numpy array"
        )
    raw = np.asarray(X)
    if np.iscomplexobj(raw):
        raise DataError("Complex data not supported: aekit needs real numbers")
    try:
        with np.errstate(over="ignore"):  # values beyond float32 become inf: named below
            out = raw.astype(np.float32)
    except (TypeError, ValueError) as exc:
        raise DataTypeError(f"X must hold numbers, got values of type {raw.dtype} ({exc})") from None
    if raw.dtype.kind == "f" and raw.dtype.itemsize > 4 and not np.isfinite(out).all():
        overflow = np.isinf(out) & np.isfinite(raw)
        if overflow.any():
            where = tuple(int(i) for i in np.argwhere(overflow)[0])
            raise DataError(
                f"X{list(where)} = {raw[where]!r} is too large for float32 (largest 3.4e38); rescale the data"
            )
    return out
