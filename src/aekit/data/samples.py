"""Raw arrays to samples: the layout a shape means, integer images scaled to [0, 1], labels as codes.

Every reader of arrays (``.npy``, ``.npz``, IDX, a streamed ``.npy``) shapes its
samples and labels here, so one rule holds for all of them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from aekit.errors import DataError

_CONTAINERS = (list, tuple, dict, set, np.ndarray)


def array_to_samples(arr: np.ndarray, name: str) -> tuple[np.ndarray, str]:
    """Infer the data kind from an array's shape and bring images to ``(n, C, H, W)``.

    Parameters
    ----------
    arr : numpy.ndarray
        ``(n, d)`` is a table; ``(n, H, W)`` grayscale images; ``(n, C, H, W)`` or
        ``(n, H, W, C)`` images with C in 1, 3 or 4 (channels-last is detected when
        the last axis looks like channels and the second does not).
    name : str
        What to call the array in error messages.

    Returns
    -------
    x : numpy.ndarray
        Tables unchanged; images channels-first, integer images scaled to [0, 1]
        (uint8 and any integer array within 0-255 by 1/255, uint16 by 1/65535).
    kind : {"image", "table"}

    Examples
    --------
    >>> import numpy as np
    >>> x, kind = array_to_samples(np.full((2, 5, 5, 3), 255, np.uint8), "demo")
    >>> x.shape, kind, float(x.max())
    ((2, 3, 5, 5), 'image', 1.0)
    """
    channels = (1, 3, 4)
    if arr.dtype.kind in "mMV":  # dates, durations, structured records: not numbers to learn from
        raise DataError(f"{name} holds {arr.dtype} values, not real numbers; aekit needs numbers")
    if arr.ndim >= 2 and 0 in arr.shape[1:]:
        raise DataError(f"{name} has shape {arr.shape}: its samples hold no values")
    if arr.ndim == 2:
        return arr, "table"
    if arr.ndim == 3:
        return _scale_images(arr[:, None], name), "image"
    if arr.ndim == 4:
        if arr.shape[-1] in channels and arr.shape[1] not in channels:
            arr = np.moveaxis(arr, -1, 1)
        elif arr.shape[1] not in channels:
            raise DataError(
                f"{name} has shape {arr.shape}; cannot tell the channel axis: images must be "
                "(n, C, H, W) or (n, H, W, C) with C = 1, 3 or 4"
            )
        return _scale_images(arr, name), "image"
    raise DataError(
        f"{name} has shape {arr.shape}; aekit reads (n, features) tables and "
        "(n, H, W), (n, C, H, W) or (n, H, W, C) images"
    )


def _scale_images(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if not np.issubdtype(arr.dtype, np.integer) or arr.size == 0:
        return arr
    if arr.dtype == np.uint8:
        scale = 255.0
    elif arr.min() >= 0 and arr.max() <= 255:
        scale = 255.0
    elif arr.dtype == np.uint16:
        scale = 65535.0
    else:
        return arr  # Unknown range: check_array warns if the values exceed 1.
    out = arr.astype(np.float32)
    out /= scale  # Division, not multiplication by 1/255, so 255 maps to exactly 1.0.
    return out


def _labels(values: ArrayLike, name: str) -> tuple[NDArray[np.int64], list[str] | None]:
    """Labels as int64 codes, with names when they were text."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise DataError(f"{name}: labels have shape {values.shape}; expected (n,)")
    if values.dtype.kind == "u" and len(values) and values.max() > np.iinfo(np.int64).max:
        pass  # too large for int64 codes: named as text below
    elif np.issubdtype(values.dtype, np.integer) or values.dtype == np.bool_:
        return values.astype(np.int64), None
    if np.issubdtype(values.dtype, np.floating):
        if not np.isfinite(values).all():
            row = int((~np.isfinite(values)).argmax())
            raise DataError(f"{name}: label of row {row} is {values[row]}; labels must be set")
        # Whole numbers within int64 are codes; anything else is a label name.
        if np.array_equal(values, np.round(values)) and np.abs(values.astype(np.float64)).max(initial=0) < 2**63:
            return values.astype(np.int64), None
    if values.dtype.kind == "V":
        raise DataError(f"{name}: labels are {values.dtype} records, not single values")
    if values.dtype == object:
        nested = next((i for i, v in enumerate(values) if isinstance(v, _CONTAINERS)), None)
        if nested is not None:
            raise DataError(
                f"{name}: label of row {nested} is a nested value ({type(values[nested]).__name__}), not a single value"
            )
    if values.dtype.kind == "S" or values.dtype == object:  # bytes need not be ASCII: decode, never fail
        values = np.array(
            [v.decode("utf-8", "backslashreplace") if isinstance(v, bytes) else str(v) for v in values.tolist()],
            dtype=str,
        )
    # Text (or fractional) labels become codes in sorted order of their names.
    names, codes = np.unique(values.astype(str), return_inverse=True)
    return codes.astype(np.int64), [str(v) for v in names]
