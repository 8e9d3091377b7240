"""Matplotlib figures of a model and its results, each a function returning a
:class:`~matplotlib.figure.Figure`.

Training and errors live here: :func:`loss_curves`, :func:`reconstruction_grid`,
:func:`error_histogram`, :func:`kl_per_dimension`, :func:`codebook_usage`. The
latent-space pictures (:func:`latent_scatter`, :func:`manifold_map`,
:func:`interpolation_strip`, :func:`prior_samples`, :func:`holes`) live in
:mod:`aekit.report.figures_latent` and are re-exported here.
:func:`figure_to_png_bytes` renders any of them for the HTML report.

Figures are built on ``matplotlib.figure.Figure`` directly (never pyplot), so
nothing global changes and no interactive backend is needed.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from aekit.errors import ConfigError, DataError
from aekit.report._plot import (
    GREY,
    HEAT,
    as_batch,
    check_count,
    heat_map,
    is_image,
    new_figure,
    show_tiles,
    tile,
    value_range,
)
from aekit.report.figures_latent import (
    holes,
    interpolation_strip,
    latent_scatter,
    manifold_coordinates,
    manifold_map,
    prior_samples,
)

__all__ = [
    "loss_curves",
    "reconstruction_grid",
    "latent_scatter",
    "manifold_map",
    "manifold_coordinates",
    "interpolation_strip",
    "prior_samples",
    "holes",
    "error_histogram",
    "kl_per_dimension",
    "codebook_usage",
    "figure_to_png_bytes",
]

# A log axis when every value is positive and they span more than this factor.
_LOG_SPAN = 20.0


def figure_to_png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """Render ``fig`` as PNG bytes and release it (the figure is cleared after).

    Examples
    --------
    >>> png = figure_to_png_bytes(kl_per_dimension(np.array([0.5, 0.0])))
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    check_count("dpi", dpi)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    fig.clear()
    return buf.getvalue()


def loss_curves(history: list[dict[str, Any]]) -> Figure:
    """Training curves: every loss term per epoch, train solid, validation dashed.

    Parameters
    ----------
    history : list of dict
        ``AutoEncoder.history_`` (or a model directory's history.json): one record
        per epoch with ``epoch``, ``train`` (term -> value) and ``val`` (the same
        terms, or None without a validation split); VQ models add ``model`` with
        ``codebook_usage`` and ``perplexity``, drawn in a second panel.

    Returns
    -------
    Figure
        One line per term and split, labelled ``"<term> (train)"`` / ``"<term> (val)"``,
        the same colour for a term in both; a dotted vertical line at the best
        validation epoch. The y axis is logarithmic when the values are positive
        and span more than a factor of 20.

    Examples
    --------
    >>> history = [{"epoch": e, "train": {"loss": 1.0 / e, "kl": 0.1}, "val": {"loss": 1.2 / e, "kl": 0.1}}
    ...            for e in (1, 2, 3)]
    >>> fig = loss_curves(history)
    >>> sorted(line.get_label() for line in fig.axes[0].get_lines() if "(" in line.get_label())
    ['kl (train)', 'kl (val)', 'loss (train)', 'loss (val)']
    """
    if not isinstance(history, (list, tuple)) or not history:
        raise DataError(f"history must be a non-empty list of per-epoch records, got {history!r:.80}")
    for i, record in enumerate(history):
        if not isinstance(record, dict) or not isinstance(record.get("train"), dict):
            raise DataError(f"history[{i}] has no 'train' dict of loss terms: {record!r:.80}")
    epochs = np.array([r.get("epoch", i + 1) for i, r in enumerate(history)])
    terms = list(dict.fromkeys(["loss"] + [t for r in history for t in r["train"]]))
    terms = [t for t in terms if any(t in r["train"] for r in history)]
    stats = [r.get("model") or {} for r in history]
    has_model = any(stats)
    fig = new_figure(9.0 if has_model else 6.0, 3.8)
    ax = fig.add_subplot(1, 2, 1) if has_model else fig.add_subplot()
    marker = "o" if len(history) <= 20 else None
    values = []
    for k, term in enumerate(terms):
        colour = f"C{k % 10}"
        for split, style in (("train", "-"), ("val", "--")):
            y = np.array([(r.get(split) or {}).get(term, np.nan) for r in history], dtype=float)
            if np.isnan(y).all():
                continue
            values.append(y[np.isfinite(y)])
            ax.plot(epochs, y, linestyle=style, color=colour, marker=marker, markersize=3, label=f"{term} ({split})")
    finite = np.concatenate(values) if values else np.array([1.0])
    if finite.min() > 0 and finite.max() / finite.min() > _LOG_SPAN:
        ax.set_yscale("log")
    watched = [(r.get("val") or r["train"]).get("loss", np.nan) for r in history]
    if np.isfinite(watched).any():
        best = int(np.nanargmin(watched))
        ax.axvline(epochs[best], color="grey", linestyle=":", linewidth=1, label=f"best epoch {epochs[best]}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss term (per sample)")
    ax.set_title("Training curves: train solid, validation dashed")
    ax.legend(fontsize="small")
    if has_model:
        _model_stats(fig.add_subplot(1, 2, 2), epochs, stats)
    return fig


def _model_stats(ax, epochs: np.ndarray, stats: list[dict]) -> None:
    """What the model logs about itself per epoch (codebook usage, perplexity)."""
    names = list(dict.fromkeys(k for s in stats for k in s))
    twin = None
    for k, name in enumerate(names):
        y = np.array([s.get(name, np.nan) for s in stats], dtype=float)
        if name == "codebook_usage":
            ax.plot(epochs, 100 * y, color=f"C{k}", label="codebook used (%)")
            ax.set_ylim(0, 105)
        else:
            twin = twin or ax.twinx()
            twin.plot(epochs, y, color=f"C{k}", linestyle="-.", label=name)
            twin.set_ylabel(name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("codebook used (%)")
    ax.set_title("Bottleneck statistics per epoch")
    handles = ax.get_lines() + (twin.get_lines() if twin is not None else [])
    ax.legend(handles, [h.get_label() for h in handles], fontsize="small", loc="lower right")


def reconstruction_grid(x: np.ndarray, x_hat: np.ndarray, n: int = 8) -> Figure:
    """Inputs, their reconstructions and the absolute error, one row each.

    Parameters
    ----------
    x, x_hat : ndarray, shape (m, C, H, W) with C in {1, 3}, (m, H, W) or (m, features)
        Inputs and reconstructions in the same units; the first ``n`` are shown.
    n : int, default 8

    Returns
    -------
    Figure
        Three axes, top to bottom: input, reconstruction, ``|x - x_hat|``. Images
        are tiled in one line (grey, error in the ``magma`` map; RGB error is the
        channel mean); a table is a heat map of rows x features, inputs and
        reconstructions on one colour scale.

    Examples
    --------
    >>> x = np.random.default_rng(0).random((10, 1, 8, 8))
    >>> fig = reconstruction_grid(x, x * 0.9, n=4)
    >>> [ax.get_title() for ax in fig.axes[:3]]
    ['input', 'reconstruction', '|input - reconstruction|']
    >>> fig.axes[0].images[0].get_array().shape   # 4 tiles of 8 px and 3 px of gaps
    (8, 35)
    """
    n = check_count("n", n)
    x, x_hat = as_batch("x", x), as_batch("x_hat", x_hat)
    if x.shape != x_hat.shape:
        raise DataError(f"x has shape {x.shape} but x_hat has shape {x_hat.shape}; they must match")
    x, x_hat = x[:n], x_hat[:n]
    error = np.abs(x - x_hat)
    vrange = value_range(x, x_hat)
    m = len(x)
    image = is_image(x)
    if image:
        h, w = x.shape[2:]
        fig = new_figure(1.0 + 0.9 * m * w / max(h, w), 3 * 0.9 * h / max(h, w) + 1.2)
    else:
        fig = new_figure(7.0, 3 * min(3.0, 1.2 + 0.1 * m) + 0.5)
    axes = fig.subplots(3, 1)
    for ax, batch, title in zip(axes, (x, x_hat, error), ("input", "reconstruction", "|input - reconstruction|")):
        ax.set_title(title)
        err = batch is error
        if image:
            if err and batch.shape[1] == 3:
                batch = batch.mean(1, keepdims=True)
            show_tiles(
                ax,
                tile(batch, cols=m, pad=1),
                (0.0, float(batch.max()) or 1.0) if err else vrange,
                cmap=HEAT if err else GREY,
            )
        else:
            heat_map(ax, batch, (0.0, float(batch.max()) or 1.0) if err else vrange, "magma" if err else "viridis")
    fig.suptitle(f"Reconstructions of {m} sample{'s' * (m != 1)}, mean |error| {error.mean():.3g}")
    return fig


def error_histogram(errors: np.ndarray, threshold: float | None = None, labels: Any = None, bins: int = 50) -> Figure:
    """Histogram of per-sample reconstruction errors (or anomaly scores) with the threshold.

    Parameters
    ----------
    errors : ndarray, shape (m,)
        One finite value per sample, e.g. ``est.reconstruction_error(X)``.
    threshold : float, optional
        Drawn as a vertical red line (``AnomalyDetector.threshold_``); the title
        counts the samples above it.
    labels : array-like of bool or 0/1, shape (m,), optional
        Splits the histogram into normal (0) and anomalous (1) samples.
    bins : int, default 50

    Returns
    -------
    Figure
        One axes; logarithmic bins and x axis when the errors are positive and
        span more than a factor of 20.

    Examples
    --------
    >>> errors = np.random.default_rng(0).exponential(size=200)
    >>> fig = error_histogram(errors, threshold=2.0)
    >>> [float(line.get_xdata()[0]) for line in fig.axes[0].get_lines()]
    [2.0]
    """
    bins = check_count("bins", bins)
    e = np.asarray(errors, dtype=np.float64)
    if e.ndim != 1 or len(e) == 0:
        raise DataError(f"errors must be one value per sample, shape (m,), got shape {e.shape}")
    if not np.isfinite(e).all():
        first = int(np.flatnonzero(~np.isfinite(e))[0])
        raise DataError(f"errors contain NaN or infinite values (first at index {first}: {e[first]})")
    if threshold is not None and not np.isfinite(threshold):
        raise ConfigError(f"threshold={threshold!r} must be a finite number")
    split = None
    if labels is not None:
        split = np.asarray(labels)
        if split.shape != e.shape:
            raise DataError(f"labels has shape {split.shape}; it must match errors, {e.shape}")
        if not np.isin(split, (0, 1)).all():
            raise DataError(f"labels must be boolean or 0/1, got values {np.unique(split)[:5].tolist()}")
        split = split.astype(bool)
    low, high = float(e.min()), float(e.max())
    if threshold is not None:
        low, high = min(low, threshold), max(high, threshold)
    log = low > 0 and high / low > _LOG_SPAN
    edges = np.geomspace(low, high, bins + 1) if log else np.linspace(low, high if high > low else low + 1, bins + 1)
    fig = new_figure(6.0, 4.0)
    ax = fig.add_subplot()
    if split is None:
        ax.hist(e, bins=edges, color="C0", label=f"samples ({len(e)})")
    else:
        for mask, name, colour in ((~split, "normal (label 0)", "C0"), (split, "anomalous (label 1)", "C1")):
            ax.hist(e[mask], bins=edges, color=colour, alpha=0.6, label=f"{name}: {int(mask.sum())}")
    title = f"Reconstruction error of {len(e)} samples"
    if threshold is not None:
        above = int((e > threshold).sum())
        ax.axvline(threshold, color="red", linestyle="--", label=f"threshold {threshold:.3g}")
        title += f"\n{above} above the threshold ({above / len(e):.1%})"
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("reconstruction error" + (" (log scale)" if log else ""))
    ax.set_ylabel("samples")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return fig


def kl_per_dimension(kl: np.ndarray, threshold: float = 0.01) -> Figure:
    """Bars of the mean KL(q(z_j|x) || N(0, 1)) of each latent dimension of a VAE.

    A dimension whose KL stays near 0 carries no information about x: its
    posterior has collapsed to the prior. The line at ``threshold`` nats marks
    that (a KL-based stand-in for Burda et al.'s variance test of active units,
    which ``est.evaluate`` reports as ``active_units``).

    Parameters
    ----------
    kl : ndarray, shape (code_dim,)
        Nats per dimension, e.g. ``est.evaluate(X)["vae"]["kl_per_dim"]``.
    threshold : float, default 0.01

    Returns
    -------
    Figure
        One bar per dimension with height ``kl[j]``, blue above the threshold and
        grey below.

    Examples
    --------
    >>> fig = kl_per_dimension(np.array([2.0, 0.001, 0.7]))
    >>> [float(p.get_height()) for p in fig.axes[0].patches]
    [2.0, 0.001, 0.7]
    """
    k = np.asarray(kl, dtype=np.float64)
    if k.ndim != 1 or len(k) == 0:
        raise DataError(f"kl must be one value per latent dimension, shape (code_dim,), got shape {k.shape}")
    if not np.isfinite(k).all():
        raise DataError("kl contains NaN or infinite values")
    if not np.isfinite(threshold) or threshold < 0:
        raise ConfigError(f"threshold={threshold!r} must be a finite number >= 0")
    active = k > threshold
    fig = new_figure(max(5.0, 1.5 + 0.35 * len(k)), 3.8)
    ax = fig.add_subplot()
    ax.bar(np.arange(len(k)), k, color=np.where(active, "C0", "0.6"))
    ax.axhline(threshold, color="red", linestyle="--", linewidth=1, label=f"{threshold:g} nats")
    ax.set_xlabel("latent dimension")
    ax.set_ylabel("KL (nats per sample)")
    ax.set_title(
        f"KL per latent dimension (total {k.sum():.3g} nats)\n"
        f"{int(active.sum())} of {len(k)} dimensions above {threshold:g} nats"
    )
    if len(k) <= 32:
        ax.set_xticks(np.arange(len(k)))
    ax.legend(fontsize="small")
    return fig


def codebook_usage(counts: np.ndarray) -> Figure:
    """How often each of the K codebook vectors of a VQ model is used, most used first.

    Parameters
    ----------
    counts : ndarray of int, shape (K,)
        Uses per code, e.g. ``np.bincount(est.encode_indices(X).ravel(), minlength=K)``.

    Returns
    -------
    Figure
        K bars in descending order, a dashed line at the uniform count; the title
        gives the share of codes used and the perplexity ``exp(H(p))`` of the code
        frequencies (K when all are used equally, 1 for a collapsed codebook).

    Examples
    --------
    >>> fig = codebook_usage(np.array([5, 0, 5, 10]))
    >>> [float(p.get_height()) for p in fig.axes[0].patches]
    [10.0, 5.0, 5.0, 0.0]
    >>> fig.axes[0].get_title()
    'Codebook usage: 3 of 4 codes used (75%), perplexity 2.83'
    """
    c = np.asarray(counts)
    if c.ndim != 1 or len(c) == 0:
        raise DataError(f"counts must be one count per codebook vector, shape (K,), got shape {c.shape}")
    if not np.isfinite(c).all() or (c < 0).any() or c.sum() <= 0:
        raise DataError("counts must be finite, non-negative and not all zero")
    c = c.astype(np.float64)
    p = c[c > 0] / c.sum()
    perplexity = float(np.exp(-(p * np.log(p)).sum()))
    used = int((c > 0).sum())
    fig = new_figure(6.5, 3.5)
    ax = fig.add_subplot()
    ax.bar(np.arange(len(c)), np.sort(c)[::-1], width=1.0 if len(c) > 64 else 0.8, color="C0")
    ax.axhline(c.sum() / len(c), color="red", linestyle="--", linewidth=1, label="uniform use")
    ax.set_xlabel("code, by rank of use")
    ax.set_ylabel("tokens")
    ax.set_title(f"Codebook usage: {used} of {len(c)} codes used ({used / len(c):.0%}), perplexity {perplexity:.3g}")
    ax.legend(fontsize="small")
    return fig
