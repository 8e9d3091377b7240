"""The explorer's Session: every answer equals what the public estimator API returns, and
every bad request is refused with a message naming the value and what is allowed."""

from __future__ import annotations

import math

import numpy as np
import pytest

import aekit
from aekit.data import Dataset, shapes12_presets
from aekit.errors import AekitError, ConfigError
from aekit.explorer import RequestError, Session, default_models, open_session
from aekit.explorer.session import MAX_ABS_CODE, MAX_DECODE, MAX_GRID

MAX_POINTS = 120  # the session fixture (conftest.py) shows this many points


def test_meta_describes_data_models_and_limits(session):
    meta = session.meta()
    assert meta["dataset"]["sample_shape"] == [1, 12, 12] and meta["dataset"]["n_features"] == 144
    assert meta["dataset"]["label_names"] == aekit.data.builtins.SHAPES12_CLASSES
    assert meta["dataset"]["value_range"] == [0.0, 1.0]
    by_name = {m["name"]: m for m in meta["models"]}
    assert by_name["ae"]["stochastic"] is False and by_name["vae"]["stochastic"] is True
    assert by_name["vae"]["code_dim"] == 2 and len(by_name["vae"]["latent_range"]) == 2
    low, high = by_name["vae"]["latent_range"][0]
    assert low <= -2 and high >= 2  # the VAE's plane always shows the prior's two-sigma square
    assert meta["limits"]["max_points"] == 120 and meta["limits"]["max_decode"] == MAX_DECODE


def test_shapes12_presets_are_the_builtin_ones(session):
    presets = session.presets()
    expected = shapes12_presets()
    assert [p["name"] for p in presets] == list(expected)
    for p in presets:
        np.testing.assert_array_equal(np.float32(p["x"]), expected[p["name"]].ravel())


def test_other_data_gets_a_few_samples_of_each_label(session, shapes):
    renamed = Dataset(x=shapes.x, y=shapes.y, kind="image", name="my-images", label_names=shapes.label_names)
    presets = Session(session.models, renamed).presets()
    assert len(presets) == 3 * 6
    assert [p["name"] for p in presets[:3]] == ["bar #1", "bar #2", "bar #3"]
    first_bar = int(np.flatnonzero(shapes.y == 0)[0])
    np.testing.assert_array_equal(np.float32(presets[0]["x"]), shapes.x[first_bar].ravel())


@pytest.mark.parametrize("name", ["ae", "vae"])
def test_encode_equals_the_estimator(session, shapes, name):
    est = session.models[name]
    x = shapes.x[7]
    out = session.encode(name, x.ravel().tolist())
    np.testing.assert_array_equal(np.float32(out["mean"]), est.transform(x[None])[0])
    np.testing.assert_array_equal(np.float32(out["reconstruction"]), est.reconstruct(x[None]).ravel())
    assert out["error"] == pytest.approx(est.reconstruction_error(x[None])[0], rel=1e-6)
    if name == "vae":
        assert len(out["logvar"]) == 2 and all(math.isfinite(v) for v in out["logvar"])
        assert set(out["terms"]) == {"recon", "kl", "loss"} and out["terms"]["kl"] > 0
        assert out["terms"]["loss"] == pytest.approx(out["terms"]["recon"] + out["terms"]["kl"], rel=1e-4)
        assert session.encode(name, x.ravel().tolist())["terms"] == out["terms"]  # seeded draws: repeatable
    else:
        assert out["logvar"] is None and set(out["terms"]) == {"recon", "loss"}


@pytest.mark.parametrize("name", ["ae", "vae"])
def test_decode_equals_inverse_transform(session, shapes, name):
    est = session.models[name]
    z = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    out = session.decode(name, z.tolist())
    np.testing.assert_allclose(np.float32(out["images"]), est.inverse_transform(z).reshape(5, -1), rtol=0, atol=1e-6)
    assert out["codes"] == z.tolist() and out["errors"] is None
    # At the input's own mean code the error is the estimator's reconstruction error.
    x = shapes.x[3]
    mean = session.encode(name, x.ravel().tolist())["mean"]
    out = session.decode(name, [mean], x=x.ravel().tolist())
    assert out["errors"][0] == pytest.approx(est.reconstruction_error(x[None])[0], rel=1e-6)


@pytest.mark.parametrize(
    "codes, message",
    [
        ([[0.0]], "codes[0] must hold 2 numbers, got 1"),
        ([[0.0, float("nan")]], "codes[0][1]=nan is not a finite float32 number"),
        ([[0.0, float("inf")]], "is not a finite float32 number"),
        ([[0.0, 1e39]], "codes[0][1]=1e+39 is not a finite float32 number"),
        ([[True, 0.0]], "codes[0][0]=True is not a number"),
        ([["1", 0.0]], "codes[0][0]='1' is not a number"),
        ([[0.0, 2e4]], f"codes[0][1]=20000 is outside [-{MAX_ABS_CODE:g}, {MAX_ABS_CODE:g}]"),
        ([], f"codes must be a list of 1 to {MAX_DECODE} codes, got 0 codes"),
        ({"z": 1}, "codes must be a list of 1 to 256 codes, got a dict"),
        ([0.0, 1.0], "codes[0] must be a list of 2 numbers, got a float"),
    ],
)
def test_bad_codes_are_refused_by_name(session, codes, message):
    with pytest.raises(RequestError, match=None) as info:
        session.decode("ae", codes)
    assert message in str(info.value) and info.value.status == 400


def test_size_limits_and_unknown_models(session):
    with pytest.raises(RequestError) as info:
        session.decode("ae", [[0.0, 0.0]] * (MAX_DECODE + 1))
    assert info.value.status == 413 and f"1 to {MAX_DECODE} codes, got {MAX_DECODE + 1}" in str(info.value)
    with pytest.raises(RequestError) as info:
        session.decode("pca", [[0.0, 0.0]])
    assert info.value.status == 404 and "unknown model 'pca'; this session has: ae, vae" in str(info.value)


def test_bad_inputs_are_refused_by_name(session, shapes):
    x = shapes.x[0].ravel().tolist()
    with pytest.raises(RequestError, match="x must hold 144 numbers, got 143"):
        session.encode("ae", x[:-1])
    with pytest.raises(RequestError, match=r"x\[5\]=1.5 is outside the data's value range \[0, 1\]"):
        session.encode("ae", x[:5] + [1.5] + x[6:])
    with pytest.raises(RequestError, match="x must be a list of 144 numbers, got a str"):
        session.encode("ae", "pixels")
    with pytest.raises(RequestError, match="x must hold 144 numbers, got 1"):
        session.encode("ae", shapes.x[0].tolist())  # (1, 12, 12) nested: inputs travel flat


def test_codes_are_a_bounded_seeded_subsample(session, shapes):
    out = session.codes("ae")
    assert len(out["codes"]) == len(out["indices"]) == len(out["labels"]) == 120
    rows = np.array(out["indices"])
    assert len(set(rows.tolist())) == 120 and rows.max() < len(shapes)
    np.testing.assert_array_equal(np.float32(out["codes"]), session.models["ae"].transform(shapes.x[rows]))
    assert out["labels"] == shapes.y[rows].tolist()
    assert session.codes("ae", limit=10)["indices"] == out["indices"][:10]
    with pytest.raises(RequestError, match=r"limit=121 must be an integer in \[1, 120\]"):
        session.codes("ae", limit=121)


def test_grid_decodes_the_latent_range(session):
    est = session.models["ae"]
    out = session.grid("ae", n=4)
    (x0, x1), (y0, y1) = session.latent_range("ae")
    assert out["xs"][0] == pytest.approx(x0) and out["xs"][-1] == pytest.approx(x1)
    assert out["ys"][0] == pytest.approx(y1) and out["ys"][-1] == pytest.approx(y0)  # row 0 is the top
    images = np.float32(out["images"])
    assert images.shape == (16, 144)
    corner = np.float32([[out["xs"][3], out["ys"][0]]])  # top right: row 0, column 3
    # One code alone versus inside a batch of 16: BLAS may sum in another order, so not bit-equal.
    np.testing.assert_allclose(images[3], est.inverse_transform(corner).ravel(), atol=1e-6)
    with pytest.raises(RequestError, match=rf"n=33 must be an integer in \[2, {MAX_GRID}\]"):
        session.grid("ae", n=33)
    with pytest.raises(RequestError, match=r"dims=\[0, 0\] must be 2 distinct integers in \[0, 1\]"):
        session.grid("ae", dims=[0, 0])


def test_sample_returns_a_data_row(session, shapes):
    out = session.sample(5)
    np.testing.assert_array_equal(np.float32(out["x"]), shapes.x[5].ravel())
    assert out["label"] == int(shapes.y[5]) and out["label_name"] == shapes.label_names[shapes.y[5]]
    with pytest.raises(RequestError, match=r"index=300 must be an integer in \[0, 299\]"):
        session.sample(300)


def test_tables_work_too():
    ds = aekit.data.load("builtin:swissroll?n=300")
    est = aekit.AutoEncoder(code_dim=2, epochs=2, random_state=0).fit(ds)
    session = Session({"roll": est}, ds)
    low, high = session.meta()["dataset"]["value_range"]
    assert low == pytest.approx(ds.x.min()) and high == pytest.approx(ds.x.max())
    x = ds.x[4].tolist()
    out = session.encode("roll", x)
    np.testing.assert_allclose(out["reconstruction"], est.reconstruct(ds.x[4:5])[0], rtol=1e-6)
    again = session.decode("roll", [out["mean"]], x=x)
    assert again["errors"][0] == pytest.approx(out["error"], rel=1e-4)  # standardised space, as the estimator
    assert len(session.presets()) == 3 * 6


def test_images_outside_the_unit_range_still_show_whole(session, shapes):
    shifted = Dataset(x=shapes.x - 0.5, y=shapes.y, kind="image", name="shifted")
    s = Session({"ae": session.models["ae"]}, shifted)
    assert s.meta()["dataset"]["value_range"] == [-0.5, 1.0]
    assert s.encode("ae", s.presets()[0]["x"])["error"] > 0  # its own samples pass validation


def test_session_refuses_mismatched_models(session, shapes):
    digits = aekit.data.load("builtin:digits")
    with pytest.raises(AekitError, match=r"model 'ae' takes samples of shape \(1, 12, 12\) \(144 values\)"):
        Session({"ae": session.models["ae"]}, digits)
    with pytest.raises(AekitError, match="model name 'a b' must be 1-32 letters"):
        Session({"a b": session.models["ae"]}, shapes)
    with pytest.raises(AekitError, match="model 'new' is not fitted"):
        Session({"new": aekit.AutoEncoder()}, shapes)


def test_default_models_are_cached(tmp_path, monkeypatch):
    lines: list[str] = []
    models, ds = default_models(data="builtin:shapes12?n=120", epochs=1, cache=tmp_path, log=lines.append)
    assert set(models) == {"ae", "vae"} and len(ds) == 120
    assert models["vae"].model_.config.bottleneck == "gaussian" and models["ae"].model_.config.code_dim == 2
    assert sum("training" in line for line in lines) == 2 and len(list(tmp_path.iterdir())) == 2

    def no_training(*args, **kwargs):
        raise AssertionError("the second call must load from the cache")

    monkeypatch.setattr(aekit.AutoEncoder, "fit", no_training)
    again, _ = default_models(data="builtin:shapes12?n=120", epochs=1, cache=tmp_path, log=lines.append)
    for name in models:
        np.testing.assert_array_equal(again[name].transform(ds.x), models[name].transform(ds.x))
    monkeypatch.undo()
    # Another setting is another cache entry.
    default_models(data="builtin:shapes12?n=120", epochs=2, cache=tmp_path)
    assert len(list(tmp_path.iterdir())) == 4


def test_open_session_uses_the_recorded_data(tmp_path, session):
    est = session.models["ae"]
    path = est.save(tmp_path / "model dir", data={"spec": "builtin:shapes12?n=300"})
    opened = open_session(path)
    assert list(opened.models) == ["model-dir"] and len(opened.dataset) == 300
    bare = est.save(tmp_path / "bare")
    with pytest.raises(ConfigError, match="records no data set; pass one, e.g. --data builtin:digits"):
        open_session(bare)
    with pytest.raises(ConfigError, match="pass the data set the model was trained on with --data"):
        open_session(bare, data="builtin:digits")
