"""How sequences and series are laid out in a :class:`~aekit.data.Dataset`, and how a
3-D array says which it is.

Two layouts, both channels last:

- **A set of sequences** (``kind="sequence"``): ``x`` of shape ``(N, L, C)``, N
  sequences of L steps and C channels, one label per sequence in ``y`` (N,). UCR/UEA
  ``.ts`` files (:mod:`aekit.data.ts_format`) and 3-D arrays that are not grey images
  arrive so; an autoencoder embeds each sequence (``transform`` -> (N, code_dim)).
- **One long recording** (``kind="series"``): ``x`` of shape ``(T, C)``, a row per time
  step, ``y`` (T,) per-step labels (TimeEval's ``is_anomaly``) or None, ``columns``
  the channel names. TimeEval CSV files (``load(path, kind="series")``) and
  ``(T, C)`` / ``(T,)`` arrays read with ``kind="series"`` arrive so; a detector cuts
  it into windows.

The rule for a 3-D array ``(n, a, b)`` with no ``kind`` given (:func:`is_grey_images`):
grey images ``(n, H, W)`` when its values are intensities (all in [0, 1], or whole
numbers in [0, 255]), unless the sample is long and narrow (fewer than 8 columns and
at least 4 times as many rows: ``(n, 150, 1)``, ``(n, 100, 6)`` are sequences of a few
channels); every other 3-D array is sequences ``(n, L, C)``. Sensor data is real-valued
(negative after any centring), so it is a sequence set; digits and Fashion-MNIST as
``(n, 28, 28)`` and small 8-bit images stay images, as before sequences existed.
``kind="sequence"`` or ``kind="image"`` overrides the rule.
"""

from __future__ import annotations

import numpy as np

from aekit.errors import DataError

#: Intensities with fewer columns than this, and at least NARROW times as many rows, are sequences.
FEW_CHANNELS, NARROW = 8, 4


def is_grey_images(arr: np.ndarray) -> bool:
    """Whether a 3-D array ``(n, a, b)`` is grey images rather than sequences (the module's rule).

    Examples
    --------
    >>> import numpy as np
    >>> is_grey_images(np.zeros((5, 28, 28), np.uint8)), is_grey_images(np.full((5, 150, 1), -0.5))
    (True, False)
    >>> is_grey_images(np.random.default_rng(0).normal(size=(4, 100, 6)))
    False
    >>> is_grey_images(np.full((5, 6, 6), 0.5)), is_grey_images(np.full((5, 150, 1), 0.5))   # long and narrow
    (True, False)
    """
    if arr.ndim != 3:
        return False
    rows, columns = arr.shape[1:]
    if columns < FEW_CHANNELS and rows >= NARROW * columns:
        return False
    if arr.size == 0:
        return True  # nothing to tell by: the image path, as before sequences existed
    if arr.dtype == np.bool_:
        return True
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        return True  # not numbers: left to the image path, whose checks name what is wrong
    with np.errstate(invalid="ignore"):
        low, high = float(np.min(arr)), float(np.max(arr))
    if not (np.isfinite(low) and np.isfinite(high)):
        return True  # NaN or inf: the image path names the bad pixel
    if low >= 0 and high <= 1:
        return True
    whole = np.issubdtype(arr.dtype, np.integer) or bool(np.array_equal(arr, np.round(arr)))
    return whole and low >= 0 and high <= 255


def as_series(arr: np.ndarray, name: str) -> np.ndarray:
    """One long recording as ``(T, C)``: a ``(T,)`` array becomes one channel.

    Examples
    --------
    >>> import numpy as np
    >>> as_series(np.arange(5.0), "demo").shape
    (5, 1)
    """
    if arr.ndim == 1:
        return arr[:, None]
    if arr.ndim != 2:
        raise DataError(
            f"{name} has shape {arr.shape}; a series is (steps,) or (steps, channels), and a set of "
            "sequences (n, length, channels) is read with kind='sequence'"
        )
    return arr


def as_sequences(arr: np.ndarray, name: str) -> np.ndarray:
    """A set of sequences as ``(N, L, C)``: ``(N, L)`` becomes one channel.

    Examples
    --------
    >>> import numpy as np
    >>> as_sequences(np.zeros((4, 10)), "demo").shape
    (4, 10, 1)
    """
    if arr.ndim == 2:
        return arr[:, :, None]
    if arr.ndim != 3:
        raise DataError(
            f"{name} has shape {arr.shape}; a set of sequences is (n, length, channels) or (n, length), "
            "and one long recording (steps, channels) is read with kind='series'"
        )
    return arr
