"""AnomalyDetector: scikit-learn's outlier-detector contract, and detection with numbers."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import check_estimator

import aekit
from aekit import AnomalyDetector
from aekit.errors import ConfigError, ModelFileError

ADBENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "adbench"


def test_scikit_learn_outlier_detector_checks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(AnomalyDetector(epochs=2, batch_size=16), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:300]) for r in results if r["status"] == "failed"]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) >= 30


def plane_data(n: int, seed: int) -> np.ndarray:
    """Rows on a 2-D plane in 6-D with a little noise, (n, 6)."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(np.random.default_rng(99).normal(size=(6, 6)))[0][:, :2]
    return (rng.normal(size=(n, 2)) @ basis.T + 0.05 * rng.normal(size=(n, 6))).astype(np.float32), basis


def test_off_the_plane_and_far_along_it_are_both_caught_by_the_combined_score():
    x, basis = plane_data(600, 0)
    normal, _ = plane_data(200, 1)
    rng = np.random.default_rng(2)
    off_plane = normal[:20] + 1.5 * rng.normal(size=(20, 6)).astype(np.float32) @ (np.eye(6) - basis @ basis.T)
    far_along = (8.0 * rng.normal(size=(20, 2)) @ basis.T).astype(np.float32)  # reconstructs perfectly
    test = np.vstack([normal, off_plane, far_along])
    y = np.r_[np.zeros(200), np.ones(40)]
    combined = AnomalyDetector(code_dim=2, epochs=30, contamination=0.05).fit(x)
    recon_only = AnomalyDetector(code_dim=2, epochs=30, contamination=0.05, method="reconstruction").fit(x)
    auc = roc_auc_score(y, combined.anomaly_score(test))
    far_auc_recon = roc_auc_score(
        np.r_[np.zeros(200), np.ones(20)], recon_only.anomaly_score(np.vstack([normal, far_along]))
    )
    assert auc > 0.99
    assert far_auc_recon < 0.8  # the reconstruction error alone misses what the code keeps
    flags = combined.predict(test)
    assert (flags[200:] == -1).mean() > 0.95 and (flags[:200] == 1).mean() > 0.85


def test_contamination_sets_the_share_flagged_on_the_training_data():
    x, _ = plane_data(500, 0)
    det = AnomalyDetector(epochs=5, contamination=0.1).fit(x)
    assert abs((det.predict(x) == -1).mean() - 0.1) < 0.01
    np.testing.assert_array_equal(det.decision_function(x), det.score_samples(x) - det.offset_)
    np.testing.assert_array_equal(det.score_samples(x), -det.anomaly_score(x))
    assert det.threshold_ == -det.offset_


def test_explain_points_at_the_broken_column():
    x, _ = plane_data(500, 0)
    det = AnomalyDetector(code_dim=2, epochs=30, n_estimators=1).fit(x)
    broken = x[:10].copy()
    broken[:, 4] += 3.0
    per_feature = det.explain(broken)
    assert per_feature.shape == (10, 6)
    assert (per_feature.argmax(1) == 4).all()
    recon, _ = det.members_[0].terms(broken)
    np.testing.assert_allclose(per_feature.sum(1), recon)


def test_image_explanations_are_heat_maps_and_a_vae_scores_deterministically(images):
    det = AnomalyDetector(variant="vae", epochs=3).fit(images)
    assert det.explain(images[:4]).shape == (4, 1, 8, 8)
    np.testing.assert_array_equal(det.anomaly_score(images), det.anomaly_score(images))


def test_default_code_size_is_a_quarter_of_the_features_within_2_and_32():
    for n_features, expected in [(6, 2), (36, 9), (784, 32)]:
        x = np.random.default_rng(0).normal(size=(40, n_features)).astype(np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            det = AnomalyDetector(epochs=1).fit(x)
        assert det.autoencoder_.model_.config.code_dim == expected


def test_a_given_autoencoder_is_cloned_and_trained():
    x, _ = plane_data(200, 0)
    template = aekit.AutoEncoder(code_dim=3, epochs=2)
    det = AnomalyDetector(estimator=template).fit(x)
    assert det.autoencoder_ is not template and not hasattr(template, "model_")
    assert det.members_[0].code_location.shape == (3,)


def test_save_and_load_round_trip_and_refuse_bad_files(tmp_path):
    x, _ = plane_data(200, 0)
    det = AnomalyDetector(epochs=2).fit(x)
    path = det.save(tmp_path / "det")
    again = AnomalyDetector.load(path)
    np.testing.assert_array_equal(again.anomaly_score(x), det.anomaly_score(x))
    np.testing.assert_array_equal(again.predict(x), det.predict(x))
    state = json.loads((path / "detector.json").read_text())
    state["members"][0]["code_location"] = [0.0]
    (path / "detector.json").write_text(json.dumps(state))
    with pytest.raises(ModelFileError, match="does not match the model"):
        AnomalyDetector.load(path)
    (path / "detector.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="detector.json is malformed"):
        AnomalyDetector.load(path)
    plain = aekit.AutoEncoder(code_dim=2, epochs=1).fit(x).save(tmp_path / "plain")
    with pytest.raises(ModelFileError, match="without an anomaly threshold"):
        AnomalyDetector.load(plain)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(contamination=0.0), r"contamination=0.0 must be a number in \(0, 0.5\]"),
        (dict(contamination=0.7), r"contamination=0.7 must be"),
        (dict(method="mahalanobis"), r"method='mahalanobis' is not one of: combined_knn, combined, reconstruction"),
        (dict(criterion="mahalanobis"), r"criterion='mahalanobis' is not one of"),
        (dict(n_estimators=0), r"n_estimators=0 must be an integer from 1 to 100"),
        (dict(code_dim=0), r"code_dim=0 must be a positive integer or None"),
        (dict(estimator="ae"), r"estimator must be an aekit.AutoEncoder"),
        (dict(residual_window=2), r"residual_window=2 must be 'auto' or an odd positive integer"),
        (dict(residual_window="wide"), r"residual_window='wide' must be"),
        (dict(residual_window=3), r"residual_window=3 needs images \(n, C, H, W\); these samples have shape \(4,\)"),
    ],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(ConfigError, match=message):
        AnomalyDetector(**options).fit(np.zeros((20, 4), np.float32))


def _box_mean(r: np.ndarray, w: int) -> np.ndarray:
    """Each pixel's mean over the w x w window around it, inside the image only; loops, (H, W)."""
    h, wd = r.shape
    out = np.empty_like(r)
    for i in range(h):
        for j in range(wd):
            out[i, j] = r[max(0, i - w // 2) : i + w // 2 + 1, max(0, j - w // 2) : j + w // 2 + 1].mean()
    return out


def test_image_residuals_are_averaged_over_the_window_before_they_are_squared(images):
    det = AnomalyDetector(epochs=2, n_estimators=1).fit(images)
    assert det.residual_window_ == 3  # "auto" on images
    residual = det.autoencoder_.reconstruct(images[:3]) - images[:3]  # pixels in [0, 1]: no scaling
    expected = np.stack([_box_mean(r[0], 3) ** 2 for r in residual])[:, None]
    np.testing.assert_allclose(det.explain(images[:3]), expected, rtol=1e-4, atol=1e-9)
    raw = AnomalyDetector(epochs=2, residual_window=1, n_estimators=1).fit(images)
    np.testing.assert_allclose(
        raw.explain(images[:3]), (raw.autoencoder_.reconstruct(images[:3]) - images[:3]) ** 2, rtol=1e-4, atol=1e-9
    )
    x, _ = plane_data(100, 0)
    assert AnomalyDetector(epochs=1).fit(x).residual_window_ == 1  # "auto" on vectors


def test_the_window_is_saved_and_older_detector_files_load_with_raw_residuals(images, tmp_path):
    det = AnomalyDetector(epochs=2, residual_window=5).fit(images)
    path = det.save(tmp_path / "det")
    again = AnomalyDetector.load(path)
    assert again.residual_window_ == 5
    np.testing.assert_array_equal(again.anomaly_score(images), det.anomaly_score(images))
    state = json.loads((path / "detector.json").read_text())
    del state["residual_window"]
    (path / "detector.json").write_text(json.dumps(state))
    assert AnomalyDetector.load(path).residual_window_ == 1


@pytest.mark.skipif(not ADBENCH.is_dir(), reason=f"ADBench sets not found at {ADBENCH}")
def test_breast_cancer_anomalies_are_found_without_labels():
    data = np.load(ADBENCH / "4_breastw.npz")
    x_train, x_test, _, y_test = train_test_split(
        data["X"], data["y"], test_size=0.3, stratify=data["y"], random_state=0
    )
    det = AnomalyDetector(random_state=0).fit(x_train.astype(np.float32))
    assert roc_auc_score(y_test, det.anomaly_score(x_test.astype(np.float32))) > 0.95


def mixed_frame(n: int, seed: int):
    """A table whose 'kind' column follows the sign of 'size'; 'height' is twice 'size'."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    size = rng.normal(size=n)
    return pd.DataFrame(
        {"size": size, "height": 2 * size + 0.1 * rng.normal(size=n), "kind": np.where(size > 0, "large", "small")}
    )


def test_tables_with_categories_and_gaps_are_scored_and_explained_by_column():
    train = mixed_frame(600, 0)
    det = AnomalyDetector(epochs=30, contamination=0.05).fit(train)
    assert det.feature_names() == ["size", "height", "kind"]
    test = mixed_frame(200, 1)
    odd = test.copy()
    odd["kind"] = np.where(odd["kind"] == "large", "small", "large")  # the wrong kind for the size
    scores = det.anomaly_score(pd_concat([test, odd]))
    y = np.r_[np.zeros(200), np.ones(200)]
    assert roc_auc_score(y, scores) > 0.95
    per_column = det.explain(odd)
    assert per_column.shape == (200, 3)
    assert (per_column.argmax(1) == 2).mean() > 0.9  # the kind column carries the error
    holes = test.copy()
    holes.loc[::5, "height"] = np.nan
    with_gaps = det.anomaly_score(holes)
    assert np.isfinite(with_gaps).all()
    assert np.isnan(det.explain(holes)[::5, 1]).all()


def test_a_detector_trained_with_gaps_scores_rows_with_gaps_like_complete_ones():
    train = mixed_frame(1000, 0)
    train.loc[::4, "height"] = np.nan  # a quarter of the heights missing in training too
    det = AnomalyDetector(epochs=40).fit(train)
    test = mixed_frame(400, 1)
    holes = test.copy()
    holes.loc[::2, "height"] = np.nan
    # Missing cells are left out and the observed error is scaled to the full width.
    complete, gapped = det.anomaly_score(test)[::2], det.anomaly_score(holes)[::2]
    assert np.median(gapped) < 2 * np.median(complete)


def pd_concat(frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def test_a_held_out_quantile_sets_the_threshold_from_rows_the_model_never_saw():
    x, _ = plane_data(1000, 0)
    det = AnomalyDetector(code_dim=2, epochs=20, holdout_quantile=0.95).fit(x)
    new, _ = plane_data(2000, 5)
    flagged = (det.predict(new) == -1).mean()
    assert 0.02 < flagged < 0.10  # about 5 % of new normal rows
    assert len(det.autoencoder_.history_) > 0
    with pytest.raises(ConfigError, match=r"holdout_quantile=1.5 must be None or a number in \(0, 1\)"):
        AnomalyDetector(holdout_quantile=1.5).fit(x)
    with pytest.raises(ConfigError, match="needs at least 20 rows"):
        AnomalyDetector(holdout_quantile=0.9).fit(x[:10])
