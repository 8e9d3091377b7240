"""The window arithmetic of :class:`~aekit.SeriesAnomalyDetector`: checking a series,
finding its period, cutting and z-normalising windows, nearest-neighbour distances,
and turning one score per window into one score per step.

Plain numpy (torch only for the chunked distance matrix); nothing here trains.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from aekit.errors import DataError, DataTypeError

#: Periods are looked for at lags MIN_LAG .. min(T // 4, MAX_LAG).
MIN_LAG, MAX_LAG = 3, 1000
#: An autocorrelation peak lower than this is noise, not a period (an AR(1) series with phi=0.9
#: has its highest local peak at 0.04-0.10; the periodic series of benchmarks/series_synthetic.py at >= 0.88).
MIN_PEAK = 0.3
ROWS = 2048  # queries per block of the distance matrix
MIN_WINDOW = 4  # steps: a shorter window has no shape to z-normalise
AGGREGATIONS = ("mean", "max")  # how a step's score comes from the windows covering it
TERMS = ("recon", "code", "level")  # the parts of a window's score


def as_series(X: Any, name: str = "series") -> np.ndarray:
    """``X`` as a float64 array ``(T, C)``: (T,) becomes (T, 1); a Dataset or a
    :class:`~aekit.data.timeeval.TimeEvalSeries` gives its values.

    Raises a DataError naming the first NaN or infinite value by step and channel.

    Examples
    --------
    >>> as_series([1.0, 2.0, 3.0]).shape
    (3, 1)
    >>> as_series([[1.0, float("nan")]])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    aekit.errors.DataError: series step 0, channel 1 is NaN; ...
    """
    values = getattr(X, "values", None)
    if values is not None and not callable(values) and not hasattr(X, "iloc"):
        X = values  # a TimeEvalSeries
    elif hasattr(X, "x") and hasattr(X, "kind"):
        X = X.x  # an aekit Dataset
    try:
        x = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise DataTypeError(f"{name} cannot be read as an array of numbers ({exc})") from None
    if x.dtype.kind not in "biuf":
        raise DataTypeError(f"{name} holds {x.dtype} values; a series is numbers, shape (T,) or (T, C)")
    x = x.astype(np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise DataError(
            f"{name} has shape {x.shape}; a series is one recording of shape (T,) or (T, C) "
            "(steps, channels); a set of equal-length sequences (n, L, C) is for aekit.AutoEncoder(kind='sequence')"
        )
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(f"{name} has shape {x.shape}: no steps or no channels")
    bad = ~np.isfinite(x)
    if bad.any():
        t, c = (int(i) for i in np.argwhere(bad)[0])
        value = "NaN" if math.isnan(x[t, c]) else f"{x[t, c]:g}"
        raise DataError(
            f"{name} step {t}, channel {c} is {value}; every value must be a finite number (fill or cut the gap first)"
        )
    return x


def dominant_period(x: np.ndarray) -> tuple[int | None, float]:
    """The lag of the highest local peak of the autocorrelation, and its height.

    The autocorrelation of each channel (mean removed, computed by FFT) is averaged over
    channels; peaks are looked for at lags 3 .. min(T // 4, 1000), as TSB-UAD's
    ``find_length`` does (Paparrizos et al., VLDB 2022). A drifting level (a random walk under
    the pattern) lifts the whole curve but keeps the peaks at the period. The period is None
    when the highest peak is below :data:`MIN_PEAK` (no repeating pattern).

    Examples
    --------
    >>> t = np.arange(2000)
    >>> dominant_period(np.sin(2 * np.pi * t / 37)[:, None])[0]
    37
    >>> dominant_period(np.random.default_rng(0).normal(size=(2000, 1)))[0] is None
    True
    """
    T = len(x)
    top = min(T // 4, MAX_LAG)
    if top < MIN_LAG + 1:
        return None, 0.0
    centred = x - x.mean(0)
    n = 1 << int(math.ceil(math.log2(2 * T)))
    power = np.abs(np.fft.rfft(centred, n=n, axis=0)) ** 2
    r = np.fft.irfft(power, n=n, axis=0)[: top + 2]  # (lags, C)
    r0 = r[0]
    r = (r[:, r0 > 0] / r0[r0 > 0]).mean(1) if (r0 > 0).any() else np.zeros(len(r))
    lags = np.arange(MIN_LAG, top + 1)
    peaks = lags[(r[lags] > r[lags - 1]) & (r[lags] >= r[lags + 1])]
    if len(peaks) == 0:
        return None, 0.0
    best = int(peaks[np.argmax(r[peaks])])
    height = float(r[best])
    return (best if height >= MIN_PEAK else None), height


def window_starts(n_steps: int, window: int, stride: int) -> np.ndarray:
    """First steps of the windows cut every ``stride`` steps, the last one ending at the series' end."""
    starts = np.arange(0, n_steps - window + 1, stride)
    if starts[-1] != n_steps - window:
        starts = np.append(starts, n_steps - window)
    return starts


def cut(x: np.ndarray, starts: np.ndarray, window: int, floor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows ``(n, window, C)`` z-normalised per window and channel, with what the
    normalisation removed: each window's mean and log standard deviation, ``(n, C)`` each.

    ``floor`` (C,) bounds the standard deviation below, so a flat window becomes zeros
    instead of dividing by zero.
    """
    w = np.lib.stride_tricks.sliding_window_view(x, window, axis=0)[starts]  # (n, C, window)
    mean = w.mean(2)
    std = w.std(2)
    z = (w - mean[:, :, None]) / np.maximum(std, floor)[:, :, None]
    return np.ascontiguousarray(z.transpose(0, 2, 1), dtype=np.float32), mean, np.log(std + floor)


def context_mean(x: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """The mean of the steps around each window, ``(n, C)``: from one window before it to one
    after it (three windows, cut at the series' ends). A window's mean minus this is its
    level relative to its neighbourhood, blind to a drift slower than three windows.

    Examples
    --------
    >>> context_mean(np.arange(10.0)[:, None], np.array([0, 4, 8]), 2).ravel().tolist()
    [1.5, 4.5, 7.5]
    """
    total = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    lo = np.maximum(starts - window, 0)
    hi = np.minimum(starts + 2 * window, len(x))
    return (total[hi] - total[lo]) / (hi - lo)[:, None]


def nearest(
    reference: np.ndarray, queries: np.ndarray, exclude: tuple[np.ndarray, np.ndarray, int] | None = None
) -> np.ndarray:
    """Euclidean distance from each query row to its nearest reference row, shape (n,).

    ``exclude=(query_starts, reference_starts, zone)`` skips reference windows that start
    fewer than ``zone`` steps from the query's own start: a window's trivial matches, its
    own overlapping neighbours (the matrix profile's exclusion zone).
    """
    ref = torch.as_tensor(reference, dtype=torch.float32)
    out = np.empty(len(queries))
    for i in range(0, len(queries), ROWS):
        d = torch.cdist(torch.as_tensor(queries[i : i + ROWS], dtype=torch.float32), ref)
        if exclude is not None:
            q, r, zone = exclude
            near = np.abs(q[i : i + ROWS, None] - r[None, :]) < zone
            d[torch.as_tensor(near)] = float("inf")
        out[i : i + ROWS] = d.min(1).values.numpy()
    return out


def to_steps(scores: np.ndarray, starts: np.ndarray, window: int, n_steps: int, how: str) -> np.ndarray:
    """One value per step from one per window: the mean (or the max) over the windows covering it.

    Steps no window covers (possible only with a stride longer than the window) are NaN.

    Examples
    --------
    >>> to_steps(np.array([1.0, 3.0]), np.array([0, 1]), 2, 3, "mean").tolist()
    [1.0, 2.0, 3.0]
    >>> to_steps(np.array([1.0, 3.0]), np.array([0, 1]), 2, 3, "max").tolist()
    [1.0, 3.0, 3.0]
    """
    if how == "max":
        out = np.full(n_steps, -np.inf)
        for offset in range(window):  # window passes over whole arrays, not a pass per window
            np.maximum.at(out, starts + offset, scores)
        out[np.isneginf(out)] = np.nan
        return out
    total = np.zeros(n_steps + 1)
    count = np.zeros(n_steps + 1)
    np.add.at(total, starts, scores)
    np.add.at(total, starts + window, -scores)
    np.add.at(count, starts, 1.0)
    np.add.at(count, starts + window, -1.0)
    total, count = np.cumsum(total)[:-1], np.cumsum(count)[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0.5, total / np.maximum(count, 1.0), np.nan)


def spans_of(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` of the runs of True in ``flags`` (stop exclusive).

    Examples
    --------
    >>> spans_of(np.array([0, 1, 1, 0, 1], bool))
    [(1, 3), (4, 5)]
    """
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return [(int(a), int(b)) for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))]
