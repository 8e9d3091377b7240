"""The detector on the inputs issue 17 names: NaN and inf, one row, a constant column,
contamination at its limits, more columns than rows."""

from __future__ import annotations

import json

import numpy as np
import pytest

import aekit
from aekit.errors import ConfigError, DataError, ModelFileError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(120, 5)).astype(np.float32)


@pytest.mark.parametrize("bad, name", [(np.nan, "NaN"), (np.inf, "inf")])
def test_nonfinite_values_are_named_by_row_and_column_in_fit_and_score(bad, name):
    x = X.copy()
    x[3, 2] = bad
    with pytest.raises(DataError, match=rf"row 3, column 2 is {name}"):
        aekit.AnomalyDetector(epochs=1).fit(x)
    det = aekit.AnomalyDetector(epochs=1).fit(X)
    with pytest.raises(DataError, match=rf"row 3, column 2 is {name}"):
        det.anomaly_score(x)


def test_one_row_is_refused_by_name():
    with pytest.raises(DataError, match="at least 2 samples, got n_samples=1"):
        aekit.AnomalyDetector(epochs=1).fit(X[:1])


@pytest.mark.parametrize("contamination", [0.0, 1.0, -0.1, 0.6])
def test_contamination_outside_its_range_is_refused(contamination):
    with pytest.raises(ConfigError, match=rf"contamination={contamination!r} must be a number in \(0, 0.5\]"):
        aekit.AnomalyDetector(contamination=contamination, epochs=1).fit(X)


def test_a_constant_column_and_more_columns_than_rows_work():
    x = X.copy()
    x[:, 0] = 3.0
    scores = aekit.AnomalyDetector(epochs=2).fit(x).anomaly_score(x)
    assert scores.shape == (120,) and np.isfinite(scores).all()
    wide = RNG.normal(size=(20, 100)).astype(np.float32)
    det = aekit.AnomalyDetector(epochs=2, contamination=0.1).fit(wide)
    assert np.isfinite(det.anomaly_score(wide)).all()
    assert (det.predict(wide) == -1).sum() == 2  # the top tenth of the training scores


def test_the_neighbourhood_criterion_scores_saves_and_loads(tmp_path):
    rng = np.random.default_rng(1)
    # Two clusters; a point between them is near neither, though a Gaussian of the codes centres on it.
    normal = np.concatenate([rng.normal(-4, 0.3, size=(150, 4)), rng.normal(4, 0.3, size=(150, 4))]).astype(np.float32)
    det = aekit.AnomalyDetector(method="combined_knn", epochs=20, code_dim=2, random_state=0).fit(normal)
    member = det.members_[0]
    assert member.knn_reference.shape == (300, 2) and member.knn_scale > 0
    between = np.zeros((1, 4), np.float32)
    assert det.anomaly_score(between)[0] > np.quantile(det.anomaly_score(normal), 0.99)
    # The neighbour term itself: far from every training code, while the Gaussian of the codes is centred there.
    _, codes = member.terms(normal)
    _, code = member.terms(between)
    assert member.knn(code)[0] > 3 * np.quantile(member.knn(codes), 0.99)
    again = aekit.AnomalyDetector.load(det.save(tmp_path / "d"))
    np.testing.assert_array_equal(again.anomaly_score(normal), det.anomaly_score(normal))
    plain = aekit.AnomalyDetector(method="combined", epochs=2).fit(normal)
    again = aekit.AnomalyDetector.load(plain.save(tmp_path / "p"))
    assert plain.members_[0].knn_reference is None and again.members_[0].knn_reference is None


def test_an_ensemble_differs_in_seed_code_and_width_and_round_trips(tmp_path):
    rng = np.random.default_rng(3)
    normal = (rng.normal(size=(300, 4)) @ rng.normal(size=(4, 12))).astype(np.float32)
    odd = normal[:10] + rng.normal(0, 3, size=(10, 12)).astype(np.float32)
    det = aekit.AnomalyDetector(n_estimators=3, code_dim=4, epochs=10, contamination=0.05).fit(normal)
    configs = [m.autoencoder.model_.config for m in det.members_]
    assert [c.code_dim for c in configs] == [4, 2, 6]
    assert configs[0].hidden is None and configs[1].hidden == (32, 32) and configs[2].hidden == (8, 8)
    assert [m.autoencoder.random_state for m in det.members_] == [0, 1, 2]
    # Each member's score is in units of its own training median, and the detector's is their mean.
    for m in det.members_:
        assert np.median(m.score(normal)) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(det.anomaly_score(odd), np.mean([m.score(odd) for m in det.members_], axis=0))
    assert det.anomaly_score(odd).min() > np.quantile(det.anomaly_score(normal), 0.9)
    assert abs((det.predict(normal) == -1).mean() - 0.05) < 0.01
    assert det.explain(odd).shape == (10, 12)
    path = det.save(tmp_path / "ens")
    assert (path / "member-1").is_dir() and (path / "member-2").is_dir()
    again = aekit.AnomalyDetector.load(path)
    assert again.n_estimators == 3
    np.testing.assert_array_equal(again.anomaly_score(odd), det.anomaly_score(odd))
    # A member whose statistics do not fit its network is refused by number.
    state = json.loads((path / "detector.json").read_text())
    state["members"][2]["code_precision"] = [[1.0]]
    (path / "detector.json").write_text(json.dumps(state))
    with pytest.raises(ModelFileError, match=r"member 2\) does not match the model"):
        aekit.AnomalyDetector.load(path)


def test_a_given_estimator_is_cloned_with_its_seed_shifted_per_member():
    template = aekit.AutoEncoder(code_dim=2, epochs=2, random_state=7)
    det = aekit.AnomalyDetector(estimator=template, n_estimators=2).fit(X)
    assert [m.autoencoder.random_state for m in det.members_] == [7, 8]
    assert [m.autoencoder.model_.config.code_dim for m in det.members_] == [2, 2]


def test_criterion_is_a_deprecated_name_of_method_and_older_files_load(tmp_path):
    with pytest.warns(FutureWarning, match="criterion='reconstruction' is deprecated: use method='reconstruction'"):
        det = aekit.AnomalyDetector(criterion="reconstruction", epochs=2).fit(X)
    assert det.method_ == "reconstruction"
    det = aekit.AnomalyDetector(epochs=2, n_estimators=1).fit(X)
    path = det.save(tmp_path / "d")
    # The first format: one autoencoder, its statistics at the top level, the method called criterion.
    state = json.loads((path / "detector.json").read_text())
    old = {k: v for k, v in state.items() if k not in ("members", "method", "format")}
    old.update({"format": "aekit-detector-1", "criterion": state["method"]})
    old.update({k: v for k, v in state["members"][0].items() if k != "score_scale"})
    (path / "detector.json").write_text(json.dumps(old))
    again = aekit.AnomalyDetector.load(path)
    assert again.method_ == "combined_knn"
    np.testing.assert_array_equal(again.anomaly_score(X), det.anomaly_score(X))


def test_trim_trains_later_members_on_the_rows_the_earlier_ones_find_normal():
    rng = np.random.default_rng(4)
    normal = (rng.normal(size=(180, 3)) @ rng.normal(size=(3, 8))).astype(np.float32)
    outliers = rng.normal(0, 6, size=(20, 8)).astype(np.float32)
    x = np.concatenate([normal, outliers])
    det = aekit.AnomalyDetector(n_estimators=2, trim=0.1, epochs=20, code_dim=3).fit(x)
    first, second = det.members_
    assert len(first.knn_reference) == 200 and len(second.knn_reference) == 180
    # The second member never saw most of the outliers, and every row still sets the threshold.
    codes = second.terms(outliers)[1]
    assert np.isin(codes, second.knn_reference).all(1).sum() <= 5
    assert abs((det.predict(x) == -1).mean() - 0.1) < 0.01
    with pytest.raises(ConfigError, match=r"trim=0.5 must be a number in \[0, 0.5\)"):
        aekit.AnomalyDetector(trim=0.5).fit(x)
