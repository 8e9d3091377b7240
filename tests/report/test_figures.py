"""aekit.report.figures: each figure is checked for what it shows, not only that it exists."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from scipy.stats import norm
from sklearn.decomposition import PCA

import aekit
from aekit.errors import ConfigError, DataError
from aekit.report import figures

N_SAMPLES = 600


@pytest.fixture(scope="module")
def digits():
    data = aekit.data.load("builtin:digits")
    return data.x[:N_SAMPLES], data.y[:N_SAMPLES], list(data.label_names)


@pytest.fixture(scope="module")
def plain(digits):
    return aekit.AutoEncoder(code_dim=2, epochs=4, batch_size=64, random_state=0).fit(digits[0])


@pytest.fixture(scope="module")
def vae(digits):
    return aekit.AutoEncoder(code_dim=3, variant="vae", epochs=4, batch_size=64, random_state=0).fit(digits[0])


@pytest.fixture(scope="module")
def vq(digits):
    return aekit.AutoEncoder(code_dim=8, variant="vq", codebook_size=16, epochs=2, batch_size=64, random_state=0).fit(
        digits[0]
    )


def _lines(ax, split):
    return {line.get_label(): line for line in ax.get_lines() if line.get_label().endswith(f"({split})")}


# -- latent scatter ---------------------------------------------------------------------------------
def test_scatter_has_a_point_per_sample_at_its_code_and_a_legend_of_label_names(plain, digits):
    x, y, names = digits
    codes = plain.transform(x)
    ax = figures.latent_scatter(codes, labels=y, label_names=names).axes[0]
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(points.get_offsets(), codes, rtol=1e-6)  # 2-D codes plotted as they are
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [names[v] for v in np.unique(y)]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("z0", "z1")
    # Each point takes its class's colour: as many distinct colours as classes.
    assert len(np.unique(points.get_facecolors(), axis=0)) == len(np.unique(y))


def test_scatter_projects_wide_codes_by_pca_and_says_so(vq, digits):
    x, y, _ = digits
    codes = vq.transform(x)  # (n, 8)
    ax = figures.latent_scatter(codes, labels=y).axes[0]
    assert "PCA 1" in ax.get_xlabel() and "PCA 2" in ax.get_ylabel() and "% of variance" in ax.get_xlabel()
    expected = PCA(n_components=2).fit_transform(codes)
    np.testing.assert_allclose(np.abs(ax.collections[0].get_offsets()), np.abs(expected), atol=1e-6)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [str(v) for v in np.unique(y)]
    assert "first two" not in ax.get_title() and "PCA of 8-D codes" in ax.get_title()


def test_scatter_of_one_dimensional_codes_and_numeric_labels():
    codes = np.linspace(-1, 1, 40)[:, None]
    fig = figures.latent_scatter(codes, labels=np.linspace(0, 5, 40) ** 1.5)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 0], codes[:, 0])
    assert ax.get_legend() is None and len(fig.axes) == 2  # a colour bar, not 40 legend entries
    assert "jitter" in ax.get_ylabel()
    names = {3: "three", 7: "seven"}
    legend = figures.latent_scatter(np.zeros((4, 2)), labels=np.array([3, 3, 7, 7]), label_names=names)
    assert [t.get_text() for t in legend.axes[0].get_legend().get_texts()] == ["three", "seven"]


def test_scatter_refuses_bad_labels_and_methods():
    codes = np.zeros((5, 2))
    with pytest.raises(DataError, match=r"labels has shape \(4,\)"):
        figures.latent_scatter(codes, labels=np.arange(4))
    with pytest.raises(ConfigError, match="method='umap'"):
        figures.latent_scatter(codes, method="umap")


# -- manifold map -----------------------------------------------------------------------------------
def test_vae_manifold_is_n_by_n_decodes_at_prior_quantiles(vae):
    n = 7
    fig = figures.manifold_map(vae, n=n, dims=(0, 2))
    ax = fig.axes[0]
    grid = ax.images[0].get_array()
    assert grid.shape == (n * 8, n * 8)
    xs, ys = figures.manifold_coordinates(vae, n=n, dims=(0, 2))
    np.testing.assert_allclose(xs, norm.ppf(np.linspace(0.05, 0.95, n)))
    np.testing.assert_allclose(ys, xs[::-1])
    # Tile (row 1, column 4) is the decode of z0 = xs[4], z2 = ys[1], z1 = 0.
    z = np.array([[xs[4], 0.0, ys[1]]], dtype=np.float32)
    np.testing.assert_allclose(grid[8:16, 32:40], vae.inverse_transform(z)[0, 0], atol=1e-6)
    labels = [float(t.get_text()) for t in ax.get_xticklabels()]
    np.testing.assert_allclose(labels, xs[: len(labels)], rtol=0.06, atol=0.01)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("z0", "z2")
    assert "spaced by prior quantiles" in ax.get_title()


def test_plain_manifold_needs_a_range_and_spans_it(plain, digits):
    with pytest.raises(ConfigError, match="span=.*or X"):
        figures.manifold_map(plain, n=4)
    xs, ys = figures.manifold_coordinates(plain, n=5, span=(-1.0, 3.0))
    np.testing.assert_allclose(xs, np.linspace(-1, 3, 5))
    np.testing.assert_allclose(ys, np.linspace(3, -1, 5))
    codes = plain.transform(digits[0])
    xs, _ = figures.manifold_coordinates(plain, n=5, X=digits[0])
    assert xs[0] < np.percentile(codes[:, 0], 1) and xs[-1] > np.percentile(codes[:, 0], 99)
    grid = figures.manifold_map(plain, n=5, X=digits[0]).axes[0].images[0].get_array()
    assert grid.shape == (40, 40)
    with pytest.raises(ConfigError, match=r"span=\(2, 1\)"):
        figures.manifold_map(plain, span=(2, 1))
    with pytest.raises(ConfigError, match=r"dims=\(0, 0\)"):
        figures.manifold_map(plain, dims=(0, 0), span=(0, 1))


def test_table_manifold_has_one_n_by_n_plane_per_feature(table):
    ae = aekit.AutoEncoder(code_dim=2, epochs=2, random_state=0).fit(table)
    fig = figures.manifold_map(ae, n=6, X=table)
    planes = [ax for ax in fig.axes if ax.images and ax.get_title()]
    assert len(planes) == table.shape[1]
    assert all(ax.images[0].get_array().shape == (6, 6) for ax in planes)
    # The path and crossfade of table rows are heat maps of steps x features.
    path_ax, fade_ax = [
        ax for ax in figures.interpolation_strip(ae, table[0], table[1], steps=4).axes if ax.get_title()
    ]
    assert path_ax.images[0].get_array().shape == fade_ax.images[0].get_array().shape == (4, 10)
    np.testing.assert_allclose(fade_ax.images[0].get_array()[0], table[0], rtol=1e-6)


# -- training curves --------------------------------------------------------------------------------
def test_loss_curves_draw_every_term_for_train_and_val(vae):
    ax = figures.loss_curves(vae.history_).axes[0]
    train, val = _lines(ax, "train"), _lines(ax, "val")
    assert set(train) == {"loss (train)", "recon (train)", "kl (train)"}
    assert set(val) == {"loss (val)", "recon (val)", "kl (val)"}
    np.testing.assert_allclose(train["kl (train)"].get_ydata(), [r["train"]["kl"] for r in vae.history_])
    np.testing.assert_allclose(val["recon (val)"].get_ydata(), [r["val"]["recon"] for r in vae.history_])
    assert {line.get_linestyle() for line in train.values()} == {"-"}
    assert {line.get_linestyle() for line in val.values()} == {"--"}
    assert ax.get_xlabel() == "epoch"


def test_loss_curves_of_vq_add_codebook_statistics(vq):
    fig = figures.loss_curves(vq.history_)
    assert len(fig.axes) == 3  # losses, codebook use, its perplexity twin
    assert set(_lines(fig.axes[0], "train")) == {"loss (train)", "recon (train)", "commitment (train)"}
    usage = fig.axes[1].get_lines()[0]
    np.testing.assert_allclose(usage.get_ydata(), [100 * r["model"]["codebook_usage"] for r in vq.history_])


def test_loss_curves_refuse_an_empty_history():
    with pytest.raises(DataError, match="history"):
        figures.loss_curves([])


# -- reconstructions, errors ------------------------------------------------------------------------
def test_reconstruction_grid_rows_are_input_reconstruction_and_error(plain, digits):
    x = digits[0][:10]
    x_hat = plain.reconstruct(x)
    fig = figures.reconstruction_grid(x, x_hat, n=5)
    rows = fig.axes[:3]
    assert [ax.get_title() for ax in rows] == ["input", "reconstruction", "|input - reconstruction|"]
    arrays = [ax.images[0].get_array() for ax in rows]
    assert all(a.shape == (8, 5 * 8 + 4) for a in arrays)
    assert [ax.images[0].get_cmap().name for ax in rows] == ["gray", "gray", "magma"]
    np.testing.assert_allclose(arrays[0][:, 9:17], x[1, 0])  # second tile, after one pixel of gap
    np.testing.assert_allclose(arrays[2][:, 9:17], np.abs(x[1, 0] - x_hat[1, 0]), atol=1e-6)


def test_reconstruction_grid_of_colour_images_and_tables(table):
    rgb = np.random.default_rng(0).random((4, 3, 5, 6))
    arrays = [ax.images[0].get_array() for ax in figures.reconstruction_grid(rgb, rgb[::-1], n=3).axes[:3]]
    assert arrays[0].shape == (5, 3 * 6 + 2, 3) and arrays[2].shape == (5, 3 * 6 + 2)
    fig = figures.reconstruction_grid(table[:12], table[:12] + 1.0, n=10)
    heat = [ax for ax in fig.axes if ax.get_title()]
    assert len(heat) == 3 and all(ax.images[0].get_array().shape == (10, 10) for ax in heat)
    np.testing.assert_allclose(heat[2].images[0].get_array(), 1.0, rtol=1e-5)
    with pytest.raises(DataError, match=r"x_hat has shape \(12, 9\)"):
        figures.reconstruction_grid(table[:12], table[:12, :9])


def test_error_histogram_marks_the_threshold_and_splits_by_label():
    rng = np.random.default_rng(0)
    errors = np.concatenate([rng.exponential(0.01, 190), rng.exponential(1.0, 10) + 1.0])
    labels = np.r_[np.zeros(190), np.ones(10)].astype(int)
    ax = figures.error_histogram(errors, threshold=0.5, labels=labels).axes[0]
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [0.5, 0.5]
    assert ax.get_xscale() == "log"  # errors span four decades
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights) == len(errors)
    assert "10 above the threshold (5.0%)" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == [
        "normal (label 0): 190",
        "anomalous (label 1): 10",
    ]
    with pytest.raises(DataError, match="labels must be boolean or 0/1"):
        figures.error_histogram(errors, labels=labels * 2)
    with pytest.raises(DataError, match="NaN"):
        figures.error_histogram(np.array([1.0, np.nan]))


def test_kl_bars_are_one_per_dimension_with_the_given_heights(vae, digits):
    kl = np.array(vae.evaluate(digits[0][:200])["vae"]["kl_per_dim"])
    ax = figures.kl_per_dimension(kl).axes[0]
    assert len(ax.patches) == 3
    np.testing.assert_allclose([p.get_height() for p in ax.patches], kl)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.01, 0.01])


def test_codebook_bars_are_one_per_code_sorted(vq, digits):
    counts = np.bincount(vq.encode_indices(digits[0]).ravel(), minlength=16)
    ax = figures.codebook_usage(counts).axes[0]
    assert len(ax.patches) == 16
    np.testing.assert_allclose([p.get_height() for p in ax.patches], np.sort(counts)[::-1])
    p = counts[counts > 0] / counts.sum()
    assert f"perplexity {np.exp(-(p * np.log(p)).sum()):.3g}" in ax.get_title()
    assert f"{(counts > 0).sum()} of 16 codes used" in ax.get_title()


# -- generation -------------------------------------------------------------------------------------
def test_holes_decode_the_same_codes_in_two_titled_panels(plain, vae):
    fig = figures.holes(plain, vae, n=9, random_state=3)
    left, right = fig.axes
    assert left.get_title().startswith("plain autoencoder") and right.get_title().startswith("VAE")
    z = np.random.default_rng(3).standard_normal((9, 3)).astype(np.float32)
    np.testing.assert_allclose(left.images[0].get_array()[:8, :8], plain.inverse_transform(z[:, :2])[0, 0], atol=1e-6)
    np.testing.assert_allclose(right.images[0].get_array()[:8, :8], vae.inverse_transform(z)[0, 0], atol=1e-6)
    with pytest.raises(ConfigError, match="plain has a Gaussian bottleneck"):
        figures.holes(vae, vae)


def test_prior_samples_grid_and_refusal_for_a_plain_model(plain, vae):
    grid = figures.prior_samples(vae, n=16, random_state=1).axes[0].images[0].get_array()
    assert grid.shape == (4 * 8 + 3, 4 * 8 + 3)
    np.testing.assert_allclose(grid[:8, :8], vae.sample(16, random_state=1)[0, 0], atol=1e-6)
    with pytest.raises(ConfigError, match="prior"):
        figures.prior_samples(plain)


def test_interpolation_strip_puts_the_decoded_path_above_the_crossfade(vae, digits):
    x = digits[0]
    path_ax, fade_ax = figures.interpolation_strip(vae, x[0], x[1], steps=5).axes
    assert path_ax.get_title() == "decoded path (slerp, 5 steps)" and fade_ax.get_title() == "pixel crossfade"
    path, fade = path_ax.images[0].get_array(), fade_ax.images[0].get_array()
    assert path.shape == fade.shape == (8, 5 * 8 + 4)
    np.testing.assert_allclose(fade[:, :8], x[0, 0], atol=1e-6)
    np.testing.assert_allclose(path[:, -8:], vae.interpolate(x[0], x[1], steps=5)[-1, 0], atol=1e-6)


def test_figure_to_png_bytes_renders_and_releases(vae):
    fig = figures.loss_curves(vae.history_)
    png = figures.figure_to_png_bytes(fig, dpi=50)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert fig.axes == []
