"""Figures of the latent space: the code scatter, the decoded manifold, paths,
prior samples and the "holes" of a plain autoencoder's code space.

The scatter of encoded samples is in :mod:`aekit.report.figures_scatter` (re-exported
here); this module draws what the decoder makes of chosen codes. All are re-exported
by :mod:`aekit.report.figures`; see there for the whole set.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from aekit.errors import ConfigError
from aekit.report._plot import (
    as_batch,
    check_count,
    codes_of,
    is_gaussian,
    is_image,
    new_figure,
    show_batch,
    show_tiles,
    tile,
    value_range,
)
from aekit.report.figures_scatter import (  # noqa: F401
    MAX_CLASSES,
    SCATTER_METHODS,
    _label_name,
    _project,
    latent_scatter,
)

# The VAE grid covers the prior's 5-95 % quantiles: further out the decodes are
# of codes the encoder almost never produces (Kingma & Welling 2014, fig. 4).
PRIOR_QUANTILES = (0.05, 0.95)
# A table's manifold shows one panel per feature, at most this many.
MAX_FEATURE_PANELS = 16


def manifold_coordinates(
    est, n: int = 15, dims: tuple[int, ...] = (0, 1), span: Any = None, X: Any = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The grid values along each axis of :func:`manifold_map`.

    A Gaussian-bottleneck model (VAE) without ``span`` gets the prior's quantiles,
    ``norm.ppf(linspace(0.05, 0.95, n))`` (the inverse normal CDF), so each tile
    covers the same prior mass.
    Otherwise ``span`` sets the range: ``(lo, hi)`` for both axes or
    ``((lo, hi), (lo, hi))`` per axis; failing that, the 0.5-99.5 % range of the
    codes of ``X`` (padded 10 % each side, as the explorer does).

    Returns
    -------
    xs : ndarray, shape (n,), increasing (columns, left to right)
    ys : ndarray, shape (n,), decreasing (rows, top to bottom), or None for a 1-D code

    Examples
    --------
    >>> from aekit import AutoEncoder
    >>> vae = AutoEncoder(code_dim=2, variant="vae", epochs=1).fit(np.random.default_rng(0).random((40, 4)))
    >>> xs, ys = manifold_coordinates(vae, n=3)
    >>> np.round(xs, 3) + 0.0, np.round(ys, 3) + 0.0
    (array([-1.645,  0.   ,  1.645]), array([ 1.645,  0.   , -1.645]))
    """
    n = check_count("n", n, low=2)
    dims = _check_dims(dims, codes_of(est))
    if span is not None:
        spans = np.asarray(span, dtype=np.float64)
        if spans.shape == (2,):
            spans = np.stack([spans, spans])
        if spans.shape != (2, 2) or not np.isfinite(spans).all() or (spans[:, 1] <= spans[:, 0]).any():
            raise ConfigError(f"span={span!r} must be (lo, hi) or ((lo, hi), (lo, hi)) with lo < hi")
    elif is_gaussian(est):
        q = np.array([NormalDist().inv_cdf(p) for p in np.linspace(*PRIOR_QUANTILES, n)])  # norm.ppf
        return q, (q[::-1].copy() if len(dims) == 2 else None)
    elif X is not None:
        codes = est.transform(X)[:, list(dims)]  # (m, len(dims))
        low, high = np.percentile(codes, [0.5, 99.5], axis=0)
        pad = np.maximum(0.1 * (high - low), 1e-3)
        spans = np.stack([low - pad, high + pad], axis=1)
        spans = np.vstack([spans, spans])[:2]
    else:
        raise ConfigError(
            f"the codes of a {est.model_.config.bottleneck!r} bottleneck follow no known "
            "distribution: pass span=(lo, hi) or X (the training data, whose codes set the range)"
        )
    xs = np.linspace(*spans[0], n)
    return xs, (np.linspace(*spans[1], n)[::-1] if len(dims) == 2 else None)


def _check_dims(dims: Any, code_dim: int) -> tuple[int, ...]:
    if code_dim == 1:
        return (0,)
    try:
        dims = tuple(int(d) for d in dims)
    except (TypeError, ValueError):
        raise ConfigError(f"dims={dims!r} must be two code dimensions, e.g. (0, 1)") from None
    if len(dims) != 2 or dims[0] == dims[1] or not all(0 <= d < code_dim for d in dims):
        raise ConfigError(f"dims={dims!r} must be two different integers in [0, {code_dim - 1}]")
    return dims


def manifold_map(
    est, n: int = 15, dims: tuple[int, int] = (0, 1), base: Any = None, span: Any = None, X: Any = None
) -> Figure:
    """Decodes of an n x n grid of codes over the latent plane of two code dimensions.

    Parameters
    ----------
    est : fitted AutoEncoder
    n : int, default 15
        Grid side (>= 2).
    dims : pair of int, default (0, 1)
        Code dimensions along x (columns) and y (rows, high at the top); a 1-D
        code gives one row of ``n`` decodes.
    base : array-like, shape (code_dim,), optional
        Values of the other dimensions: 0 by default (the prior's mean for a VAE),
        the mean code of ``X`` when ``X`` is given.
    span, X
        The grid's range, see :func:`manifold_coordinates`.

    Returns
    -------
    Figure
        Images: one AxesImage of shape (n * H, n * W) (plus 3 for RGB), tiles
        touching, tick labels at tile centres giving the code values. Tables: one
        n x n heat map per feature (the first 16), the decoded value of that
        feature over the plane.

    Examples
    --------
    >>> from aekit import AutoEncoder
    >>> X = np.random.default_rng(0).random((60, 1, 4, 4)).astype(np.float32)
    >>> vae = AutoEncoder(code_dim=3, variant="vae", epochs=1).fit(X)
    >>> manifold_map(vae, n=5).axes[0].images[0].get_array().shape
    (20, 20)
    """
    code_dim = codes_of(est)
    dims = _check_dims(dims, code_dim)
    xs, ys = manifold_coordinates(est, n, dims, span, X)
    if base is None:
        start = est.transform(X).mean(0) if X is not None and not is_gaussian(est) else np.zeros(code_dim)
    else:
        start = np.asarray(base, dtype=np.float64).ravel()
        if start.shape != (code_dim,) or not np.isfinite(start).all():
            raise ConfigError(
                f"base must be {code_dim} finite numbers (one per code dimension), got shape {np.asarray(base).shape}"
            )
    rows = 1 if ys is None else n
    z = np.repeat(start[None], rows * n, axis=0)  # (rows * n, code_dim), row-major from the top left
    z[:, dims[0]] = np.tile(xs, rows)
    if ys is not None:
        z[:, dims[1]] = np.repeat(ys, n)
    decoded = as_batch("decoded grid", est.inverse_transform(z.astype(np.float32)))
    spacing = "spaced by prior quantiles" if is_gaussian(est) and span is None else "evenly spaced"
    others = ""
    if code_dim > len(dims):
        at = "base" if base is not None else "the mean code" if X is not None and not is_gaussian(est) else "0"
        others = f", other dimensions at {at}"
    title = f"Decoded latent plane, {rows} x {n} grid ({spacing}{others})"
    if is_image(decoded):
        h, w = decoded.shape[2:]
        fig = new_figure(7.0, 7.0 * rows * h / (n * w) + 0.8)
        ax = fig.add_subplot()
        show_tiles(ax, tile(decoded, cols=n), value_range(decoded))
        for i in range(1, n):  # thin lines between touching tiles; the image itself stays n*H x n*W
            ax.axvline(i * w - 0.5, color="white", linewidth=0.8)
        for i in range(1, rows):
            ax.axhline(i * h - 0.5, color="white", linewidth=0.8)
        _grid_ticks(ax.set_xticks, xs, w)
        ax.set_xlabel(f"z{dims[0]}")
        if ys is not None:
            _grid_ticks(ax.set_yticks, ys, h)
            ax.set_ylabel(f"z{dims[1]}")
        ax.set_title(title)
        return fig
    return _feature_planes(est, decoded.reshape(len(z), -1), xs, ys, dims, title)


def _grid_ticks(set_ticks, values: np.ndarray, size: int) -> None:
    """At most 8 tick labels, at tile centres, giving the code value there."""
    step = max(1, math.ceil(len(values) / 8))
    idx = np.arange(0, len(values), step)
    set_ticks(idx * size + (size - 1) / 2.0, [f"{v:.2g}" for v in values[idx]])


def _feature_planes(est, decoded: np.ndarray, xs, ys, dims, title: str) -> Figure:
    """A table model's manifold: each feature's decoded value over the plane."""
    n_features = decoded.shape[1]
    names = getattr(est, "feature_names_in_", None)
    if names is None or len(names) != n_features:
        names = [f"feature {j}" for j in range(n_features)]
    shown = min(n_features, MAX_FEATURE_PANELS)
    cols = min(4, shown)
    fig = new_figure(3.2 * cols, 3.0 * math.ceil(shown / cols) + 0.6)
    rows = 1 if ys is None else len(ys)
    extent = (xs[0], xs[-1], ys[-1], ys[0]) if ys is not None else (xs[0], xs[-1], 0, 1)
    for j in range(shown):
        ax = fig.add_subplot(math.ceil(shown / cols), cols, j + 1)
        plane = decoded[:, j].reshape(rows, len(xs))
        im = ax.imshow(plane, extent=extent, aspect="auto", cmap="viridis", interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.8)
        ax.set_title(str(names[j]), fontsize="small")
        ax.set_xlabel(f"z{dims[0]}")
        if ys is not None:
            ax.set_ylabel(f"z{dims[1]}")
    more = f"; first {shown} of {n_features} features" if shown < n_features else ""
    fig.suptitle(title + more)
    return fig


def interpolation_strip(est, a: Any, b: Any, steps: int = 10, method: str = "auto") -> Figure:
    """The decoded path between two samples' codes above the pixel crossfade of the two.

    Parameters
    ----------
    est : fitted AutoEncoder
    a, b : array-like, one sample each
    steps : int, default 10
        Points on each path, endpoints included.
    method : {"auto", "linear", "slerp"}
        Passed to ``est.interpolate`` ("auto": slerp for a VAE, linear otherwise).

    Returns
    -------
    Figure
        Two axes titled "decoded path (...)" and "pixel crossfade"; images in one
        line of ``steps`` tiles each, tables as heat maps of steps x features.

    Examples
    --------
    >>> from aekit import AutoEncoder
    >>> X = np.random.default_rng(0).random((60, 1, 4, 4)).astype(np.float32)
    >>> ae = AutoEncoder(code_dim=2, epochs=1).fit(X)
    >>> [ax.get_title() for ax in interpolation_strip(ae, X[0], X[1], steps=4).axes]
    ['decoded path (linear, 4 steps)', 'pixel crossfade']
    """
    steps = check_count("steps", steps, low=2)
    path = as_batch("decoded path", est.interpolate(a, b, steps=steps, method=method))
    fade = as_batch("crossfade", est.crossfade(a, b, steps=steps))
    used = method if method != "auto" else ("slerp" if is_gaussian(est) else "linear")
    vrange = value_range(path, fade)
    if is_image(path):
        h, w = path.shape[2:]
        fig = new_figure(1.0 + 0.9 * steps * w / max(h, w), 2 * 0.9 * h / max(h, w) + 1.0)
    else:
        fig = new_figure(7.0, 2.0 + 0.5 * steps)
    for i, (batch, title) in enumerate(((path, f"decoded path ({used}, {steps} steps)"), (fade, "pixel crossfade"))):
        show_batch(fig.add_subplot(2, 1, i + 1), batch, title, cols=steps, vrange=vrange)
    return fig


def prior_samples(est, n: int = 64, random_state: int = 0) -> Figure:
    """Decoded draws from a VAE's prior N(0, I), as a square-ish grid.

    A model without a prior (plain, sparse, VQ ...) raises the ConfigError of
    ``est.sample``.

    Examples
    --------
    >>> from aekit import AutoEncoder
    >>> X = np.random.default_rng(0).random((60, 1, 4, 4)).astype(np.float32)
    >>> vae = AutoEncoder(code_dim=2, variant="vae", epochs=1).fit(X)
    >>> prior_samples(vae, n=9).axes[0].images[0].get_array().shape   # 3 x 3 tiles, 1 px gaps
    (14, 14)
    """
    n = check_count("n", n)
    samples = as_batch("samples", est.sample(n, random_state=random_state))
    fig = new_figure(6.0, 6.0 if is_image(samples) else 2.0 + 0.2 * n)
    show_batch(fig.add_subplot(), samples, f"{n} decoded draws from the prior N(0, I)")
    return fig


def holes(plain, vae, n: int = 16, random_state: int = 0) -> Figure:
    """Random N(0, I) codes decoded by a plain autoencoder beside the same codes
    decoded by a VAE.

    A plain autoencoder's codes fill an irregular region of the code space, so
    random codes mostly land in its holes and decode to blurs or noise; a VAE's
    KL term pulls its codes onto the prior, so the same codes decode to plausible
    samples. When the code sizes differ, both models get the same draws, the
    smaller one their first columns.

    Parameters
    ----------
    plain : fitted AutoEncoder without a Gaussian bottleneck
    vae : fitted AutoEncoder with a Gaussian bottleneck
    n : int, default 16
    random_state : int, default 0

    Returns
    -------
    Figure
        Two axes, titled "plain autoencoder: ..." and "VAE: ...".

    Examples
    --------
    >>> from aekit import AutoEncoder
    >>> X = np.random.default_rng(0).random((60, 1, 4, 4)).astype(np.float32)
    >>> ae = AutoEncoder(code_dim=2, epochs=1).fit(X)
    >>> vae = AutoEncoder(code_dim=2, variant="vae", epochs=1).fit(X)
    >>> [ax.get_title()[:5] for ax in holes(ae, vae, n=4).axes]
    ['plain', 'VAE: ']
    """
    n = check_count("n", n)
    if is_gaussian(plain):
        raise ConfigError("plain has a Gaussian bottleneck (a VAE); pass a deterministic autoencoder as plain")
    if not is_gaussian(vae):
        raise ConfigError(
            f"vae has a {vae.model_.config.bottleneck!r} bottleneck; it must be a VAE "
            "(variant='vae' or bottleneck='gaussian')"
        )
    d_plain, d_vae = codes_of(plain), codes_of(vae)
    z = np.random.default_rng(random_state).standard_normal((n, max(d_plain, d_vae))).astype(np.float32)
    left = as_batch("plain decodes", plain.inverse_transform(z[:, :d_plain]))
    right = as_batch("VAE decodes", vae.inverse_transform(z[:, :d_vae]))
    fig = new_figure(10.0, 5.0)
    show_batch(fig.add_subplot(1, 2, 1), left, f"plain autoencoder: {n} random N(0, I) codes decoded")
    show_batch(fig.add_subplot(1, 2, 2), right, "VAE: the same codes decoded")
    fig.suptitle("Holes in the code space: random codes decode to plausible samples only where training codes lie")
    return fig
