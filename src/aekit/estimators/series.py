"""Anomalies in one long recording: an autoencoder over sliding windows, a score per step.

:class:`SeriesAnomalyDetector` learns what the windows of a normal recording look like
and scores every step of a new one. It borrows what makes the matrix profile (Yeh et al.,
ICDM 2016) the strong simple baseline of the UCR anomaly archive: each window is
z-normalised (its shape is compared, not its level), and a window is unusual when it is
far from its nearest normal window. Per window, three terms, each divided by its 99th
percentile on held-out normal windows so that each reads "1 = as unusual as the top 1 % of
normal windows":

    score(window) = recon / q99 + nearest code / q99 + nearest level / q99

- ``recon``: the autoencoder's squared error on the z-normalised window (shapes the
  code cannot keep);
- ``nearest code``: the distance from the window's code to the nearest code of a
  training window (a matrix profile in code space; at fit, a window's nearest training
  window is looked for among those that share no step with it, an exclusion zone);
- ``nearest level``: the same distance for what z-normalisation removes: each channel's
  mean relative to the mean of the three windows around it (in units of the channel's
  standard deviation) and its log standard deviation (a level shift, an amplitude change,
  a stuck sensor). Relative, so that a slow drift is not an anomaly: with the absolute
  mean, a random-walk sensor that wandered past its training range had 10-71 % of its
  normal steps flagged on the development series (``benchmarks/series_synthetic.py``,
  sensor, seeds 100-105), 7-15 % with the relative one, at the same ROC-AUC. The term's
  scale is at least :data:`LEVEL_FLOOR`, so that a recording whose level never moves does
  not make every small move enormous.

Each step then takes the mean of the scores of the windows covering it
(``aggregation="mean"``; ``"max"``, the worst window, is the other choice).

The held-out windows are the last :data:`CALIBRATION` (20 %) of the training series: the
autoencoder and the nearest-window references learn the rest, the held-out part is scored
as new data is, and its scores set the scales and the threshold (then its windows join the
references). Scales taken on the training windows themselves were optimistic: with
windows of 350 steps on a drifting sensor, the autoencoder reconstructed its own windows
four times better than new normal ones, and every step of a new recording was flagged. A
series too short to hold out a part and keep two windows falls back to its own windows,
each compared with those that share no step with it.

The window is a whole number of periods of the training series: the dominant period is
the highest peak of the autocorrelation (:func:`aekit.estimators.series_windows.dominant_period`),
and the window is :data:`WINDOW_PERIODS` periods, at least :data:`MIN_AUTO_WINDOW` steps
(a period of 20 steps gives 60); with no period, :data:`NO_PERIOD_WINDOW` steps. The rule
and the other defaults were chosen on synthetic series (``benchmarks/series_synthetic.py``,
kinds sine-mix and sensor) and are reported on others in BENCHMARKS.md.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.utils.validation import check_is_fitted

from aekit.errors import ConfigError, DataError
from aekit.estimators.autoencoder import AutoEncoder
from aekit.estimators.series_files import SeriesFilesMixin
from aekit.estimators.series_windows import (
    AGGREGATIONS,
    MIN_WINDOW,
    TERMS,
    as_series,
    context_mean,
    cut,
    dominant_period,
    nearest,
    spans_of,
    to_steps,
    window_starts,
)
from aekit.model import map_batches

WINDOW_PERIODS = 3  # periods per window
MIN_AUTO_WINDOW = 32  # steps: a shorter period gets more periods per window
NO_PERIOD_WINDOW = 100  # steps, when the series has no period
MAX_TRAIN_WINDOWS = 20_000  # training windows: a longer series is cut with a stride
SCORE_WINDOWS = 8192  # windows scored at a time: memory stays bounded for any length
CALIBRATION = 0.2  # the end of the training series held out to set the scales and the threshold
LEVEL_FLOOR = 0.1  # the least level-term scale (module docstring)


class SeriesAnomalyDetector(SeriesFilesMixin, OutlierMixin, BaseEstimator):
    """Per-step anomaly scores for a long recording, from an autoencoder over its windows.

    Parameters
    ----------
    window : int or "auto", default "auto"
        Window length in steps. "auto": :data:`WINDOW_PERIODS` periods of the training
        series' dominant period, at least :data:`MIN_AUTO_WINDOW` steps, at most a quarter
        of the series (module docstring); the chosen length is ``window_``.
    code_dim : int or None, default None
        Code width; None takes 8 (at most the window's values).
    contamination : float, default 0.01
        Expected share of anomalous steps in the training series, in (0, 0.5]: the
        threshold is the ``1 - contamination`` quantile of the scores of the held-out
        steps (the last 20 % of the training series, module docstring).
    aggregation : {"mean", "max"}, default "mean"
        How a step's score comes from the windows covering it.
    estimator : AutoEncoder or None, default None
        An unfitted autoencoder to clone and train on the windows instead of the default
        (``code_dim``, ``epochs``, ``steps``, ``batch_size``, ``random_state`` then
        ignored). Windows go in flat, ``(n, window * C)``, or as ``(n, window, C)`` when its
        ``kind`` is "sequence".
    epochs, steps, batch_size : int or None, default None
        Training length; None takes the autoencoder's step budget.
    random_state : int, default 0
        Seeds the autoencoder's training.
    verbose : bool, default False
        Show the training progress bar.

    Attributes
    ----------
    window_ : int
        The window length used.
    period_ : int or None
        The training series' dominant period (None: none found, or ``window`` given).
    stride_ : int
        Steps between training windows (1 unless the series has more than 20,000 windows).
    n_channels_ : int
    autoencoder_ : AutoEncoder
        Trained on the z-normalised windows of the first 80 % of the training series.
    threshold_ : float
        Steps scored above it are anomalies; ``offset_ = -threshold_``.
    scales_ : dict
        The 99th percentile of each term on the held-out windows.
    floor_ : ndarray, shape (C,)
        Lower bound of a window's standard deviation (1e-3 of the channel's).
    code_reference_ : ndarray, shape (n_windows, code_dim)
    level_reference_ : ndarray, shape (n_windows, 2 * C)
        Codes and level features of the training windows.
    level_location_, level_scale_ : ndarray, shape (2 * C,)
        The level features' units: 0 and each channel's standard deviation (for the
        relative window means), 0 and 1 (for the log standard deviations).

    Examples
    --------
    >>> t = np.arange(3000)
    >>> normal = np.sin(2 * np.pi * t / 25) + 0.05 * np.random.default_rng(0).normal(size=3000)
    >>> det = SeriesAnomalyDetector(steps=300).fit(normal)
    >>> det.period_, det.window_
    (25, 75)
    >>> test = normal.copy()
    >>> test[1500:1550] = 0.0                                   # a stuck sensor
    >>> det.anomaly_score(test).shape
    (3000,)
    >>> [(a, b) for a, b in det.spans(test) if b - a > 25]     # doctest: +SKIP
    [(1468, 1583)]
    """

    def __init__(
        self,
        window: int | str = "auto",
        *,
        code_dim: int | None = None,
        contamination: float = 0.01,
        aggregation: str = "mean",
        estimator: AutoEncoder | None = None,
        epochs: int | None = None,
        steps: int | None = None,
        batch_size: int | None = None,
        random_state: int = 0,
        verbose: bool = False,
    ):
        self.window = window
        self.code_dim = code_dim
        self.contamination = contamination
        self.aggregation = aggregation
        self.estimator = estimator
        self.epochs = epochs
        self.steps = steps
        self.batch_size = batch_size
        self.random_state = random_state
        self.verbose = verbose

    # -- fitting -----------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> SeriesAnomalyDetector:
        """Learn the normal windows of one recording ``X``, shape (T,) or (T, C); ``y`` is ignored.

        ``X`` may also be an :class:`aekit.data.Dataset` of kind "series" or a
        :class:`~aekit.data.timeeval.TimeEvalSeries`.
        """
        self._check_params()
        x = as_series(X)
        T, C = x.shape
        self.window_, self.period_ = self._choose_window(x)
        self.n_channels_ = C
        std = x.std(0)
        self.floor_ = 1e-3 * np.where(std > 0, std, 1.0)
        # Means in units of the channel's spread, log standard deviations as they are (0.1 = 10 % more).
        self.level_location_ = np.zeros(2 * C)
        self.level_scale_ = np.concatenate([np.where(std > 0, std, 1.0), np.ones(C)])
        held = max(round(CALIBRATION * T), self.window_)
        learn, calibrate = (x[: T - held], x[T - held :]) if T - held >= 2 * self.window_ else (x, None)
        n_windows = len(learn) - self.window_ + 1
        self.stride_ = max(1, math.ceil(n_windows / MAX_TRAIN_WINDOWS))
        starts = window_starts(len(learn), self.window_, self.stride_)
        z, mean, log_std = cut(learn, starts, self.window_, self.floor_)
        self.autoencoder_ = self._autoencoder(z).fit(self._inputs(z))
        recon, self.code_reference_ = self._recon_and_codes(z)
        self.level_reference_ = self._level(learn, starts, mean, log_std)
        if calibrate is not None:  # scored as new data is: an autoencoder and references that never saw it
            starts, terms = self._window_terms(calibrate)
            n_steps = len(calibrate)
        else:  # too short to hold a part out: each window against the others that share no step with it
            exclude = (starts, starts, self.window_)
            terms = {
                "recon": recon,
                "code": nearest(self.code_reference_, self.code_reference_, exclude),
                "level": nearest(self.level_reference_, self.level_reference_, exclude),
            }
            n_steps = len(learn)
        self.scales_ = {name: _positive(np.quantile(value, 0.99)) for name, value in terms.items()}
        # A recording whose level never moves would make any move enormous; a tenth of the
        # channel's spread (or a tenth more or less spread) is the least that counts as one.
        self.scales_["level"] = max(self.scales_["level"], LEVEL_FLOOR)
        per_window = sum(terms[name] / self.scales_[name] for name in TERMS)
        steps = to_steps(per_window, starts, self.window_, n_steps, self.aggregation)
        self.threshold_ = float(np.quantile(steps[np.isfinite(steps)], 1.0 - self.contamination))
        if calibrate is not None:  # the held-out windows are normal too: new data is compared with them as well
            starts = window_starts(len(calibrate), self.window_, self.stride_)
            z, mean, log_std = cut(calibrate, starts, self.window_, self.floor_)
            self.code_reference_ = np.concatenate([self.code_reference_, self._recon_and_codes(z)[1]])
            self.level_reference_ = np.concatenate(
                [self.level_reference_, self._level(calibrate, starts, mean, log_std)]
            )
        self.offset_ = -self.threshold_
        self.n_train_steps_ = T
        return self

    def _check_params(self) -> None:
        w = self.window
        if w != "auto" and (isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < MIN_WINDOW):
            raise ConfigError(f"window={w!r} must be 'auto' or an integer >= {MIN_WINDOW} (steps per window)")
        c = self.contamination
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not (0 < c <= 0.5):
            raise ConfigError(
                f"contamination={c!r} must be a number in (0, 0.5], the expected share of anomalous steps"
            )
        if self.aggregation not in AGGREGATIONS:
            raise ConfigError(f"aggregation={self.aggregation!r} is not one of: {', '.join(AGGREGATIONS)}")
        k = self.code_dim
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
            raise ConfigError(f"code_dim={k!r} must be a positive integer or None")
        if self.estimator is not None and not isinstance(self.estimator, AutoEncoder):
            raise ConfigError(f"estimator must be an aekit.AutoEncoder, got {type(self.estimator).__name__}")

    def _choose_window(self, x: np.ndarray) -> tuple[int, int | None]:
        T = len(x)
        if self.window != "auto":
            w = int(self.window)
            if T < 2 * w:
                raise DataError(
                    f"the series has {T} steps, fewer than 2 windows of window={w}; "
                    f"give a series of at least {2 * w} steps or a window of at most {T // 2}"
                )
            return w, None
        if T < 2 * MIN_WINDOW * 2:
            raise DataError(
                f"the series has {T} steps; window='auto' needs at least {4 * MIN_WINDOW} "
                f"(two windows of at least {2 * MIN_WINDOW} steps)"
            )
        period, _ = dominant_period(x)
        if period is None:
            w = NO_PERIOD_WINDOW
        else:
            w = period * max(WINDOW_PERIODS, math.ceil(MIN_AUTO_WINDOW / period))
        return int(min(max(w, 2 * MIN_WINDOW), T // 4 if T >= 8 * MIN_WINDOW else T // 2)), period

    def _level(self, x: np.ndarray, starts: np.ndarray, mean: np.ndarray, log_std: np.ndarray) -> np.ndarray:
        """Level features (n, 2C) in their units: each window's mean relative to its
        neighbourhood, and its log spread."""
        level = np.concatenate([mean - context_mean(x, starts, self.window_), log_std], axis=1)
        return (level - self.level_location_) / self.level_scale_

    def _autoencoder(self, z: np.ndarray) -> AutoEncoder:
        if self.estimator is not None:
            return clone(self.estimator)
        width = z.shape[1] * z.shape[2]
        return AutoEncoder(
            code_dim=self.code_dim if self.code_dim is not None else min(8, width),
            kind="table",  # windows are rows of numbers, never images, whatever their width
            epochs=self.epochs,
            steps=self.steps,
            batch_size=self.batch_size,
            random_state=self.random_state,
            verbose=self.verbose,
        )

    def _inputs(self, z: np.ndarray) -> np.ndarray:
        """Windows as the autoencoder takes them: flat (n, window * C), or (n, window, C) for sequences."""
        ae = getattr(self, "autoencoder_", None) or self.estimator
        if ae is not None and getattr(ae, "kind", None) == "sequence":
            return z
        return z.reshape(len(z), -1)

    # -- scoring -----------------------------------------------------------------------
    def anomaly_score(self, X: Any) -> np.ndarray:
        """One score per step, shape (T,): higher is more unusual; compare with ``threshold_``."""
        return self._score(X)[0]

    def score_samples(self, X: Any) -> np.ndarray:
        """scikit-learn's convention: the opposite of :meth:`anomaly_score`, shape (T,)."""
        return -self.anomaly_score(X)

    def decision_function(self, X: Any) -> np.ndarray:
        """``score_samples(X) - offset_``, shape (T,): negative at anomalous steps."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """1 for normal steps, -1 for anomalous ones (score above ``threshold_``), shape (T,)."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def spans(self, X: Any) -> list[tuple[int, int]]:
        """The flagged intervals ``[(start, stop), ...]`` (``stop`` exclusive) of runs of
        steps scored above ``threshold_``."""
        return spans_of(self.anomaly_score(X) > self.threshold_)

    def terms(self, X: Any) -> dict[str, np.ndarray]:
        """Each term of the score per step, shape (T,) each, already divided by its scale:
        ``recon``, ``code`` and ``level`` (module docstring); with ``aggregation="mean"`` they
        sum to :meth:`anomaly_score`."""
        return self._score(X)[1]

    def reconstruct(self, X: Any) -> np.ndarray:
        """The series as the autoencoder reconstructs it, shape (T, C): each window's
        reconstruction un-normalised with the window's own mean and standard deviation,
        overlapping windows averaged per step."""
        check_is_fitted(self, "threshold_")
        x = self._checked(X)
        T, C = x.shape
        total = np.zeros((T, C))
        count = np.zeros(T)
        for first in range(0, T - self.window_ + 1, SCORE_WINDOWS):
            starts = np.arange(first, min(first + SCORE_WINDOWS, T - self.window_ + 1))
            z, mean, log_std = cut(x, starts, self.window_, self.floor_)
            z_hat = self._decoded(z).reshape(z.shape)
            windows = z_hat * np.maximum(np.exp(log_std) - self.floor_, self.floor_)[:, None, :] + mean[:, None, :]
            for offset in range(self.window_):
                np.add.at(total, starts + offset, windows[:, offset])
                np.add.at(count, starts + offset, 1.0)
        return total / count[:, None]

    def _checked(self, X: Any) -> np.ndarray:
        x = as_series(X)
        if x.shape[1] != self.n_channels_:
            raise DataError(f"the series has {x.shape[1]} channels; the detector was fitted on {self.n_channels_}")
        if len(x) < self.window_:
            raise DataError(
                f"the series has {len(x)} steps, fewer than one window of {self.window_}; "
                f"score a series of at least {self.window_} steps"
            )
        return x

    def _window_terms(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Every window's starts (n,) and raw terms (n,) each, before their scales."""
        from sklearn.neighbors import NearestNeighbors

        T = len(x)
        parts: dict[str, list[np.ndarray]] = {name: [] for name in TERMS}
        code_index = NearestNeighbors(n_neighbors=1).fit(self.code_reference_)
        level_index = NearestNeighbors(n_neighbors=1).fit(self.level_reference_)
        for first in range(0, T - self.window_ + 1, SCORE_WINDOWS):
            starts = np.arange(first, min(first + SCORE_WINDOWS, T - self.window_ + 1))
            z, mean, log_std = cut(x, starts, self.window_, self.floor_)
            recon, codes = self._recon_and_codes(z)
            parts["recon"].append(recon)
            parts["code"].append(code_index.kneighbors(codes)[0][:, 0])
            parts["level"].append(level_index.kneighbors(self._level(x, starts, mean, log_std))[0][:, 0])
        return np.arange(T - self.window_ + 1), {name: np.concatenate(parts[name]) for name in TERMS}

    def _score(self, X: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        check_is_fitted(self, "threshold_")
        x = self._checked(X)
        T = len(x)
        starts, raw = self._window_terms(x)
        scaled = {name: raw[name] / self.scales_[name] for name in TERMS}
        terms = {name: to_steps(scaled[name], starts, self.window_, T, self.aggregation) for name in TERMS}
        if self.aggregation == "mean":
            return sum(terms.values()), terms  # type: ignore[return-value]
        return to_steps(sum(scaled.values()), starts, self.window_, T, "max"), terms  # type: ignore[arg-type]

    def _recon_and_codes(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Squared error per window (n,), in the z-normalised units, and the codes (n, code_dim)."""
        ae = self.autoencoder_
        xs = ae._model_input(self._inputs(z))
        model = ae.model_
        with torch.no_grad():
            codes = map_batches(lambda b: model.encode(b, sample=False).mean, xs)
            recon = map_batches(model.decode, codes)
        error = (recon - xs).pow(2).reshape(len(xs), -1).mean(1)
        return error.numpy().astype(np.float64), codes.numpy().astype(np.float64)

    def _decoded(self, z: np.ndarray) -> np.ndarray:
        """The autoencoder's reconstruction of z-normalised windows, in z-normalised units."""
        return np.asarray(self.autoencoder_.reconstruct(self._inputs(z)), dtype=np.float64)


def _positive(value: float) -> float:
    """``value``, or 1 where it is 0 or not finite (a term the training windows never use)."""
    return float(value) if value > 1e-12 and math.isfinite(value) else 1.0
