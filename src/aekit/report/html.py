"""The self-contained HTML report: one file, images inline, nothing fetched.

:func:`build_report` renders a fitted model and its data as one HTML page: the
model card, its test metrics beside PCA's at the same code size, and the figures
of :mod:`aekit.report.figures` that apply to the model's variant and the data.
Every image is a ``data:image/png;base64`` URL, the CSS is inline, there is no
JavaScript, and a Content-Security-Policy forbids every other source, so the file
opens from disk in a browser that is offline, and can be mailed or archived.

Each part is a ``<section id=...>`` whose id never changes (see :data:`SECTIONS`),
built by :mod:`aekit.report.sections`;
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

import time
from pathlib import Path
from typing import Any

import numpy as np

from aekit._atomic import atomic_write_text
from aekit.data import Dataset
from aekit.errors import ConfigError, DataError
from aekit.report.sections import _SECTION_BUILDERS, _autoencoder, _e

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
    caps = ae.model_.capabilities
    gaussian = caps.can_sample  # a VAE: codes with a N(0, I) prior
    vq = caps.has_indices  # discrete tokens from a codebook
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


def build_report(
    est: Any, data: Any, *, title: str | None = None, holes_reference: Any = None, split: str = "auto"
) -> str:
    """Render the self-contained HTML report of a fitted model on ``data``.

    Parameters
    ----------
    est : AutoEncoder, AnomalyDetector or SeriesAnomalyDetector
        A fitted (or loaded) model. A detector adds its anomaly scores and
        threshold to the error histogram; a series detector gets its own sections
        (:mod:`aekit.report.series`: the series, its reconstruction, the score and the
        flagged spans shaded) and ``data`` is one recording.
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

    if split not in ("auto", "all"):
        raise ConfigError(f"split={split!r} is not one of: auto, all")
    if callable(getattr(est, "spans", None)) and hasattr(est, "window_"):  # a series detector: one recording
        from aekit.report.series import series_sections

        t0 = time.perf_counter()
        where, headings, parts = series_sections(est, data)
        name = getattr(data, "name", "series")
        heading = title or f"aekit report: series anomaly detector, window {est.window_}, on {name}"
        return _page(heading, f"Figures and scores on {where} of {name}.", headings, parts, t0)
    ae = _autoencoder(est)
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
        parts[name] = _SECTION_BUILDERS[name](
            est=est, ae=ae, rows=rows, where=where, metrics=metrics, figures=figures, holes_reference=holes_reference
        )
    headings = dict(SECTIONS)
    if getattr(est, "threshold_", None) is not None:
        headings["errors"] = "Anomaly scores and threshold"
    return _page(heading, f"Figures and metrics on {where} of {ds.name}.", headings, parts, t0)


def _page(heading: str, note: str, headings: dict[str, str], parts: dict[str, str], t0: float) -> str:
    """The HTML document around the sections ``parts`` (inner HTML by section id)."""
    nav = " ".join(f'<a href="#{name}">{_e(headings[name])}</a>' for name in parts)
    body = "\n".join(
        f'<section id="{name}">\n<h2>{_e(headings[name])}</h2>\n{content}\n</section>'
        for name, content in parts.items()
    )
    from aekit._version import __version__

    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(heading)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<h1>{_e(heading)}</h1>\n<p class="note">{_e(note)}</p>\n'
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


# -- helpers --------------------------------------------------------------------------
def _check_holes_pair(ae, other) -> None:
    kinds = sorted(m.model_.capabilities.can_sample for m in (ae, other))
    if kinds != [False, True]:
        raise ConfigError(
            "holes_reference must pair a VAE with a non-VAE model (one Gaussian bottleneck), "
            f"got bottlenecks {ae.model_.config.bottleneck!r} and {other.model_.config.bottleneck!r}"
        )
    if tuple(other.input_shape_) != tuple(ae.input_shape_):
        raise DataError(
            f"holes_reference takes samples of shape {tuple(other.input_shape_)}, the model "
            f"{tuple(ae.input_shape_)}: they must model the same data"
        )


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
