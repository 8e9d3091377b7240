"""Saving and loading an :class:`~aekit.AnomalyDetector`: the autoencoder's model directory
plus ``detector.json`` (JSON only, every value checked on load). A mixin, so the detector
reads in one sitting."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from aekit._atomic import atomic_write_text
from aekit.errors import ConfigError, ModelFileError
from aekit.estimators.autoencoder import AutoEncoder

DETECTOR_FILE = "detector.json"
KNN_K = 5  # the k-th nearest training code gives the neighbourhood term (criterion="combined_knn")


class DetectorFilesMixin:
    """Adds :meth:`save` and :meth:`load` to the detector."""

    def save(self, path: str | Path) -> Path:
        """Write the autoencoder's model directory plus ``detector.json`` (JSON only)."""
        check_is_fitted(self, "threshold_")
        path = self.autoencoder_.save(path)
        state = {
            "format": "aekit-detector-1",
            "contamination": self.contamination,
            "holdout_quantile": self.holdout_quantile,
            "criterion": self.criterion,
            "residual_window": self.residual_window_,
            "threshold": self.threshold_,
            "recon_scale": self.recon_scale_,
            "code_scale": self.code_scale_,
            "code_location": self.code_location_.tolist(),
            "code_precision": self.code_precision_.tolist(),
        }
        if getattr(self, "knn_reference_", None) is not None:  # criterion="combined_knn"
            state["knn_reference"] = self.knn_reference_.tolist()
            state["knn_scale"] = self.knn_scale_
        atomic_write_text(path / DETECTOR_FILE, json.dumps(state, indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path, trust_code: Any = None) -> Any:
        """Load a directory written by :meth:`save`; nothing is unpickled (``trust_code``:
        as for :meth:`AutoEncoder.load`, the modules own networks may be imported from).

        Examples
        --------
        >>> import tempfile
        >>> X = np.random.default_rng(0).normal(size=(100, 6))
        >>> from aekit import AnomalyDetector
        >>> det = AnomalyDetector(epochs=2).fit(X)
        >>> again = AnomalyDetector.load(det.save(tempfile.mkdtemp() + "/d"))
        >>> bool(np.array_equal(again.anomaly_score(X), det.anomaly_score(X)))
        True
        """
        path = Path(path)
        ae = AutoEncoder.load(path, trust_code=trust_code)
        file = path / DETECTOR_FILE
        if not file.is_file():
            raise ModelFileError(
                f"{file} is missing: {path} is an autoencoder without an anomaly threshold "
                "(fit an aekit.AnomalyDetector to get one)"
            )
        try:
            state = json.loads(file.read_text())
            det = cls(
                contamination=state["contamination"],
                holdout_quantile=state.get("holdout_quantile"),
                criterion=state["criterion"],
            )
            det._check_params()
            # Detectors saved before residual_window existed scored raw residuals.
            det.residual_window_ = int(state.get("residual_window", 1))
            det.residual_window = det.residual_window_
            det._check_params()
            det.threshold_ = float(state["threshold"])
            det.recon_scale_ = float(state["recon_scale"])
            det.code_scale_ = float(state["code_scale"])
            det.code_location_ = np.asarray(state["code_location"], dtype=np.float64)
            det.code_precision_ = np.asarray(state["code_precision"], dtype=np.float64)
            det.knn_reference_ = None
            if "knn_reference" in state:
                det.knn_reference_ = np.asarray(state["knn_reference"], dtype=np.float64)
                det.knn_scale_ = float(state["knn_scale"])
        except (OSError, ValueError, KeyError, TypeError, ConfigError, RecursionError, OverflowError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise ModelFileError(f"{file} is malformed ({reason})") from None
        k = ae.model_.config.code_dim
        if (
            det.code_location_.shape != (k,)
            or det.code_precision_.shape != (k, k)
            or not all(math.isfinite(v) for v in (det.threshold_, det.recon_scale_, det.code_scale_))
            or not (np.isfinite(det.code_location_).all() and np.isfinite(det.code_precision_).all())
        ):
            raise ModelFileError(
                f"{file} does not match the model: it needs a code location of {k} values "
                f"and a {k}x{k} precision matrix, all finite, and finite scales"
            )
        reference = det.knn_reference_
        if (det.criterion == "combined_knn") != (reference is not None) or (
            reference is not None
            and (
                reference.ndim != 2
                or reference.shape[1] != k
                or len(reference) <= KNN_K
                or not np.isfinite(reference).all()
                or not (math.isfinite(det.knn_scale_) and det.knn_scale_ > 0)
            )
        ):
            raise ModelFileError(
                f"{file}: criterion {det.criterion!r} needs a finite knn_reference of more than {KNN_K} codes of "
                f"{k} values and a positive knn_scale exactly when it is 'combined_knn'"
            )
        det.offset_ = -det.threshold_
        det.autoencoder_ = ae
        det.n_features_in_ = ae.n_features_in_
        det.code_dim = k
        return det
