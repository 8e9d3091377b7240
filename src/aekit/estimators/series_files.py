"""Saving and loading a :class:`~aekit.SeriesAnomalyDetector`: the autoencoder's model
directory (:mod:`aekit.io`, safetensors + JSON), plus ``series_detector.json`` (the
window, threshold and scales, every value checked on load) and
``series_detector.safetensors`` (the training windows' codes and level features, its
SHA-256 recorded in the JSON). Nothing is unpickled. A mixin, so the detector reads in
one sitting.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from aekit._atomic import atomic_write_bytes, atomic_write_text
from aekit.errors import ConfigError, ModelFileError
from aekit.estimators.autoencoder import AutoEncoder
from aekit.estimators.series_windows import AGGREGATIONS, MIN_WINDOW, TERMS

SERIES_FILE = "series_detector.json"
ARRAYS_FILE = "series_detector.safetensors"
FORMAT = "aekit-series-detector-1"
_ARRAYS = ("code_reference", "level_reference", "floor", "level_location", "level_scale")


def is_series_detector(path: str | Path) -> bool:
    """Whether ``path`` is a directory written by :meth:`SeriesAnomalyDetector.save`."""
    return (Path(path) / SERIES_FILE).is_file()


class SeriesFilesMixin:
    """Adds :meth:`save` and :meth:`load` to the series detector."""

    def save(self, path: str | Path) -> Path:
        """Write the autoencoder's model directory plus the detector's JSON and arrays.

        Returns the directory. Every file is written atomically.
        """
        from safetensors.numpy import save as st_save

        check_is_fitted(self, "threshold_")
        path = self.autoencoder_.save(path)
        payload = st_save({name: np.ascontiguousarray(getattr(self, name + "_"), np.float64) for name in _ARRAYS})
        atomic_write_bytes(path / ARRAYS_FILE, payload)
        state = {
            "format": FORMAT,
            "window": self.window_,
            "period": self.period_,
            "stride": self.stride_,
            "n_channels": self.n_channels_,
            "n_train_steps": self.n_train_steps_,
            "contamination": self.contamination,
            "aggregation": self.aggregation,
            "threshold": self.threshold_,
            "scales": self.scales_,
            "sha256": hashlib.sha256(payload).hexdigest(),
        }
        atomic_write_text(path / SERIES_FILE, json.dumps(state, indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path, trust_code: Any = None) -> Any:
        """Load a directory written by :meth:`save`; nothing is unpickled (``trust_code``:
        as for :meth:`AutoEncoder.load`).

        Examples
        --------
        >>> import tempfile
        >>> from aekit import SeriesAnomalyDetector
        >>> x = np.sin(np.arange(600) / 3.0)
        >>> det = SeriesAnomalyDetector(window=20, steps=50).fit(x)
        >>> again = SeriesAnomalyDetector.load(det.save(tempfile.mkdtemp() + "/d"))
        >>> bool(np.allclose(again.anomaly_score(x), det.anomaly_score(x)))
        True
        """
        from safetensors import SafetensorError
        from safetensors.numpy import load as st_load

        path = Path(path)
        ae = AutoEncoder.load(path, trust_code=trust_code)
        file, arrays_file = path / SERIES_FILE, path / ARRAYS_FILE
        if not file.is_file():
            raise ModelFileError(
                f"{file} is missing: {path} is not a series anomaly detector "
                "(fit an aekit.SeriesAnomalyDetector, or `aekit detect-series`, to get one)"
            )
        try:
            state = json.loads(file.read_text())
            if state.get("format") != FORMAT:
                raise ValueError(f"format {state.get('format')!r} is not {FORMAT!r}")
            det = cls(contamination=state["contamination"], aggregation=state["aggregation"])
            det._check_params()
            det.window_ = _integer(state["window"], MIN_WINDOW, "window")
            det.window = det.window_
            det.period_ = None if state["period"] is None else _integer(state["period"], 1, "period")
            det.stride_ = _integer(state["stride"], 1, "stride")
            det.n_channels_ = _integer(state["n_channels"], 1, "n_channels")
            det.n_train_steps_ = _integer(state["n_train_steps"], 1, "n_train_steps")
            det.threshold_ = _finite(state["threshold"], "threshold")
            scales = state["scales"]
            if not isinstance(scales, dict) or sorted(scales) != sorted(TERMS):
                raise ValueError(f"scales must name exactly {', '.join(TERMS)}")
            det.scales_ = {name: _finite(scales[name], f"scale {name}") for name in TERMS}
            raw = arrays_file.read_bytes()
            if hashlib.sha256(raw).hexdigest() != state["sha256"]:
                raise ValueError(f"{ARRAYS_FILE} does not match the SHA-256 recorded in {SERIES_FILE}")
            arrays = st_load(raw)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ConfigError, RecursionError) as exc:
            raise ModelFileError(f"{file} is malformed ({exc})") from None
        except SafetensorError as exc:
            raise ModelFileError(f"{arrays_file} is not a readable safetensors file ({exc})") from None
        for name in _ARRAYS:
            if name not in arrays:
                raise ModelFileError(f"{arrays_file} lacks the array {name!r}")
            setattr(det, name + "_", arrays[name])
        C, k = det.n_channels_, ae.model_.config.code_dim
        expected = {
            "code_reference": (None, k),
            "level_reference": (None, 2 * C),
            "floor": (C,),
            "level_location": (2 * C,),
            "level_scale": (2 * C,),
        }
        for name, shape in expected.items():
            a = arrays[name]
            if a.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, a.shape)):
                raise ModelFileError(f"{arrays_file}: {name} has shape {a.shape}, the model needs {shape}")
            if not np.isfinite(a).all() or (name in ("floor", "level_scale") and not (a > 0).all()):
                raise ModelFileError(f"{arrays_file}: {name} holds values that are not finite (or not positive)")
        if len(det.code_reference_) < 1 or len(det.level_reference_) < 1:
            raise ModelFileError(f"{arrays_file}: the reference windows are empty")
        if det.window_ * C != ae.n_features_in_:
            raise ModelFileError(
                f"{file}: a window of {det.window_} steps x {C} channels does not match the autoencoder's "
                f"{ae.n_features_in_} inputs"
            )
        if det.aggregation not in AGGREGATIONS or min(det.scales_.values()) <= 0:
            raise ModelFileError(f"{file}: the scales must be positive")
        det.offset_ = -det.threshold_
        det.autoencoder_ = ae
        det.code_dim = k
        return det


def _integer(value: Any, low: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}={value!r} must be an integer >= {low}")
    return value


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}={value!r} must be a finite number")
    return float(value)
