"""The sections of the HTML report: one builder per ``<section id=...>`` of :data:`aekit.report.html.SECTIONS`.

Each builder takes keyword arguments (``est``, ``ae``, ``rows``, ``where``,
``metrics``, ``figures``, ``holes_reference``) and returns the section's inner
HTML. What a section shows follows from what the model can do
(``ae.model_.capabilities``), never from component names.
"""

from __future__ import annotations

import base64
import html
import math
from typing import Any

import numpy as np

from aekit.data import Dataset
from aekit.errors import ConfigError
from aekit.registry import ARCHITECTURES, own_networks

# Points drawn in the latent scatter: more only blur it and grow the file.
_MAX_SCATTER = 2000


# -- sections -------------------------------------------------------------------------
def _model_card(*, ae, rows, where, metrics, **_) -> str:
    config = ae.model_.config
    history = getattr(ae, "history_", None) or []
    saved = getattr(ae, "metrics_", None) or {}
    seconds = saved.get("train_seconds", sum(float(h.get("seconds", 0.0)) for h in history))
    caps = ae.model_.capabilities
    describe = ARCHITECTURES.get(config.arch).describe
    architecture = f"{config.arch} {describe(config) if describe is not None else ''}".strip()
    own = own_networks(config)  # the user's factories replace the architecture on their side
    if own:
        mine = ", ".join(f"own {side} {path}" for side, path in own.items())
        architecture = mine if len(own) == 2 else f"{architecture}; {mine}"
    model = [
        ("variant", config.variant),
        ("architecture", architecture),
        ("bottleneck", config.bottleneck),
        ("code size", f"{config.code_dim} ({metrics['compression_ratio']:.1f}x compression)"),
        ("input shape", " x ".join(str(s) for s in config.input_shape)),
        ("reconstruction loss", config.loss),
        ("parameters", f"{ae.model_.n_parameters:,}"),
    ]
    extras = [
        ("corruption", config.corruption and f"{config.corruption} {config.corruption_level}"),
        ("penalty", config.penalty and f"{config.penalty} {config.penalty_weight}"),
        ("beta", config.beta if "kl" in caps.terms else None),  # beta weighs the KL term
        ("codebook size", ae.model_.bottleneck.codebook_size if caps.has_indices else None),
    ]
    model += [(k, v) for k, v in extras if v]
    best = saved.get("best_epoch", getattr(ae, "best_epoch_", None))
    decisions = getattr(ae, "decisions_", None)
    budget = decisions.budget if decisions is not None else {}
    planned = budget.get("epochs", ae.epochs)
    training = [
        ("epochs run", f"{len(history)} of {planned}" + (f" (best {best})" if best else "")),
        ("training time", f"{seconds:.1f} s"),
        ("batch size", budget.get("batch_size", ae.batch_size)),
        ("learning rate", ae.lr),
    ]
    if budget.get("reason"):
        training.append(("budget", budget["reason"]))
    record = getattr(ae, "data_", None) or {}
    data = [("data", record.get("spec", rows.name)), ("kind", rows.kind)]
    if record.get("n") is not None:
        data.append(
            (
                "samples",
                f"{record['n']:,} ({record.get('n_train', '?')} trained on, "
                f"{record.get('n_test', '?')} held out, {record.get('split', '?')} split)",
            )
        )
    data.append(("reported on", f"{where} ({len(rows):,} samples)"))
    if decisions is not None:  # what the fit decided about the data, and why
        data.append(("decided", f"{decisions.kind}, scaling {decisions.scaling!r}: " + "; ".join(decisions.reasons)))
    return "\n".join(
        _key_values(title, items) for title, items in (("Model", model), ("Training", training), ("Data", data))
    )


def _metrics(*, ae, metrics, **_) -> str:
    k = metrics["code_dim"]
    gain = metrics["gain_vs_pca"]
    verdict = (
        f'<span class="win">{gain:.0%} lower error than PCA</span>'
        if gain >= 0
        else f'<span class="lose">{-gain:.0%} higher error than PCA: PCA wins</span>'
    )
    rows = [
        ("mean squared error", metrics["mse"], metrics["pca_mse"], "mse"),
        ("gain vs PCA (1 - mse / pca_mse)", gain, None, "gain_vs_pca"),
        ("samples", metrics["n_samples"], metrics["n_samples"], "n_samples"),
        ("code size", k, metrics.get("pca_dim", min(k, ae.n_features_in_)), "code_dim"),
    ]
    sparsity = metrics.get("code_sparsity") or {}
    if "near_zero_share" in sparsity:
        rows.append(("code units near zero", sparsity["near_zero_share"], None, "near_zero_share"))
    vae = metrics.get("vae")
    if vae:
        rows += [
            ("ELBO (nats per sample)", vae["elbo"], None, "elbo"),
            (f"importance-weighted bound, k={vae['iw_k']}", vae["iw_bound"], None, "iw_bound"),
            ("KL (nats)", vae["kl"], None, "kl"),
            (f"active units (of {k})", vae["active_units"], None, "active_units"),
        ]
    vq = metrics.get("vq")
    if vq:
        rows += [
            ("codebook usage", vq["codebook_usage"], None, "codebook_usage"),
            ("perplexity", vq["perplexity"], None, "perplexity"),
            ("tokens per sample", vq["tokens_per_sample"], None, "tokens_per_sample"),
        ]
    body = "\n".join(
        f'<tr data-metric="{key}"><th>{_e(label)}</th>{_cell(ours)}{_cell(pca)}</tr>' for label, ours, pca, key in rows
    )
    return (
        f"<p>{verdict} at the same code size ({k}), PCA fitted on the same training data.</p>\n"
        f"<table>\n<thead><tr><th>metric</th><th>autoencoder</th><th>PCA-{k}</th></tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>"
    )


def _training(*, ae, figures, **_) -> str:
    return _figure(
        figures.loss_curves(ae.history_),
        "training and validation loss per epoch",
        "Loss per epoch on the training rows and the validation rows held out of them.",
    )


def _reconstructions(*, ae, rows, figures, **_) -> str:
    n = min(8, len(rows))
    first = rows.subset(slice(0, n))
    x = first.x.reshape(n, *ae.input_shape_)
    return _figure(
        figures.reconstruction_grid(x, ae.reconstruct(first), n=n),
        "held-out inputs above their reconstructions",
        f"The first {n} reported samples (top) and their reconstructions (bottom).",
    )


def _latent(*, ae, rows, figures, **_) -> str:
    take = (
        rows
        if len(rows) <= _MAX_SCATTER
        else rows.subset(np.sort(np.random.default_rng(0).choice(len(rows), _MAX_SCATTER, replace=False)))
    )
    codes = ae.transform(take)
    labelled = take.y is not None
    note = (
        f"{len(take):,} codes"
        + (", coloured by label" if labelled else "")
        + ("" if codes.shape[1] == 2 else f"; {codes.shape[1]}-D codes projected to 2-D")
    )
    return _figure(
        figures.latent_scatter(codes, labels=take.y, label_names=take.label_names),
        "the codes of the reported samples in two dimensions",
        note + ".",
    )


def _manifold(*, ae, rows, metrics, figures, **_) -> str:
    config = ae.model_.config
    if config.code_dim == 2:
        dims, note = (0, 1), "Decodes of a regular grid over the 2-D code space."
    else:  # a VAE: the two most informative dimensions, the others at the prior mean 0
        kl = np.asarray(metrics["vae"]["kl_per_dim"])
        dims = tuple(int(d) for d in sorted(np.argsort(kl)[::-1][:2]))
        note = (
            f"Decodes of a grid over latent dimensions {dims[0]} and {dims[1]} (the two with the "
            "largest KL), every other dimension at the prior mean 0."
        )
    if ae.model_.capabilities.can_sample:  # the grid spans the prior's quantiles
        fig = figures.manifold_map(ae, n=15, dims=dims)
    else:  # a deterministic code has no prior: the reported rows' codes set the range
        fig = figures.manifold_map(ae, n=15, dims=dims, X=rows)
        note += " The grid spans the codes of the reported samples."
    return _figure(fig, "decoded latent plane", note)


def _interpolation(*, ae, rows, figures, **_) -> str:
    a = 0
    b = 1
    if rows.y is not None:  # two different classes make a path worth looking at
        other = np.flatnonzero(rows.y != rows.y[0])
        b = int(other[0]) if len(other) else 1
    shape = tuple(ae.input_shape_)
    which = f"Reported samples {a} and {b}"
    if rows.y is not None:
        which += f" (labels {_label(rows, a)} and {_label(rows, b)})"
    return _figure(
        figures.interpolation_strip(ae, rows.x[a].reshape(shape), rows.x[b].reshape(shape), steps=10),
        "decoded path between two codes",
        f"{which}: the decoded path between their codes, above the pixel crossfade of the two.",
    )


def _samples(*, ae, figures, **_) -> str:
    return _figure(
        figures.prior_samples(ae, n=64, random_state=0),
        "decoded draws from the prior",
        "64 codes drawn from N(0, I) and decoded.",
    )


def _kl(*, metrics, figures, **_) -> str:
    kl = np.asarray(metrics["vae"]["kl_per_dim"])
    return _figure(
        figures.kl_per_dimension(kl),
        "KL divergence per latent dimension",
        f"Dimensions with near-zero KL carry no information (collapsed to the prior); "
        f"{metrics['vae']['active_units']} of {len(kl)} are active.",
    )


def _codebook(*, ae, rows, metrics, figures, **_) -> str:
    size = ae.model_.bottleneck.codebook_size
    counts = np.bincount(ae.encode_indices(rows).ravel(), minlength=size)
    return _figure(
        figures.codebook_usage(counts),
        "codebook usage",
        f"{int((counts > 0).sum())} of {size} codebook vectors used by the reported samples; "
        f"perplexity {metrics['vq']['perplexity']:.0f}.",
    )


def _holes(*, ae, holes_reference, figures, **_) -> str:
    other = _autoencoder(holes_reference)
    vae, plain = (ae, other) if ae.model_.capabilities.can_sample else (other, ae)
    return _figure(
        figures.holes(plain, vae, n=16, random_state=0),
        "prior draws decoded by both models",
        "The same N(0, I) codes decoded by a plain autoencoder (whose codes follow no known "
        "distribution: draws land in holes between its data) and by the VAE.",
    )


def _errors(*, est, ae, rows, figures, **_) -> str:
    threshold = getattr(est, "threshold_", None)
    if threshold is not None:  # an AnomalyDetector: its scores, its threshold
        values = est.anomaly_score(rows)
        labels = rows.y if rows.y is not None and set(np.unique(rows.y).tolist()) <= {0, 1} else None
        flagged = int((values > threshold).sum())
        note = (
            f"Anomaly scores of {len(rows):,} samples; {flagged} lie above the threshold {threshold:.4g} "
            "and are flagged."
        )
    else:
        values, labels = ae.reconstruction_error(rows), None
        note = (
            f"Mean squared error per sample of {len(rows):,} samples; median {np.median(values):.4g}, "
            f"99th percentile {np.quantile(values, 0.99):.4g}."
        )
    return _figure(
        figures.error_histogram(values, threshold=threshold, labels=labels), "histogram of per-sample errors", note
    )


_SECTION_BUILDERS = {
    "model-card": _model_card,
    "metrics": _metrics,
    "training": _training,
    "reconstructions": _reconstructions,
    "latent": _latent,
    "manifold": _manifold,
    "interpolation": _interpolation,
    "samples": _samples,
    "kl": _kl,
    "codebook": _codebook,
    "holes": _holes,
    "errors": _errors,
}


# -- helpers --------------------------------------------------------------------------
def _autoencoder(est: Any):
    """The fitted AutoEncoder inside ``est`` (itself, or a detector's)."""
    ae = getattr(est, "autoencoder_", est)
    if not hasattr(ae, "model_"):
        raise ConfigError(
            f"{type(est).__name__} is not fitted: a report needs a fitted AutoEncoder or "
            "AnomalyDetector (call fit, or aekit.load a model directory)"
        )
    return ae


def _figure(fig, alt: str, note: str) -> str:
    """A figure as an inline PNG, with a caption."""
    from aekit.report.figures import figure_to_png_bytes

    png = figure_to_png_bytes(fig)  # figures are pyplot-free: nothing to close, the GC frees them
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return f'<img src="{src}" alt="{_e(alt)}">\n<p class="note">{_e(note)}</p>'


def _label(rows: Dataset, i: int) -> str:
    y = rows.y[i]
    names = rows.label_names
    return str(names[int(y)]) if names is not None and 0 <= int(y) < len(names) else str(y)


def _key_values(title: str, items: list[tuple[str, Any]]) -> str:
    body = "\n".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in items)
    return f"<h3>{_e(title)}</h3>\n<table>\n{body}\n</table>"


def _cell(value: Any) -> str:
    """A numeric table cell: rounded for reading, the exact value in ``data-value``."""
    if value is None:
        return '<td class="num">&ndash;</td>'
    if isinstance(value, (int, np.integer)):
        return f'<td class="num" data-value="{int(value)}">{int(value):,}</td>'
    value = float(value)
    shown = "nan" if math.isnan(value) else f"{value:.5g}"
    return f'<td class="num" data-value="{value!r}">{shown}</td>'


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
