"""aekit.SeriesAnomalyDetector: one long recording in, one score per step out.

Small seeded series (a few thousand steps) and short training (a few hundred optimiser
steps) keep each test to seconds; the benchmark (benchmarks/series_anomaly.py) holds the
real numbers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

import aekit
from aekit import SeriesAnomalyDetector
from aekit.errors import ConfigError, DataError, DataTypeError, ModelFileError
from aekit.estimators import series as series_module
from aekit.estimators.series_files import ARRAYS_FILE, SERIES_FILE
from aekit.estimators.series_windows import dominant_period, spans_of, to_steps

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "series"
PERIOD = 25
STEPS = 200  # optimiser steps: enough for a sine, seconds on a laptop


def sine(n: int = 3000, seed: int = 0, channels: int = 1) -> np.ndarray:
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    x = np.stack(
        [np.sin(2 * np.pi * t / PERIOD + c) + 0.3 * np.sin(4 * np.pi * t / PERIOD) for c in range(channels)], 1
    )
    return x + 0.05 * rng.normal(size=x.shape)


def expected_window(period: int) -> int:
    return period * max(series_module.WINDOW_PERIODS, math.ceil(series_module.MIN_AUTO_WINDOW / period))


@pytest.fixture(scope="module")
def fitted():
    return SeriesAnomalyDetector(steps=STEPS).fit(sine()[:, 0])  # (T,): one channel


def with_anomalies(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stuck stretch, a spike and a level shift; labels 1 there."""
    x = x.copy()
    y = np.zeros(len(x), int)
    x[600:660] = x[600]
    y[600:660] = 1
    x[1500:1503] += 4.0
    y[1500:1503] = 1
    x[2300:2400] += 1.5
    y[2300:2400] = 1
    return x, y


def test_the_window_is_whole_periods_found_by_the_autocorrelation(fitted):
    assert fitted.period_ == PERIOD and fitted.window_ == expected_window(PERIOD)
    assert fitted.stride_ == 1 and fitted.n_channels_ == 1
    assert SeriesAnomalyDetector(window=40, steps=50).fit(sine()).window_ == 40  # given, not chosen
    # No period (white noise): the fixed window, at most a quarter of the series.
    noise = np.random.default_rng(0).normal(size=(1000, 1))
    assert dominant_period(noise)[0] is None
    det = SeriesAnomalyDetector(steps=20).fit(noise)
    assert det.period_ is None and det.window_ == min(series_module.NO_PERIOD_WINDOW, 1000 // 4)


@pytest.mark.parametrize("shape", ["(T,)", "(T, 1)"])
def test_one_score_per_step_finds_stuck_spiky_and_shifted_stretches(fitted, shape):
    x, y = with_anomalies(sine(seed=1)[:, 0])
    scores = fitted.anomaly_score(x if shape == "(T,)" else x[:, None])
    assert scores.shape == (len(x),) and np.isfinite(scores).all()
    assert roc_auc_score(y, scores) > 0.95
    flagged = fitted.predict(x)
    assert set(np.unique(flagged)) == {-1, 1}
    for a, b in [(600, 660), (1500, 1503), (2300, 2400)]:  # every anomaly overlaps a flagged span
        assert any(s < b and e > a for s, e in fitted.spans(x))
    assert (flagged[:400] == 1).all()  # the clean start is not flagged


def test_predict_decision_function_spans_and_terms_agree(fitted):
    x, _ = with_anomalies(sine(seed=2)[:, 0])
    scores = fitted.anomaly_score(x)
    assert np.allclose(fitted.decision_function(x), fitted.threshold_ - scores)
    assert np.array_equal(fitted.predict(x) == -1, scores > fitted.threshold_)
    assert fitted.spans(x) == spans_of(scores > fitted.threshold_)
    terms = fitted.terms(x)
    assert set(terms) == {"recon", "code", "level"} and np.allclose(sum(terms.values()), scores)
    assert terms["level"][2300:2400].mean() > 5 * np.median(terms["level"])  # the level shift is the level term's


def test_several_channels_and_a_channel_that_breaks_alone():
    x = sine(channels=3)
    det = SeriesAnomalyDetector(steps=STEPS).fit(x)
    assert det.n_channels_ == 3 and det.period_ == PERIOD
    test = sine(seed=3, channels=3)
    test[1000:1100, 1] *= -1  # one channel inverted
    y = np.zeros(len(test), int)
    y[1000:1100] = 1
    scores = det.anomaly_score(test)
    assert scores.shape == (len(test),) and roc_auc_score(y, scores) > 0.95
    assert det.reconstruct(test).shape == test.shape
    with pytest.raises(DataError, match="2 channels; the detector was fitted on 3"):
        det.anomaly_score(test[:, :2])


def test_reconstruction_follows_the_series(fitted):
    x = sine(seed=4)[:, 0]
    x_hat = fitted.reconstruct(x)
    assert x_hat.shape == (len(x), 1)
    assert np.mean((x_hat[:, 0] - x) ** 2) < 0.1 * np.var(x)


def test_max_aggregation_takes_the_worst_covering_window():
    det = SeriesAnomalyDetector(window=50, aggregation="max", steps=STEPS).fit(sine())
    x, y = with_anomalies(sine(seed=1)[:, 0])
    scores = det.anomaly_score(x)
    assert roc_auc_score(y, scores) > 0.95
    assert np.array_equal(to_steps(np.array([1.0, 5.0, 2.0]), np.arange(3), 2, 4, "max"), [1.0, 5.0, 5.0, 2.0])


def test_save_and_load_round_trip(fitted, tmp_path):
    path = fitted.save(tmp_path / "det")
    assert (path / SERIES_FILE).is_file() and (path / ARRAYS_FILE).is_file()
    again = SeriesAnomalyDetector.load(path)
    x, _ = with_anomalies(sine(seed=5)[:, 0])
    assert np.allclose(again.anomaly_score(x), fitted.anomaly_score(x))
    assert again.window_ == fitted.window_ and again.period_ == fitted.period_ and again.spans(x) == fitted.spans(x)
    assert again.get_params()["window"] == fitted.window_


def test_damaged_detector_files_are_refused_by_name(fitted, tmp_path):
    import shutil

    path = fitted.save(tmp_path / "det")
    raw = bytearray((path / ARRAYS_FILE).read_bytes())
    raw[-3] ^= 0xFF
    copy = shutil.copytree(path, tmp_path / "flipped")
    (copy / ARRAYS_FILE).write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="does not match the SHA-256"):
        SeriesAnomalyDetector.load(copy)
    for key, value, message in [
        ("window", 1, "window=1 must be an integer >= 4"),
        ("threshold", "x", "threshold='x' must be a finite number"),
        ("aggregation", "median", "aggregation='median' is not one of"),
        ("scales", {"recon": 1.0}, "scales must name exactly"),
        ("format", "other", "format 'other'"),
    ]:
        copy = shutil.copytree(path, tmp_path / f"bad-{key}")
        state = json.loads((copy / SERIES_FILE).read_text())
        state[key] = value
        (copy / SERIES_FILE).write_text(json.dumps(state))
        with pytest.raises(ModelFileError, match=message):
            SeriesAnomalyDetector.load(copy)
    copy = shutil.copytree(path, tmp_path / "other-window")
    state = json.loads((copy / SERIES_FILE).read_text())
    state["window"] += 1
    (copy / SERIES_FILE).write_text(json.dumps(state))
    with pytest.raises(ModelFileError, match="does not match the autoencoder"):
        SeriesAnomalyDetector.load(copy)
    (copy / SERIES_FILE).unlink()
    with pytest.raises(ModelFileError, match="not a series anomaly detector"):
        SeriesAnomalyDetector.load(copy)


@pytest.mark.parametrize(
    "x, message",
    [
        (np.r_[np.zeros(100), np.nan, np.zeros(99)], "step 100, channel 0 is NaN"),
        (np.c_[np.zeros(200), np.r_[np.zeros(150), -np.inf, np.zeros(49)]], "step 150, channel 1 is -inf"),
        (np.zeros((10, 4, 2)), r"shape \(10, 4, 2\); a series is one recording of shape \(T,\) or \(T, C\)"),
        (np.zeros(0), "no steps"),
        (np.zeros(12), "the series has 12 steps; window='auto' needs at least 16"),
    ],
)
def test_bad_series_are_named(x, message):
    with pytest.raises(DataError, match=message):
        SeriesAnomalyDetector(steps=10).fit(x)


def test_windows_that_do_not_fit_the_series_are_named(fitted):
    with pytest.raises(DataError, match="the series has 150 steps, fewer than 2 windows of window=100"):
        SeriesAnomalyDetector(window=100, steps=10).fit(np.zeros(150))
    with pytest.raises(DataError, match=rf"the series has 50 steps, fewer than one window of {fitted.window_}"):
        fitted.anomaly_score(sine(50)[:, 0])
    with pytest.raises(DataTypeError, match="holds <U1 values"):
        fitted.anomaly_score(np.array(list("abc")))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"window": 2}, "window=2 must be 'auto' or an integer >= 4"),
        ({"window": "long"}, "window='long' must be 'auto'"),
        ({"window": True}, "window=True"),
        ({"contamination": 0}, "contamination=0 must be a number in"),
        ({"contamination": 0.9}, "contamination=0.9"),
        ({"aggregation": "median"}, "aggregation='median' is not one of: mean, max"),
        ({"code_dim": 0}, "code_dim=0 must be a positive integer"),
        ({"estimator": "ae"}, "estimator must be an aekit.AutoEncoder, got str"),
    ],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(ConfigError, match=message):
        SeriesAnomalyDetector(**options).fit(sine(500))


def test_scikit_learn_conventions_and_a_seed_that_reproduces():
    det = SeriesAnomalyDetector(window=30, code_dim=4, steps=100, random_state=3)
    assert clone(det).get_params() == det.get_params()
    x = sine(800)
    a = det.fit(x)
    assert a is det
    b = clone(det).fit(x)
    assert np.array_equal(a.anomaly_score(x), b.anomaly_score(x))
    given = aekit.AutoEncoder(code_dim=3, steps=50, kind="table")
    own = SeriesAnomalyDetector(window=30, estimator=given).fit(x)
    assert own.autoencoder_ is not given and own.autoencoder_.model_.config.code_dim == 3


def test_a_dataset_and_a_timeeval_file_are_series(tmp_path, fitted):
    x, y = with_anomalies(sine(seed=6)[:, 0])
    path = tmp_path / "s.csv"
    path.write_text("timestamp,value-0,is_anomaly\n" + "".join(f"{t},{float(v)!r},{y[t]}\n" for t, v in enumerate(x)))
    from aekit.data.timeeval import read_timeeval

    expected = fitted.anomaly_score(x.astype(np.float32))
    assert np.allclose(fitted.anomaly_score(read_timeeval(path)), expected)
    assert np.allclose(fitted.anomaly_score(aekit.data.load(path, kind="series")), expected)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/series is not here")
def test_the_shared_ecg_series():
    from aekit.data.timeeval import read_timeeval

    train = read_timeeval(SHARED / "ecg-diff-count-3_TRAIN_NA.csv")
    test = read_timeeval(SHARED / "ecg-diff-count-3_TEST.csv")
    det = SeriesAnomalyDetector(steps=300).fit(train)
    assert det.period_ == 20 and det.window_ == expected_window(20)
    assert roc_auc_score(test.labels, det.anomaly_score(test)) > 0.97  # 300 steps; the benchmark trains the full budget
