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
from aekit.estimators.anomaly_member import KNN_K, Member
from aekit.estimators.autoencoder import AutoEncoder

DETECTOR_FILE = "detector.json"
FORMAT = "aekit-detector-2"  # -1: one autoencoder, its statistics at the top level, "criterion" for "method"


def member_dir(path: Path, i: int) -> Path:
    """Where member ``i`` of a detector saved at ``path`` lives: member 0 in ``path`` itself
    (so the folder still loads as an :class:`AutoEncoder`), the others in ``path/member-i``."""
    return path if i == 0 else path / f"member-{i}"


class DetectorFilesMixin:
    """Adds :meth:`save` and :meth:`load` to the detector."""

    def save(self, path: str | Path) -> Path:
        """Write each member's model directory plus ``detector.json`` (JSON only)."""
        check_is_fitted(self, "members_")
        path = Path(path)
        members = []
        for i, member in enumerate(self.members_):
            member.autoencoder.save(member_dir(path, i))
            state = {
                "recon_scale": member.recon_scale,
                "code_scale": member.code_scale,
                "score_scale": member.score_scale,
                "code_location": member.code_location.tolist(),
                "code_precision": member.code_precision.tolist(),
            }
            if member.knn_reference is not None:  # method="combined_knn"
                state["knn_reference"] = member.knn_reference.tolist()
                state["knn_scale"] = member.knn_scale
            members.append(state)
        state = {
            "format": FORMAT,
            "contamination": self.contamination,
            "holdout_quantile": self.holdout_quantile,
            "method": self.method_,
            "residual_window": self.residual_window_,
            "threshold": self.threshold_,
            "members": members,
        }
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
        >>> det = AnomalyDetector(epochs=2, n_estimators=2).fit(X)
        >>> again = AnomalyDetector.load(det.save(tempfile.mkdtemp() + "/d"))
        >>> bool(np.array_equal(again.anomaly_score(X), det.anomaly_score(X)))
        True
        """
        path = Path(path)
        file = path / DETECTOR_FILE
        ae = AutoEncoder.load(path, trust_code=trust_code)
        if not file.is_file():
            raise ModelFileError(
                f"{file} is missing: {path} is an autoencoder without an anomaly threshold "
                "(fit an aekit.AnomalyDetector to get one)"
            )
        try:
            state = json.loads(file.read_text())
            if not isinstance(state, dict):
                raise TypeError(f"a JSON object is expected, not {type(state).__name__}")
            method = state.get("method", state.get("criterion"))
            saved = state["members"] if "members" in state else [state]  # format 1: one member, top level
            if not isinstance(saved, list) or not 1 <= len(saved) <= 100:
                raise ValueError("'members' must be a list of 1 to 100 members")
            det = cls(
                contamination=state["contamination"],
                holdout_quantile=state.get("holdout_quantile"),
                method=method,
                n_estimators=len(saved),
                # Detectors saved before residual_window existed scored raw residuals.
                residual_window=int(state.get("residual_window", 1)),
            )
            det._check_params()
            det.method_, det.residual_window_ = method, det.residual_window
            det.threshold_ = float(state["threshold"])
            members = []
            for i, s in enumerate(saved):
                member_ae = ae if i == 0 else AutoEncoder.load(member_dir(path, i), trust_code=trust_code)
                member = Member(
                    member_ae,
                    method,
                    det.residual_window_,
                    np.asarray(s["code_location"], dtype=np.float64),
                    np.asarray(s["code_precision"], dtype=np.float64),
                    recon_scale=float(s["recon_scale"]),
                    code_scale=float(s["code_scale"]),
                    score_scale=float(s.get("score_scale", 1.0)),
                )
                if "knn_reference" in s:
                    member.knn_reference = np.asarray(s["knn_reference"], dtype=np.float64)
                    member.knn_scale = float(s["knn_scale"])
                _check_member(member, f"{file} (member {i})")
                members.append(member)
        except (OSError, ValueError, KeyError, TypeError, ConfigError, RecursionError, OverflowError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise ModelFileError(f"{file} is malformed ({reason})") from None
        if not math.isfinite(det.threshold_):
            raise ModelFileError(f"{file}: the threshold {det.threshold_} is not finite")
        det.members_ = members
        det.offset_ = -det.threshold_
        det.autoencoder_ = ae
        det.n_features_in_ = ae.n_features_in_
        det.code_dim = ae.model_.config.code_dim
        if any(m.autoencoder.n_features_in_ != ae.n_features_in_ for m in members):
            raise ModelFileError(f"{file}: the members were trained on inputs of different widths")
        return det


def _check_member(member: Any, where: str) -> None:
    """Refuse statistics that do not fit the member's autoencoder (ModelFileError naming them)."""
    k = member.autoencoder.model_.config.code_dim
    scales = (member.recon_scale, member.code_scale, member.score_scale)
    if (
        member.code_location.shape != (k,)
        or member.code_precision.shape != (k, k)
        or not all(math.isfinite(v) and v > 0 for v in scales)
        or not (np.isfinite(member.code_location).all() and np.isfinite(member.code_precision).all())
    ):
        raise ModelFileError(
            f"{where} does not match the model: it needs a code location of {k} values "
            f"and a {k}x{k} precision matrix, all finite, and positive finite scales"
        )
    reference = member.knn_reference
    if (member.method == "combined_knn") != (reference is not None) or (
        reference is not None
        and (
            reference.ndim != 2
            or reference.shape[1] != k
            or len(reference) <= KNN_K
            or not np.isfinite(reference).all()
            or not (math.isfinite(member.knn_scale) and member.knn_scale > 0)
        )
    ):
        raise ModelFileError(
            f"{where}: method {member.method!r} needs a finite knn_reference of more than {KNN_K} codes of "
            f"{k} values and a positive knn_scale exactly when it is 'combined_knn'"
        )
