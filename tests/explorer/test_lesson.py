"""The default models teach the explorer's lesson: measured, not assumed.

The models ``aekit explore`` opens without a model (a 2-D plain autoencoder and a 2-D VAE on
shapes12) are trained once per test session into a shared cache (the other explorer test
modules load them from there), and each preset must come back as itself, land at its own spot
of the plane and have a region of the decoded 10x10 grid; the VAE's prior draws must decode
nearer the data than the plain AE's random codes. The presets are not training samples.
"""

from __future__ import annotations

import numpy as np
import pytest

import aekit
from aekit.explorer import DEFAULT_DATA, Session, default_models
from aekit.explorer.lesson import lesson_report, nearest_preset


def shared_cache(tmp_path_factory) -> object:
    """The folder the default models are cached in for the whole test session (``$AEKIT_CACHE/explorer``)."""
    return tmp_path_factory.getbasetemp() / "aekit-cache" / "explorer"


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    models, ds = default_models(cache=shared_cache(tmp_path_factory))
    session = Session(models, ds)
    return session, {name: lesson_report(session, name) for name in models}


@pytest.mark.parametrize("name", ["ae", "vae"])
def test_every_preset_comes_back_as_itself(lesson, name):
    _, reports = lesson
    r = reports[name]
    assert r["presets"] == ["bar", "ring", "cross", "blob", "square", "triangle"]
    assert r["self"] == r["presets"], r["wrong"]


@pytest.mark.parametrize("name", ["ae", "vae"])
def test_preset_codes_land_apart(lesson, name):
    session, reports = lesson
    assert reports[name]["separation"] >= 0.2, reports[name]["closest_pair"]
    # The number is what it says: the closest two presets' codes over the data codes' mean spread.
    est = session.models[name]
    x = np.stack([np.float32(p["x"]).reshape(1, 12, 12) for p in session.presets()])
    codes = est.transform(x)
    gaps = [np.linalg.norm(codes[a] - codes[b]) for a in range(6) for b in range(a + 1, 6)]
    data = est.transform(session.dataset.x)
    spread = np.linalg.norm(data - data.mean(0), axis=1).mean()
    assert reports[name]["separation"] == pytest.approx(min(gaps) / spread, rel=1e-5)


@pytest.mark.parametrize("name", ["ae", "vae"])
def test_every_class_has_a_region_of_the_decoded_grid(lesson, name):
    session, reports = lesson
    assert reports[name]["grid_classes"] == reports[name]["presets"]
    tiles = np.float32(session.grid(name, n=10)["images"])  # (100, 144), the grid the page's toggle draws
    presets = np.float32([p["x"] for p in session.presets()])
    assert len(set(nearest_preset(tiles, presets).argmin(1).tolist())) == 6


def test_the_vae_samples_nearer_the_data_than_random_codes_of_the_plain_ae(lesson):
    _, reports = lesson
    ae, vae = reports["ae"]["samples"], reports["vae"]["samples"]
    assert vae["draws"] == "N(0, I)" and ae["draws"] == "uniform over the latent range"
    assert vae["prior_vs_data"] < ae["prior_vs_data"]


def test_blends_are_counted_over_every_pair(lesson):
    _, reports = lesson
    for r in reports.values():
        assert r["pairs"] == 15 and 0 <= r["blends_both"] <= r["blends"] <= r["pairs"]
        assert r["blend_ceiling"] <= 12  # a planar graph on 6 points: at most 3 * 6 - 6 edges


def test_the_presets_are_not_training_samples():
    ds = aekit.data.load(DEFAULT_DATA)
    train = ds.train().flat()  # (8000, 144)
    presets = np.float32([x.ravel() for x in aekit.data.shapes12_presets().values()])
    nearest = nearest_preset(train, presets).min(0)  # (6,): each preset's nearest training sample
    assert (nearest > 1e-4).all(), nearest  # none within an RMS difference of 0.01 per pixel of a preset
