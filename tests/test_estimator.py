"""The scikit-learn facade: the estimator contract, Pipeline, clone, GridSearchCV,
scikit-learn's own estimator checks, PCA beside every result, and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import check_estimator

import aekit
from aekit.data import load
from aekit.errors import ConfigError, DataError

# Checks we skip, and why. Everything else in scikit-learn's suite must pass.
SKIPPED_CHECKS = {
    "check_array_api_input": "needs SCIPY_ARRAY_API; aekit computes with torch, not the array API",
}


def test_scikit_learn_estimator_checks():
    est = aekit.AutoEncoder(code_dim=2, epochs=2, batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(est, on_fail=None)
    failed = [
        (r["check_name"], str(r["exception"])[:200])
        for r in results
        if r["status"] == "failed" and r["check_name"] not in SKIPPED_CHECKS
    ]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) >= 40


def test_init_stores_params_and_fit_learns_underscored(images):
    est = aekit.AutoEncoder(code_dim=4, epochs=2, hidden=[32])
    assert est.get_params()["hidden"] == [32]
    assert est.fit(images) is est
    for name in ("model_", "pca_", "preprocessing_", "history_", "input_shape_", "n_features_in_"):
        assert hasattr(est, name)
    assert est.input_shape_ == (1, 8, 8) and est.n_features_in_ == 64


def test_clone_gives_an_unfitted_twin(images):
    est = aekit.AutoEncoder(code_dim=4, epochs=2).fit(images)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "model_")


def test_pipeline_codes_feed_a_classifier():
    ds = load("builtin:digits")
    train, test = ds.split(test_size=0.25, seed=0)
    pipe = make_pipeline(
        aekit.AutoEncoder(code_dim=16, epochs=30, batch_size=64, input_shape=(1, 8, 8)),
        LogisticRegression(max_iter=2000),
    )
    pipe.fit(train.flat(), train.y)
    accuracy = pipe.score(test.flat(), test.y)
    assert accuracy > 0.9, accuracy


def test_grid_search_prefers_the_larger_code(images):
    search = GridSearchCV(aekit.AutoEncoder(epochs=5, batch_size=32), {"code_dim": [1, 6]}, cv=2)
    search.fit(images.reshape(len(images), -1))
    assert search.best_params_ == {"code_dim": 6}


def test_transform_is_deterministic_and_shapes_follow_input(images):
    est = aekit.AutoEncoder(code_dim=3, epochs=2).fit(images)
    assert np.array_equal(est.transform(images), est.transform(images))
    assert est.transform(images).shape == (200, 3)
    assert est.reconstruct(images).shape == images.shape
    assert est.inverse_transform(est.transform(images)).shape == images.shape
    assert est.reconstruction_error(images).shape == (200,)
    assert est.score(images) == pytest.approx(-est.reconstruction_error(images).mean())


def test_same_seed_same_codes(images):
    a = aekit.AutoEncoder(code_dim=3, epochs=3, random_state=7).fit(images)
    b = aekit.AutoEncoder(code_dim=3, epochs=3, random_state=7).fit(images)
    assert np.array_equal(a.transform(images), b.transform(images))


def test_evaluate_reports_pca_beside_the_model(images):
    train, test = images[:150], images[150:]
    est = aekit.AutoEncoder(code_dim=3, epochs=20, batch_size=32).fit(train)
    metrics = est.evaluate(test)
    flat_train, flat_test = train.reshape(150, -1), test.reshape(50, -1)
    pca = PCA(3).fit(flat_train)
    expected = ((pca.inverse_transform(pca.transform(flat_test)) - flat_test) ** 2).mean()
    assert metrics["pca_mse"] == pytest.approx(expected, rel=1e-3)
    assert metrics["mse"] == pytest.approx(est.reconstruction_error(test).mean())
    assert metrics["gain_vs_pca"] == pytest.approx(1 - metrics["mse"] / metrics["pca_mse"])
    assert metrics["mse"] < metrics["pca_mse"]  # the PCA warm start means training can only improve on PCA
    assert metrics["compression_ratio"] == 64 / 3


def test_tables_are_standardised_and_returned_in_their_units(table):
    est = aekit.AutoEncoder(code_dim=3, epochs=30, batch_size=32).fit(table)
    recon = est.reconstruct(table)
    assert recon.shape == table.shape
    # per-column error relative to the column's spread: every column is modelled, whatever its units
    rel = ((recon - table) ** 2).mean(0) / table.var(0)
    assert rel.max() < 0.2, rel
    np.testing.assert_allclose(est.preprocessing_.shift, table.mean(0), rtol=1e-4)


def test_flat_rows_as_images_with_input_shape():
    ds = load("builtin:digits", limit=300)
    est = aekit.AutoEncoder(code_dim=4, epochs=1, arch="conv", input_shape=(1, 8, 8)).fit(ds.flat())
    assert est.input_shape_ == (1, 8, 8) and est.reconstruct(ds.flat()).shape == (300, 1, 8, 8)


def test_variant_presets_and_overrides(images):
    assert aekit.AutoEncoder(variant="linear").model_config((64,)).arch == "linear"
    assert aekit.AutoEncoder(variant="linear", arch="mlp").model_config((64,)).arch == "mlp"
    with pytest.raises(ConfigError, match="unknown variant 'vae2'"):
        aekit.AutoEncoder(variant="vae2").fit(images)


# -- bad input ----------------------------------------------------------------------------
def test_nan_names_row_and_column(table):
    table = table.copy()
    table[17, 3] = np.nan
    with pytest.raises(DataError, match=r"row 17, column 3 is NaN"):
        aekit.AutoEncoder(epochs=1).fit(table)


def test_inf_is_refused(table):
    table = table.copy()
    table[2, 0] = np.inf
    with pytest.raises(DataError, match=r"row 2, column 0 is inf"):
        aekit.AutoEncoder(epochs=1).fit(table)


def test_empty_and_one_sample(table):
    with pytest.raises(DataError, match="no samples"):
        aekit.AutoEncoder(code_dim=2, epochs=1).fit(table[:0])
    with pytest.raises(DataError, match="n_samples=1"):
        aekit.AutoEncoder(code_dim=2, epochs=1).fit(table[:1])


def test_model_applied_to_data_of_another_shape(images):
    est = aekit.AutoEncoder(code_dim=2, epochs=1).fit(images)
    with pytest.raises(DataError, match=r"X has 144 features, but AutoEncoder is expecting 64 features.*\(1, 8, 8\)"):
        est.transform(np.zeros((3, 1, 12, 12), np.float32))


def test_0_255_images_warn(images):
    with pytest.warns(UserWarning, match="look like 0-255"):
        aekit.AutoEncoder(code_dim=2, epochs=1).fit(images * 255)


def test_bce_needs_unit_interval(table):
    with pytest.raises(DataError, match=r"loss='bce' needs inputs in \[0, 1\]"):
        aekit.AutoEncoder(loss="bce", epochs=1).fit(table)


def test_bad_codes_for_inverse_transform(images):
    est = aekit.AutoEncoder(code_dim=2, epochs=1).fit(images)
    with pytest.raises(DataError, match=r"codes must have shape \(n, 2\)"):
        est.inverse_transform(np.zeros((3, 5)))
