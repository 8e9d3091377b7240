"""Input scaling learned at fit time and saved in the model directory.

Images arrive in [0, 1] and are used as they are. Table columns are
standardised (mean 0, standard deviation 1) so that no column dominates the
squared error by its units alone; a constant column keeps scale 1.

``"robust"`` centres on the median and divides by the interquartile range over
1.349 (the IQR of a unit normal), so Gaussian columns come out as ``"standard"``
would scale them while a few extreme values (the anomalies a detector should
flag) cannot shrink everyone else's scale; a column whose IQR is 0 (mostly one
value) falls back to its standard deviation. Statistics skip missing (NaN)
cells, and scaling leaves them NaN.

Sequences ``(n, L, C)`` are scaled per *channel* (``channels=C``): each channel's
statistics are taken over every sequence and every step, so a channel keeps its shape
over time (a per-step scaling would flatten the very peaks a sequence model should
see). The shift and scale are stored per feature as for any sample, the channel's
values repeated at each of the L steps.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aekit.errors import ConfigError, ModelFileError

METHODS = ("none", "minmax", "standard", "robust")
IQR_OF_NORMAL = 1.349  # 75th minus 25th percentile of N(0, 1)
#: A numpy reduction over an axis (np.mean, np.nanmedian, ...); its overloads are wider than one signature.
_Reduction = Callable[..., Any]


def _statistics(
    flat: np.ndarray, method: str, mean: _Reduction, std: _Reduction, median: _Reduction, percentile: _Reduction
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(shift, scale) per feature in float64, NaN-aware when given the nan* functions."""
    if method == "standard":
        return np.asarray(mean(flat, 0, dtype=np.float64)), np.asarray(std(flat, 0, dtype=np.float64))
    q25, q75 = percentile(flat, [25, 75], axis=0)
    scale = (q75 - q25) / IQR_OF_NORMAL
    flat_scale = ~(scale > 1e-8)
    if flat_scale.any():  # mostly one value: the IQR says nothing, the spread of the rest does
        scale[flat_scale] = std(flat[:, flat_scale], 0, dtype=np.float64)
    return np.asarray(median(flat, 0), dtype=np.float64), np.asarray(scale, dtype=np.float64)


@dataclass
class Preprocessing:
    """Per-feature affine scaling: ``model_input = (x - shift) / scale``.

    Examples
    --------
    >>> p = Preprocessing.fit(np.array([[0.0, 5.0], [2.0, 5.0]]), method="standard")
    >>> p.transform(np.array([[1.0, 5.0]]))
    array([[0., 0.]], dtype=float32)
    """

    method: str = "none"  # "none", "minmax", "standard" or "robust"
    shift: NDArray[np.float32] | None = None  # (n_features,) or None for the identity
    scale: NDArray[np.float32] | None = None

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        method: str,
        keep: np.ndarray | None = None,
        value_range: tuple[float, float] | None = None,
        channels: int | None = None,
    ) -> Preprocessing:
        """Learn the scaling of ``x`` (n, ...); ``keep`` (n_features,) bool marks
        features left as they are (one-hot columns, which are cross-entropy targets).
        ``channels``: samples are sequences whose flat features are (step, channel)
        pairs, channels last; each channel is scaled by its statistics over all samples
        and steps (``x`` (n, L, C) with ``channels=C``).

        ``"minmax"`` maps one range, shared by every feature, onto [0, 1]: ``value_range``
        where given (e.g. (0, 255) for 8-bit intensities), else the smallest and largest
        value in ``x``. Intensities keep their relations across features that way, where
        per-feature scaling would blow up the near-constant border pixels.

        Examples
        --------
        >>> p = Preprocessing.fit(np.array([[0.0, 1.0], [2.0, 0.0]]), "standard", keep=np.array([False, True]))
        >>> p.transform(np.array([[2.0, 1.0]]))
        array([[1., 1.]], dtype=float32)
        >>> robust = Preprocessing.fit(np.array([[0.0], [1.0], [2.0], [3.0], [1000.0]]), "robust")
        >>> float(robust.shift[0]), round(float(robust.scale[0]), 3)   # median 2, IQR 2 / 1.349
        (2.0, 1.483)
        >>> seq = np.stack([np.zeros((3, 2)), np.tile([2.0, 10.0], (3, 1))])   # (2 sequences, 3 steps, 2 channels)
        >>> Preprocessing.fit(seq, "standard", channels=2).shift.tolist()    # per channel, repeated per step
        [1.0, 5.0, 1.0, 5.0, 1.0, 5.0]
        """
        if method not in METHODS:
            raise ConfigError(f"scaling method={method!r} is not one of: {', '.join(METHODS)}")
        if method == "none":
            return cls(method)
        flat = x.reshape(len(x), -1)
        if channels is not None and method in ("standard", "robust"):
            if flat.shape[1] % channels:
                raise ConfigError(f"{flat.shape[1]} features per sample are not steps of {channels} channels")
            steps = flat.shape[1] // channels
            # Rows are (sample, step) pairs: the statistics of each channel over both.
            per = cls.fit(flat.reshape(-1, channels), method)
            assert per.shift is not None and per.scale is not None, "standard and robust set both"
            return cls(method, np.tile(per.shift, steps), np.tile(per.scale, steps))
        if method == "minmax":
            return cls.shared_range(flat.shape[1], *(value_range or _finite_range(flat)), keep=keep)
        if np.isnan(flat).any():
            with warnings.catch_warnings():  # an all-missing column: caught by the table schema
                warnings.simplefilter("ignore", RuntimeWarning)
                shift, scale = _statistics(
                    flat.astype(np.float64), method, np.nanmean, np.nanstd, np.nanmedian, np.nanpercentile
                )
        else:
            shift, scale = _statistics(flat, method, np.mean, np.std, np.median, np.percentile)
        shift[~np.isfinite(shift)] = 0.0
        scale[~(scale > 1e-8)] = 1.0  # constant columns: nothing to scale
        if keep is not None:
            shift[keep], scale[keep] = 0.0, 1.0
        return cls(method, shift.astype(np.float32), scale.astype(np.float32))

    @classmethod
    def shared_range(cls, n_features: int, low: float, high: float, keep: np.ndarray | None = None) -> Preprocessing:
        """``"minmax"``: ``[low, high]`` onto [0, 1] for every feature (a zero-width range: shift only).

        Examples
        --------
        >>> p = Preprocessing.shared_range(2, 0.0, 255.0)
        >>> p.transform(np.array([[0.0, 255.0]]))
        array([[0., 1.]], dtype=float32)
        """
        shift = np.full(n_features, low, dtype=np.float64)
        scale = np.full(n_features, high - low if high - low > 1e-8 else 1.0, dtype=np.float64)
        if keep is not None:
            shift[keep], scale[keep] = 0.0, 1.0
        return cls("minmax", shift.astype(np.float32), scale.astype(np.float32))

    def transform(self, x: np.ndarray) -> NDArray[np.float32]:
        x = np.asarray(x, dtype=np.float32)
        if self.shift is None:
            return x
        assert self.scale is not None, "shift and scale are set together"
        flat = x.reshape(len(x), -1)
        with np.errstate(over="ignore"):
            out = (flat - self.shift) / self.scale
        if np.isinf(out).any():  # x - shift beyond float32 (values near its limit): the difference in float64
            out = (flat.astype(np.float64) - self.shift) / self.scale
        return out.reshape(x.shape).astype(np.float32)

    def inverse_transform(self, x: np.ndarray) -> NDArray[np.float32]:
        x = np.asarray(x, dtype=np.float32)
        if self.shift is None:
            return x
        assert self.scale is not None, "shift and scale are set together"
        return (x.reshape(len(x), -1) * self.scale + self.shift).reshape(x.shape).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method}
        if self.shift is not None:
            assert self.scale is not None, "shift and scale are set together"
            out["shift"] = self.shift.tolist()
            out["scale"] = self.scale.tolist()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], n_features: int, source: str = "config.json") -> Preprocessing:
        try:
            method = data["method"]
            if method not in METHODS:
                raise ValueError(f"method={method!r} is not one of: {', '.join(METHODS)}")
            if method == "none":
                return cls(method)
            shift = np.asarray(data["shift"], dtype=np.float32)
            scale = np.asarray(data["scale"], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{source}: preprocessing section is malformed ({exc})") from None
        if shift.shape != (n_features,) or scale.shape != (n_features,) or not np.all(scale > 0):
            raise ModelFileError(
                f"{source}: preprocessing needs {n_features} shifts and positive scales, "
                f"got {shift.shape} and {scale.shape}"
            )
        return cls(method, shift, scale)


def _finite_range(flat: np.ndarray) -> tuple[float, float]:
    """Smallest and largest finite value of ``flat`` (0, 1 when there is none)."""
    finite = flat[np.isfinite(flat)]
    return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
