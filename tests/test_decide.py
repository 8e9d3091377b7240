"""What the fit decides about the data (kind, scaling, shape, budget), the overrides, and
that the decisions survive save/load and guard transform."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

import aekit
from aekit.config import TrainConfig
from aekit.errors import ConfigError
from aekit.fitting.decide import decide
from aekit.train.budget import default_batch_size, resolve


def _decide(x, **kw):
    flat = x.reshape(len(x), -1)
    args = dict(kind="auto", scaling="auto", input_shape=None, sample_shape=x.shape[1:], source_kind="table")
    args.update(kw)
    integers = bool(np.array_equal(flat, np.round(flat)))
    return decide(low=flat.min(0), high=flat.max(0), integers=integers, **args)


def test_flat_intensities_in_unit_range_are_images_used_as_they_are():
    d = _decide(np.random.default_rng(0).random((20, 64)))
    assert (d.kind, d.scaling, d.input_shape, d.output_range) == ("image", "none", (1, 8, 8), (0.0, 1.0))
    assert any("8x8" in r for r in d.reasons)


def test_integer_intensities_are_divided_by_their_largest_value():
    x = np.random.default_rng(0).integers(0, 256, size=(20, 784)).astype(np.uint8)
    d = _decide(x.astype(np.float32))
    assert (d.kind, d.scaling, d.input_shape, d.value_range) == ("image", "minmax", (1, 28, 28), (0.0, 255.0))


def test_mixed_scale_and_narrow_tables_are_standardised_per_column():
    rng = np.random.default_rng(0)
    mixed = np.column_stack([rng.normal(0, 1, 50), rng.normal(100, 30, 50), rng.random(50)])
    assert _decide(mixed).scaling == "standard" and _decide(mixed).kind == "table"
    # Six columns in [0, 1] (thyroid-like) and 32 small integers (letter-like) are tables, not pixels.
    assert _decide(rng.random((50, 6))).scaling == "standard"
    assert _decide(rng.integers(0, 16, size=(50, 32)).astype(np.float32)).scaling == "standard"


def test_wide_intensities_that_are_not_square_share_one_range_and_stay_flat():
    d = _decide(np.random.default_rng(0).random((10, 3072)))
    assert (d.kind, d.scaling, d.input_shape) == ("table", "none", (3072,))
    told = _decide(np.random.default_rng(0).random((10, 3072)), input_shape=(3, 32, 32))
    assert (told.kind, told.input_shape) == ("image", (3, 32, 32))


def test_overrides_win_and_bad_ones_are_named():
    x = np.random.default_rng(0).random((20, 64))
    assert _decide(x, kind="table").scaling == "standard"
    assert _decide(x, kind="table").input_shape == (64,)
    assert _decide(x, scaling="robust").scaling == "robust"
    assert _decide(x, scaling="minmax").scaling == "minmax"
    with pytest.raises(ConfigError, match="kind='image' on rows of 50 values"):
        _decide(np.random.default_rng(0).random((20, 50)), kind="image")
    with pytest.raises(ConfigError, match="kind='sequnce' is not one of: auto, image, table"):
        _decide(x, kind="sequnce")
    with pytest.raises(ConfigError, match="scaling='zscore' is not one of"):
        aekit.AutoEncoder(scaling="zscore", epochs=1).fit(x)


def test_a_table_of_named_columns_is_always_per_column():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({f"p{i}": np.random.default_rng(i).random(40) for i in range(64)})
    est = aekit.AutoEncoder(code_dim=2, epochs=1).fit(frame)
    assert est.decisions_.kind == "table" and est.decisions_.scaling == "standard"


def test_the_estimator_records_decisions_keeps_the_users_shape_and_saves_them(tmp_path):
    x = (load_digits().data / 16.0).astype(np.float32)
    est = aekit.AutoEncoder(code_dim=4, epochs=2).fit(x)
    assert est.decisions_.input_shape == (1, 8, 8) and est.input_shape_ == (1, 8, 8)
    assert est.reconstruct(x[:3]).shape == (3, 64) and est.inverse_transform(est.transform(x[:3])).shape == (3, 64)
    path = est.save(tmp_path / "m")
    assert json.loads((path / "config.json").read_text())["data"]["decisions"]["scaling"] == "none"
    again = aekit.load(path)
    assert again.decisions_ == est.decisions_ and again.decisions_.budget == est.decisions_.budget
    assert again.reconstruct(x[:3]).shape == (3, 64)
    np.testing.assert_array_equal(again.transform(x), est.transform(x))


def test_transform_warns_with_the_count_when_values_leave_the_assumed_range():
    x = np.random.default_rng(0).random((60, 64)).astype(np.float32)
    est = aekit.AutoEncoder(code_dim=2, epochs=1).fit(x)
    bad = x[:2].copy()
    bad[0, :3] = 5.0
    with pytest.warns(UserWarning, match=r"3 value\(s\) of X lie outside \[0, 1\]"):
        est.transform(bad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.transform(x[:2])  # in range: silent


def test_the_budget_is_counted_in_steps_from_the_rows():
    assert [default_batch_size(n) for n in (100, 1400, 8000, 60000)] == [32, 32, 256, 512]
    small, plan_small = resolve(TrainConfig(), 1260)
    large, plan_large = resolve(TrainConfig(), 54000)
    assert abs(plan_small.steps - 4000) < small.batch_size and abs(plan_large.steps - 4000) < 106
    assert small.epochs > large.epochs and small.patience >= 10
    given, _ = resolve(TrainConfig(epochs=3, batch_size=7, patience=None), 1260)
    assert (given.epochs, given.batch_size, given.patience) == (3, 7, None)
    assert resolve(TrainConfig(steps=100), 1260)[0].epochs == 3  # ceil(100 / 40)


def test_an_explicit_epoch_count_still_wins():
    x = np.random.default_rng(0).random((100, 64)).astype(np.float32)
    est = aekit.AutoEncoder(code_dim=2, epochs=3, patience=None).fit(x)
    assert len(est.history_) == 3 and est.decisions_.budget["epochs"] == 3
