"""The detector on the inputs issue 17 names: NaN and inf, one row, a constant column,
contamination at its limits, more columns than rows."""

from __future__ import annotations

import numpy as np
import pytest

import aekit
from aekit.errors import ConfigError, DataError

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
    det = aekit.AnomalyDetector(criterion="combined_knn", epochs=20, code_dim=2, random_state=0).fit(normal)
    assert det.knn_reference_.shape == (300, 2) and det.knn_scale_ > 0
    between = np.zeros((1, 4), np.float32)
    assert det.anomaly_score(between)[0] > np.quantile(det.anomaly_score(normal), 0.99)
    # The neighbour term itself: far from every training code, while the Gaussian of the codes is centred there.
    _, codes = det._terms(normal)
    _, code = det._terms(between)
    assert det._knn(code)[0] > 3 * np.quantile(det._knn(codes), 0.99)
    again = aekit.AnomalyDetector.load(det.save(tmp_path / "d"))
    np.testing.assert_array_equal(again.anomaly_score(normal), det.anomaly_score(normal))
    plain = aekit.AnomalyDetector(criterion="combined", epochs=2).fit(normal)
    assert (
        plain.knn_reference_ is None and aekit.AnomalyDetector.load(plain.save(tmp_path / "p")).knn_reference_ is None
    )
