"""The self-contained HTML report: one file, images inline, nothing fetched.

:func:`build_report` renders a fitted model and its data as one HTML page: the
model card, its test metrics beside PCA's at the same code size, and the figures
of :mod:`aekit.report.figures` that apply to the model's variant and the data.
Every image is a ``data:image/png;base64`` URL, the CSS is inline, there is no
JavaScript, and a Content-Security-Policy forbids every other source, so the file
opens from disk in a browser that is offline, and can be mailed or archived.

Each part is a ``<section id=...>`` whose id never changes (see :data:`SECTIONS`);
which sections a report holds follows from :func:`applicable_sections`:

============== ==============================================================
id             when it is present
============== ==============================================================
model-card     always: variant, architecture, sizes, training time and data
metrics        always: the model's test metrics beside PCA's (a table)
training       the model has a training history (loss curves)
reconstructions inputs above their reconstructions and the error (images; numeric
               tables as heat maps, not tables read through a column schema)
latent         always: the codes in 2-D, coloured by label when there are labels
manifold       images or numeric tables (one panel per feature), a continuous
               code, and either ``code_dim == 2`` or a Gaussian (VAE) code; below
interpolation  image data: a decoded path between two held-out samples
samples        VAE (Gaussian bottleneck) on image data: decoded prior draws
kl             VAE: KL divergence per latent dimension
codebook       VQ: how often each codebook vector is used
holes          ``holes_reference`` given (a plain model beside a VAE, image data)
errors         always: histogram of per-sample reconstruction errors (anomaly
               scores and the threshold line for an ``AnomalyDetector``)
============== ==============================================================

The manifold map decodes a regular grid over two code dimensions. That picture is
faithful when the code *is* two-dimensional, and for a VAE, whose decoder was
trained on the whole prior N(0, I): there the plane through the prior mean along
the two dimensions with the largest KL (the two most used) shows what those
dimensions encode. For a deterministic code wider than 2, any 2-D slice mostly
crosses regions no training code reached, and a VQ decoder only ever saw codebook
vectors, so both are left out rather than shown misleadingly.
"""

from __future__ import annotations

import base64
import html
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from aekit._atomic import atomic_write_text
from aekit.data import Dataset
from aekit.errors import ConfigError, DataError

# Stable ids, in page order, with the heading each section gets.
SECTIONS = {
    "model-card": "Model card",
    "metrics": "Test metrics beside PCA",
    "training": "Training",
    "reconstructions": "Reconstructions",
    "latent": "Latent codes",
    "manifold": "Decoded latent plane",
    "interpolation": "Interpolation",
    "samples": "Samples from the prior",
    "kl": "KL per latent dimension",
    "codebook": "Codebook usage",
    "holes": "Prior samples: plain autoencoder vs VAE",
    "errors": "Reconstruction errors",
}

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:980px;padding:0 1.2em 3em;
color:#1d2330;background:#fff}
h1{font-size:1.6em;margin:1.2em 0 .2em}h2{font-size:1.2em;margin:0 0 .5em;border-bottom:1px solid #dde2ea;
padding-bottom:.2em}
nav{font-size:.9em;margin:.4em 0 1.2em}nav a{margin-right:.9em;color:#2456a6;text-decoration:none}
section{margin:1.6em 0}p.note{color:#555d6b;font-size:.9em;margin:.3em 0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:.25em .8em;border-bottom:1px solid #e7eaf0;text-align:left}td.num{text-align:right}
thead th{background:#f3f5f9}tr.better td.num:first-of-type{font-weight:600}
img{max-width:100%;height:auto;display:block;margin:.4em 0}
.win{color:#1b7a36}.lose{color:#b3261e}footer{color:#8a919e;font-size:.8em;margin-top:3em}
"""

# Points drawn in the latent scatter: more only blur it and grow the file.
_MAX_SCATTER = 2000


def applicable_sections(est: Any, data: Dataset, *, holes_reference: Any = None) -> list[str]:
    """The section ids a report on ``est`` and ``data`` holds, in page order.

    Parameters
    ----------
    est : AutoEncoder or AnomalyDetector
        A fitted model (a detector is reported through its autoencoder).
    data : Dataset
        The rows the report shows.
    holes_reference : AutoEncoder, optional
        A second model for the "holes" comparison; exactly one of the two must
        have a Gaussian (VAE) code.

    Returns
    -------
    list of str
        Keys of :data:`SECTIONS`.

    Examples
    --------
    >>> import aekit
    >>> X = np.random.default_rng(0).random((60, 1, 4, 4)).astype(np.float32)
    >>> ae = aekit.AutoEncoder(code_dim=2, epochs=1).fit(X)
    >>> applicable_sections(ae, _as_dataset(X))
    ['model-card', 'metrics', 'training', 'reconstructions', 'latent', 'manifold', 'interpolation', 'errors']
    >>> table = aekit.AutoEncoder(code_dim=3, epochs=1).fit(X.reshape(60, 16))  # rows, a 3-D plain code
    >>> applicable_sections(table, _as_dataset(X.reshape(60, 16)))
    ['model-card', 'metrics', 'training', 'reconstructions', 'latent', 'errors']
    """
    ae = _autoencoder(est)
    config = ae.model_.config
    image = len(ae.input_shape_) == 3  # the model's samples are images, however the rows were given
    numeric_table = not image and getattr(ae, "schema_", None) is None
    gaussian = config.bottleneck == "gaussian"
    vq = config.bottleneck == "vq"
    present = {
        "model-card": True,
        "metrics": True,
        "training": bool(getattr(ae, "history_", None)),
        "reconstructions": image or numeric_table,
        "latent": True,
        "manifold": (image or numeric_table) and not vq and (config.code_dim == 2 or gaussian),
        "interpolation": image and len(data) >= 2,
        "samples": image and gaussian,
        "kl": gaussian,
        "codebook": vq,
        "holes": image and holes_reference is not None,
        "errors": True,
    }
    return [name for name in SECTIONS if present[name]]


def build_report(est: Any, data: Any, *, title: str | None = None, holes_reference: Any = None,
                 split: str = "auto") -> str:
    """Render the self-contained HTML report of a fitted model on ``data``.

    Parameters
    ----------
    est : AutoEncoder or AnomalyDetector
        A fitted (or loaded) model. A detector adds its anomaly scores and
        threshold to the error histogram.
    data : Dataset or array-like
        The data to report on. With ``split="auto"`` a Dataset that is the one the
        model directory was fitted on is cut to its held-out rows (see
        :meth:`aekit.data.Dataset.held_out`).
    title : str, optional
        The page title; default names the variant, code size and data.
    holes_reference : AutoEncoder, optional
        Another model on the same data; when one of the two is a VAE and the other
        is not, a "holes" section shows prior draws decoded by both.
    split : {"auto", "all"}
        "all" reports on every row of ``data``.

    Returns
    -------
    str
        The HTML document. It references nothing outside itself.

    Examples
    --------
    >>> import aekit
    >>> X = np.random.default_rng(0).random((80, 6)).astype(np.float32)
    >>> page = build_report(aekit.AutoEncoder(code_dim=2, epochs=2).fit(X), X, title="toy")
    >>> page.startswith("<!DOCTYPE html>"), '<section id="metrics">' in page, "http:" in page or "https:" in page
    (True, True, False)
    """
    from aekit.report import figures

    ae = _autoencoder(est)
    if split not in ("auto", "all"):
        raise ConfigError(f"split={split!r} is not one of: auto, all")
    ds = _as_dataset(data)
    record = getattr(ae, "data_", None)
    rows, where = ds.held_out(record) if split == "auto" else (ds, f"all {len(ds)} rows")
    if holes_reference is not None:
        _check_holes_pair(ae, _autoencoder(holes_reference))
    t0 = time.perf_counter()
    metrics = ae.evaluate(rows)
    config = ae.model_.config
    heading = title or f"aekit report: {config.variant} autoencoder, code size {config.code_dim}, on {ds.name}"

    parts: dict[str, str] = {}
    for name in applicable_sections(est, rows, holes_reference=holes_reference):
        parts[name] = _SECTION_BUILDERS[name](est=est, ae=ae, rows=rows, where=where, metrics=metrics,
                                              figures=figures, holes_reference=holes_reference)
    headings = dict(SECTIONS)
    if getattr(est, "threshold_", None) is not None:
        headings["errors"] = "Anomaly scores and threshold"
    nav = " ".join(f'<a href="#{name}">{_e(headings[name])}</a>' for name in parts)
    body = "\n".join(f'<section id="{name}">\n<h2>{_e(headings[name])}</h2>\n{content}\n</section>'
                     for name, content in parts.items())
    from aekit._version import __version__

    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(heading)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_e(heading)}</h1>\n<p class=\"note\">Figures and metrics on {_e(where)} of {_e(ds.name)}.</p>\n"
        f"<nav>{nav}</nav>\n{body}\n"
        f"<footer>aekit {_e(__version__)}; built in {time.perf_counter() - t0:.1f} s; "
        "a single file with every image inline: it needs no network.</footer>\n</body>\n</html>\n"
    )


def write_report(est: Any, data: Any, path: str | Path, **options: Any) -> Path:
    """Write :func:`build_report`'s page to ``path`` atomically (no half-written file).

    ``options`` are passed on to :func:`build_report`. Returns the path.

    Examples
    --------
    >>> import aekit, tempfile
    >>> X = np.random.default_rng(0).random((80, 6)).astype(np.float32)
    >>> ae = aekit.AutoEncoder(code_dim=2, epochs=1).fit(X)
    >>> out = write_report(ae, X, tempfile.mkdtemp() + "/report.html")
    >>> out.read_text().count("<section")
    7
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"report {path} must end in .html")
    page = build_report(est, data, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, page)
    return path


# -- sections -------------------------------------------------------------------------
def _model_card(*, ae, rows, where, metrics, **_) -> str:
    config = ae.model_.config
    history = getattr(ae, "history_", None) or []
    saved = getattr(ae, "metrics_", None) or {}
    seconds = saved.get("train_seconds", sum(float(h.get("seconds", 0.0)) for h in history))
    if config.arch == "mlp":
        from aekit.nn.mlp import default_hidden

        hidden = config.hidden or default_hidden(config.n_features, config.code_dim)
        width = f"hidden widths {list(hidden)}, {config.activation}"
    else:
        width = f"channels {list(config.channels)}, {config.activation}" if config.arch == "conv" else ""
    model = [
        ("variant", config.variant),
        ("architecture", f"{config.arch} {width}".strip()),
        ("bottleneck", config.bottleneck),
        ("code size", f"{config.code_dim} ({metrics['compression_ratio']:.1f}x compression)"),
        ("input shape", " x ".join(str(s) for s in config.input_shape)),
        ("reconstruction loss", config.loss),
        ("parameters", f"{ae.model_.n_parameters:,}"),
    ]
    extras = [("corruption", config.corruption and f"{config.corruption} {config.corruption_level}"),
              ("penalty", config.penalty and f"{config.penalty} {config.penalty_weight}"),
              ("beta", config.beta if config.bottleneck == "gaussian" else None),
              ("codebook size", getattr(ae.model_.bottleneck, "codebook_size", None))]
    model += [(k, v) for k, v in extras if v]
    best = saved.get("best_epoch", getattr(ae, "best_epoch_", None))
    training = [("epochs run", f"{len(history)} of {ae.epochs}" + (f" (best {best})" if best else "")),
                ("training time", f"{seconds:.1f} s"), ("batch size", ae.batch_size), ("learning rate", ae.lr)]
    record = getattr(ae, "data_", None) or {}
    data = [("data", record.get("spec", rows.name)), ("kind", rows.kind)]
    if record.get("n") is not None:
        data.append(("samples", f"{record['n']:,} ({record.get('n_train', '?')} trained on, "
                                f"{record.get('n_test', '?')} held out, {record.get('split', '?')} split)"))
    data.append(("reported on", f"{where} ({len(rows):,} samples)"))
    return "\n".join(_key_values(title, items) for title, items in
                     (("Model", model), ("Training", training), ("Data", data)))


def _metrics(*, ae, metrics, **_) -> str:
    k = metrics["code_dim"]
    gain = metrics["gain_vs_pca"]
    verdict = (f'<span class="win">{gain:.0%} lower error than PCA</span>' if gain >= 0
               else f'<span class="lose">{-gain:.0%} higher error than PCA: PCA wins</span>')
    rows = [("mean squared error", metrics["mse"], metrics["pca_mse"], "mse"),
            ("gain vs PCA (1 - mse / pca_mse)", gain, None, "gain_vs_pca"),
            ("samples", metrics["n_samples"], metrics["n_samples"], "n_samples"),
            ("code size", k, metrics.get("pca_dim", min(k, ae.n_features_in_)), "code_dim")]
    sparsity = metrics.get("code_sparsity") or {}
    if "near_zero_share" in sparsity:
        rows.append(("code units near zero", sparsity["near_zero_share"], None, "near_zero_share"))
    vae = metrics.get("vae")
    if vae:
        rows += [("ELBO (nats per sample)", vae["elbo"], None, "elbo"),
                 (f"importance-weighted bound, k={vae['iw_k']}", vae["iw_bound"], None, "iw_bound"),
                 ("KL (nats)", vae["kl"], None, "kl"),
                 (f"active units (of {k})", vae["active_units"], None, "active_units")]
    vq = metrics.get("vq")
    if vq:
        rows += [("codebook usage", vq["codebook_usage"], None, "codebook_usage"),
                 ("perplexity", vq["perplexity"], None, "perplexity"),
                 ("tokens per sample", vq["tokens_per_sample"], None, "tokens_per_sample")]
    body = "\n".join(f'<tr data-metric="{key}"><th>{_e(label)}</th>{_cell(ours)}{_cell(pca)}</tr>'
                     for label, ours, pca, key in rows)
    return (f"<p>{verdict} at the same code size ({k}), PCA fitted on the same training data.</p>\n"
            f"<table>\n<thead><tr><th>metric</th><th>autoencoder</th><th>PCA-{k}</th></tr></thead>\n"
            f"<tbody>\n{body}\n</tbody>\n</table>")


def _training(*, ae, figures, **_) -> str:
    return _figure(figures.loss_curves(ae.history_), "training and validation loss per epoch",
                   "Loss per epoch on the training rows and the validation rows held out of them.")


def _reconstructions(*, ae, rows, figures, **_) -> str:
    n = min(8, len(rows))
    first = rows.subset(slice(0, n))
    x = first.x.reshape(n, *ae.input_shape_)
    return _figure(figures.reconstruction_grid(x, ae.reconstruct(first), n=n),
                   "held-out inputs above their reconstructions",
                   f"The first {n} reported samples (top) and their reconstructions (bottom).")


def _latent(*, ae, rows, figures, **_) -> str:
    take = rows if len(rows) <= _MAX_SCATTER else rows.subset(
        np.sort(np.random.default_rng(0).choice(len(rows), _MAX_SCATTER, replace=False)))
    codes = ae.transform(take)
    labelled = take.y is not None
    note = (f"{len(take):,} codes" + (", coloured by label" if labelled else "") +
            ("" if codes.shape[1] == 2 else f"; {codes.shape[1]}-D codes projected to 2-D"))
    return _figure(figures.latent_scatter(codes, labels=take.y, label_names=take.label_names),
                   "the codes of the reported samples in two dimensions", note + ".")


def _manifold(*, ae, rows, metrics, figures, **_) -> str:
    config = ae.model_.config
    if config.code_dim == 2:
        dims, note = (0, 1), "Decodes of a regular grid over the 2-D code space."
    else:  # a VAE: the two most informative dimensions, the others at the prior mean 0
        kl = np.asarray(metrics["vae"]["kl_per_dim"])
        dims = tuple(int(d) for d in sorted(np.argsort(kl)[::-1][:2]))
        note = (f"Decodes of a grid over latent dimensions {dims[0]} and {dims[1]} (the two with the "
                "largest KL), every other dimension at the prior mean 0.")
    if config.bottleneck == "gaussian":  # the grid spans the prior's quantiles
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
    return _figure(figures.interpolation_strip(ae, rows.x[a].reshape(shape), rows.x[b].reshape(shape), steps=10),
                   "decoded path between two codes",
                   f"{which}: the decoded path between their codes, above the pixel crossfade of the two.")


def _samples(*, ae, figures, **_) -> str:
    return _figure(figures.prior_samples(ae, n=64, random_state=0), "decoded draws from the prior",
                   "64 codes drawn from N(0, I) and decoded.")


def _kl(*, metrics, figures, **_) -> str:
    kl = np.asarray(metrics["vae"]["kl_per_dim"])
    return _figure(figures.kl_per_dimension(kl), "KL divergence per latent dimension",
                   f"Dimensions with near-zero KL carry no information (collapsed to the prior); "
                   f"{metrics['vae']['active_units']} of {len(kl)} are active.")


def _codebook(*, ae, rows, metrics, figures, **_) -> str:
    size = ae.model_.bottleneck.codebook_size
    counts = np.bincount(ae.encode_indices(rows).ravel(), minlength=size)
    return _figure(figures.codebook_usage(counts), "codebook usage",
                   f"{int((counts > 0).sum())} of {size} codebook vectors used by the reported samples; "
                   f"perplexity {metrics['vq']['perplexity']:.0f}.")


def _holes(*, ae, holes_reference, figures, **_) -> str:
    other = _autoencoder(holes_reference)
    vae, plain = (ae, other) if ae.model_.config.bottleneck == "gaussian" else (other, ae)
    return _figure(figures.holes(plain, vae, n=16, random_state=0), "prior draws decoded by both models",
                   "The same N(0, I) codes decoded by a plain autoencoder (whose codes follow no known "
                   "distribution: draws land in holes between its data) and by the VAE.")


def _errors(*, est, ae, rows, figures, **_) -> str:
    threshold = getattr(est, "threshold_", None)
    if threshold is not None:  # an AnomalyDetector: its scores, its threshold
        values = est.anomaly_score(rows)
        labels = rows.y if rows.y is not None and set(np.unique(rows.y).tolist()) <= {0, 1} else None
        flagged = int((values > threshold).sum())
        note = (f"Anomaly scores of {len(rows):,} samples; {flagged} lie above the threshold {threshold:.4g} "
                "and are flagged.")
    else:
        values, labels = ae.reconstruction_error(rows), None
        note = (f"Mean squared error per sample of {len(rows):,} samples; median {np.median(values):.4g}, "
                f"99th percentile {np.quantile(values, 0.99):.4g}.")
    return _figure(figures.error_histogram(values, threshold=threshold, labels=labels),
                   "histogram of per-sample errors", note)


_SECTION_BUILDERS = {"model-card": _model_card, "metrics": _metrics, "training": _training,
                     "reconstructions": _reconstructions, "latent": _latent, "manifold": _manifold,
                     "interpolation": _interpolation, "samples": _samples, "kl": _kl, "codebook": _codebook,
                     "holes": _holes, "errors": _errors}


# -- helpers --------------------------------------------------------------------------
def _autoencoder(est: Any):
    """The fitted AutoEncoder inside ``est`` (itself, or a detector's)."""
    ae = getattr(est, "autoencoder_", est)
    if not hasattr(ae, "model_"):
        raise ConfigError(f"{type(est).__name__} is not fitted: a report needs a fitted AutoEncoder or "
                          "AnomalyDetector (call fit, or aekit.load a model directory)")
    return ae


def _check_holes_pair(ae, other) -> None:
    kinds = sorted(m.model_.config.bottleneck == "gaussian" for m in (ae, other))
    if kinds != [False, True]:
        raise ConfigError("holes_reference must pair a VAE with a non-VAE model (one Gaussian bottleneck), "
                          f"got bottlenecks {ae.model_.config.bottleneck!r} and {other.model_.config.bottleneck!r}")
    if tuple(other.input_shape_) != tuple(ae.input_shape_):
        raise DataError(f"holes_reference takes samples of shape {tuple(other.input_shape_)}, the model "
                        f"{tuple(ae.input_shape_)}: they must model the same data")


def _as_dataset(data: Any) -> Dataset:
    """A Dataset as given; arrays become one (4-D: images, else a table)."""
    if isinstance(data, Dataset):
        return data
    if hasattr(data, "iloc"):
        raise DataError("build_report takes a Dataset or an array; load a table with aekit.data.load(path)")
    x = np.asarray(data, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim < 2 or len(x) == 0:
        raise DataError(f"data must hold one row per sample, got an array of shape {x.shape}")
    return Dataset(x=x, y=None, kind="image" if x.ndim == 4 else "table", name="array")


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
