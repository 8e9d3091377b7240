"""Denoise, inpaint, sample, interpolate: the numbers a user relies on, the errors
that name what was expected, and the three commands end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import aekit
from aekit.cli import main
from aekit.data import load
from aekit.errors import ConfigError, DataError
from aekit.estimators.generate import INPAINT_ITERATIONS, interpolate_codes


@pytest.fixture(scope="module")
def digits():
    return load("builtin:digits").split(test_size=0.25, seed=0)


@pytest.fixture(scope="module")
def denoiser(digits):
    """About 1.5 s: a denoising MLP on 1,347 digits."""
    train, _ = digits
    return aekit.AutoEncoder(code_dim=32, variant="denoising", epochs=60, batch_size=64, random_state=0).fit(train)


@pytest.fixture(scope="module")
def vae(digits):
    train, _ = digits
    return aekit.AutoEncoder(code_dim=8, variant="vae", epochs=10, batch_size=64, random_state=0).fit(train)


@pytest.fixture(scope="module")
def plain(digits):
    train, _ = digits
    return aekit.AutoEncoder(code_dim=8, epochs=2, batch_size=64, random_state=0).fit(train)


def _mse(a, b):
    return float(((np.asarray(a, np.float64) - b) ** 2).mean())


# -- denoise ------------------------------------------------------------------------------
def test_denoise_brings_noisy_digits_closer_to_the_clean_ones(denoiser, digits):
    """Sigma 0.3, clipped: noisy input MSE 0.051 (12.9 dB PSNR), denoised 0.019 (17.3 dB);
    a plain autoencoder of the same size reaches 0.031 (15.1 dB)."""
    clean = digits[1].x
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 0.3, clean.shape), 0, 1).astype(np.float32)
    out = denoiser.denoise(noisy)
    assert out.shape == clean.shape
    psnr_noisy, psnr_out = (10 * np.log10(1.0 / _mse(v, clean)) for v in (noisy, out))
    assert psnr_out > psnr_noisy + 3.0, (psnr_noisy, psnr_out)
    assert np.array_equal(out, denoiser.reconstruct(noisy))  # deterministic: the mean code's decode


# -- inpaint ------------------------------------------------------------------------------
def _left_half(x):
    mask = np.zeros(x.shape, dtype=bool)
    mask[..., :4] = True
    return mask


def test_inpaint_keeps_known_pixels_exactly_and_iterating_beats_one_pass(denoiser, digits):
    """Measured on the left half of 450 held-out digits: training mean 0.067,
    one pass 0.054, the default 5 passes 0.043 (more in generate.py)."""
    x = digits[1].x
    mask = _left_half(x)
    filled = denoiser.inpaint(x, mask)
    assert filled.shape == x.shape and filled.dtype == np.float32
    assert np.array_equal(filled[~mask], x[~mask])  # bit for bit
    errors = {k: _mse(denoiser.inpaint(x, mask, n_iter=k)[mask], x[mask]) for k in (0, 1, INPAINT_ITERATIONS)}
    assert errors[INPAINT_ITERATIONS] < 0.9 * errors[1] < 0.9 * errors[0], errors
    mean_image = denoiser.pca_.mean_.reshape(x.shape[1:])
    assert np.allclose(denoiser.inpaint(x, mask, n_iter=0)[mask], np.broadcast_to(mean_image, x.shape)[mask])


def test_inpaint_takes_nan_as_unknown_and_works_in_table_units(table):
    ae = aekit.AutoEncoder(code_dim=3, epochs=3, batch_size=64, random_state=0).fit(table)
    mask = np.zeros(table.shape, dtype=bool)
    mask[:, [2, 7]] = True
    holes = table.copy()
    holes[mask] = np.nan
    filled = ae.inpaint(holes)  # mask defaults to the NaN cells
    assert np.array_equal(filled[~mask], table[~mask]) and np.isfinite(filled).all()
    assert np.array_equal(filled, ae.inpaint(table, mask))
    # Filled cells are in the table's own units (column j is about 10 * (j + 1) wide around 5).
    assert abs(filled[:, 7].mean() - table[:, 7].mean()) < 0.5 * table[:, 7].std()


def test_inpaint_refuses_a_mask_of_the_wrong_shape_or_type(plain, digits):
    x = digits[1].x[:5]
    with pytest.raises(DataError, match=r"mask has shape \(5, 64\).*X's shape \(5, 1, 8, 8\)"):
        plain.inpaint(x, np.zeros((5, 64), dtype=bool))
    with pytest.raises(DataError, match="mask must be boolean"):
        plain.inpaint(x, np.zeros(x.shape))
    with pytest.raises(DataError, match=r"impute\(frame\)"):
        pd.DataFrame({"a": [1.0, np.nan]}).pipe(plain.inpaint)
    with pytest.raises(ConfigError, match="n_iter=-1"):
        plain.inpaint(x, _left_half(x), n_iter=-1)


# -- sample -------------------------------------------------------------------------------
def test_sample_is_reproducible_under_random_state_and_leaves_global_rngs_alone(vae):
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    a, b, c = vae.sample(6, random_state=0), vae.sample(6, random_state=0), vae.sample(6, random_state=1)
    assert a.shape == (6, 1, 8, 8) and a.min() >= 0 and a.max() <= 1
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert torch.equal(torch.get_rng_state(), torch_state) and np.array_equal(np.random.get_state()[1], np_state)
    z = np.random.RandomState(0).standard_normal((6, 8)).astype(np.float32)
    assert np.array_equal(a, vae.inverse_transform(z))  # decoded N(0, I) draws


def test_sample_refuses_a_model_without_a_prior(plain):
    with pytest.raises(ConfigError, match=r"variant='vae'.*bottleneck='gaussian'.*'deterministic'"):
        plain.sample(4)


# -- interpolate and crossfade ---------------------------------------------------------------
def test_interpolate_endpoints_decode_the_endpoint_codes(vae, plain, digits):
    a, b = digits[1].x[0], digits[1].x[1]
    for model in (vae, plain):
        path = model.interpolate(a, b, steps=7)
        ends = model.inverse_transform(model.transform(np.stack([a, b])))
        assert path.shape == (7, 1, 8, 8)
        np.testing.assert_allclose(path[[0, -1]], ends, atol=1e-6)


def test_linear_path_is_linear_in_code_space(plain, digits):
    a, b = digits[1].x[2], digits[1].x[3]
    z_a, z_b = plain.transform(np.stack([a, b]))
    codes = interpolate_codes(z_a, z_b, steps=9, method="linear")
    np.testing.assert_allclose(np.diff(codes, 2, axis=0), 0, atol=1e-5)  # equal steps on one line
    np.testing.assert_allclose(plain.interpolate(a, b, steps=9), plain.inverse_transform(codes), atol=1e-6)
    assert np.array_equal(plain.interpolate(a, b, steps=9), plain.interpolate(a, b, steps=9, method="linear"))


def test_slerp_turns_at_a_constant_angle_with_the_norm_between_the_ends():
    rng = np.random.default_rng(0)
    z_a, z_b = rng.normal(size=32), 1.5 * rng.normal(size=32)
    path = interpolate_codes(z_a, z_b, steps=11, method="slerp").astype(np.float64)
    norms = np.linalg.norm(path, axis=1)
    np.testing.assert_allclose(norms, np.linspace(np.linalg.norm(z_a), np.linalg.norm(z_b), 11), rtol=1e-5)
    unit = path / norms[:, None]
    turns = np.arccos(np.clip((unit[1:] * unit[:-1]).sum(1), -1, 1))
    np.testing.assert_allclose(turns, turns.mean(), rtol=1e-3)  # constant angular speed ...
    total = np.arccos(unit[0] @ unit[-1])
    assert turns.sum() == pytest.approx(total, rel=1e-4)  # ... along the great circle (no detour)
    # For two prior-like codes of equal norm, slerp stays on their shell; the line cuts inside it.
    z_b = z_b * np.linalg.norm(z_a) / np.linalg.norm(z_b)
    mid_slerp = interpolate_codes(z_a, z_b, steps=3, method="slerp")[1]
    mid_line = interpolate_codes(z_a, z_b, steps=3, method="linear")[1]
    assert np.linalg.norm(mid_slerp) == pytest.approx(np.linalg.norm(z_a), rel=1e-5)
    assert np.linalg.norm(mid_line) < 0.8 * np.linalg.norm(z_a)


def test_auto_picks_slerp_for_gaussian_codes_and_linear_otherwise(vae, plain, digits):
    a, b = digits[1].x[4], digits[1].x[5]
    assert np.array_equal(vae.interpolate(a, b, 5), vae.interpolate(a, b, 5, method="slerp"))
    assert not np.allclose(vae.interpolate(a, b, 5), vae.interpolate(a, b, 5, method="linear"))
    assert np.array_equal(plain.interpolate(a, b, 5), plain.interpolate(a, b, 5, method="linear"))


def test_crossfade_endpoints_are_the_inputs(plain, digits):
    a, b = digits[1].x[6], digits[1].x[7]
    fade = plain.crossfade(a, b, steps=5)
    assert fade.shape == (5, 1, 8, 8)
    assert np.array_equal(fade[0], a) and np.array_equal(fade[-1], b)
    np.testing.assert_allclose(fade[2], (a + b) / 2, atol=1e-7)
    assert plain.crossfade(a.ravel(), b.ravel(), steps=2).shape == (2, 1, 8, 8)  # flat samples are accepted


def test_interpolate_refuses_samples_of_different_or_wrong_shapes(plain, digits):
    a = digits[1].x[0]
    with pytest.raises(DataError, match=r"a has shape \(1, 8, 8\) and b has shape \(64,\).*\(1, 8, 8\)"):
        plain.interpolate(a, a.ravel())
    with pytest.raises(DataError, match=r"\(10,\) \(10 values\).*shape \(1, 8, 8\) \(64 values\)"):
        plain.crossfade(np.zeros(10), np.ones(10))
    with pytest.raises(ConfigError, match="steps=1 must be an integer >= 2"):
        plain.interpolate(a, a, steps=1)
    with pytest.raises(ConfigError, match="method='cubic' is not one of: auto, linear, slerp"):
        plain.interpolate(a, a, method="cubic")


# -- the commands -------------------------------------------------------------------------
def run(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def saved(denoiser, vae, tmp_path_factory):
    root = tmp_path_factory.mktemp("generate")
    return denoiser.save(root / "den"), vae.save(root / "vae")


def test_cli_denoise_writes_noisy_above_denoised_and_reports_the_gain(saved, tmp_path):
    den, _ = saved
    out = run("denoise", den, "builtin:digits", "-o", tmp_path / "d.png", "--noise", "0.3", "--limit", "8").output
    assert "noisy 0.0" in out and "dB" in out
    assert Image.open(tmp_path / "d.png").size == (8 * 97 + 1, 2 * 97 + 1)  # 8 columns, noisy row + denoised row
    run("denoise", den, "builtin:digits", "-o", tmp_path / "d.npy", "--limit", "5")
    assert np.load(tmp_path / "d.npy").shape == (5, 1, 8, 8)


def test_cli_sample_writes_a_grid_or_an_array_and_refuses_a_plain_model(saved, tmp_path):
    den, vae_dir = saved
    run("sample", vae_dir, "-n", "16", "-o", tmp_path / "grid.png", "--seed", "3")
    assert Image.open(tmp_path / "grid.png").size == (16 * 97 + 1, 97 + 1)
    run("sample", vae_dir, "-n", "7", "-o", tmp_path / "s.npy", "--seed", "3")
    assert np.array_equal(np.load(tmp_path / "s.npy"), aekit.load(vae_dir).sample(7, random_state=3))
    result = run("sample", den, "-o", tmp_path / "x.png", ok=False)
    assert result.exit_code == 1 and "sampling needs a model with a prior, variant='vae'" in result.output
    assert not (tmp_path / "x.png").exists()


def test_cli_interpolate_writes_path_above_crossfade(saved, tmp_path):
    _, vae_dir = saved
    out = run(
        "interpolate",
        vae_dir,
        "builtin:digits",
        "--from",
        "0",
        "--to",
        "7",
        "--steps",
        "10",
        "-o",
        tmp_path / "strip.png",
    ).output
    assert "10-step slerp path" in out
    strip = np.asarray(Image.open(tmp_path / "strip.png"))
    assert strip.shape == (2 * 97 + 1, 10 * 97 + 1, 3)
    fade_first = strip[97 + 1 : 97 + 1 + 96 : 12, 1 : 1 + 96 : 12, 0]  # first crossfade tile, one pixel per cell
    first = load("builtin:digits").x[0, 0]
    assert np.abs(fade_first / 255.0 - first).max() <= 0.5 / 255 + 1e-6  # the crossfade starts at sample 0
    run(
        "interpolate",
        vae_dir,
        "builtin:digits",
        "--from",
        "0",
        "--to",
        "7",
        "--steps",
        "4",
        "--method",
        "linear",
        "-o",
        tmp_path / "path.npy",
    )
    assert np.load(tmp_path / "path.npy").shape == (4, 1, 8, 8)
    result = run(
        "interpolate", vae_dir, "builtin:digits", "--from", "0", "--to", "5000", "-o", tmp_path / "p.png", ok=False
    )
    assert result.exit_code == 1 and "--to 5000" in result.output and "indices 0 to 1796" in result.output


def test_cli_interpolate_and_denoise_write_tables_as_csv(table, tmp_path):
    ae = aekit.AutoEncoder(code_dim=3, epochs=2, batch_size=64, random_state=0).fit(table)
    model = ae.save(tmp_path / "m")
    csv = tmp_path / "t.csv"
    np.savetxt(csv, table, delimiter=",", header=",".join(f"c{i}" for i in range(10)), comments="")
    run("interpolate", model, csv, "--from", "0", "--to", "9", "--steps", "4", "-o", tmp_path / "p.csv")
    path = np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(path, ae.interpolate(table[0], table[9], steps=4), rtol=1e-5, atol=1e-4)
    out = run("denoise", model, csv, "--noise", "0.5", "-o", tmp_path / "d.csv").output
    assert "noisy 0.2" in out  # sigma 0.5 in standard deviations: about 0.25 in the model's units
    assert np.loadtxt(tmp_path / "d.csv", delimiter=",", skiprows=1).shape == (300, 10)
    result = run("interpolate", model, csv, "--from", "0", "--to", "1", "-o", tmp_path / "p.png", ok=False)
    assert result.exit_code == 1 and "needs image samples" in result.output
