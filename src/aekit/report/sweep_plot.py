"""The code-size sweep as a picture: test error against code size, PCA beside every model.

One solid line per variant and PCA's curve dashed beside them, both axes on log
scales: code sizes are usually powers of two, and on a log error axis the vertical
gap between a model and PCA is their error ratio, the same at every code size.
PCA's error depends only on the code size and the training rows, so every variant
of a sweep shares one PCA curve.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot), so
nothing here touches a global figure manager or needs a display.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, ScalarFormatter

from aekit._atomic import atomic_path
from aekit.errors import DataError

_NEEDED = ("variant", "code_dim", "mse", "pca_mse")
_EXACT = 1e-9  # an error this small relative to the largest one is rounding: the reconstruction is exact


def error_vs_code_size(rows: Sequence[dict[str, Any]], *, title: str | None = None) -> Figure:
    """Plot each variant's test MSE against code size, with PCA's curve dashed beside them.

    Parameters
    ----------
    rows : sequence of dict
        One dict per trained model, as :func:`aekit.analysis.run_sweep` returns:
        ``variant`` (str), ``code_dim`` (int), ``mse`` and ``pca_mse`` (float, the
        held-out error of the model and of PCA with ``code_dim`` components).
    title : str, optional
        Figure title, e.g. the data set's name.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: x is the code size (log 2 scale, ticks at the sizes swept), y the
        test MSE (log scale); one line with markers per variant, in the order the
        variants first appear in ``rows``, then ``PCA`` (dashed, black). An error
        that is rounding noise (PCA with as many components as features
        reconstructs exactly) is drawn on the axis floor as a "v" marked "exact",
        so it does not stretch the axis over many decades.

    Raises
    ------
    DataError
        ``rows`` is empty or a row lacks one of the keys above.

    Examples
    --------
    >>> rows = [{"variant": "plain", "code_dim": k, "mse": 0.1 / k, "pca_mse": 0.2 / k} for k in (2, 8, 32)]
    >>> fig = error_vs_code_size(rows, title="digits")
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['plain', 'PCA']
    >>> fig.axes[0].get_lines()[1].get_linestyle()
    '--'
    """
    if not rows:
        raise DataError("error_vs_code_size needs at least one row (a trained model); got none")
    for i, row in enumerate(rows):
        missing = [key for key in _NEEDED if key not in row]
        if missing:
            raise DataError(f"row {i} lacks {missing}; each row needs {list(_NEEDED)} (see aekit.analysis.run_sweep)")

    variants = list(dict.fromkeys(row["variant"] for row in rows))
    code_dims = sorted({int(row["code_dim"]) for row in rows})
    # PCA at a code size is the same for every variant (same rows, same components): the first row's value.
    pca = {}
    for row in rows:
        pca.setdefault(int(row["code_dim"]), float(row["pca_mse"]))

    # An error that is float noise (PCA with at least as many components as features is lossless)
    # would stretch a log axis over 15 decades: such points sit on the axis floor, marked "v".
    top = max(max(float(r["mse"]) for r in rows), max(pca.values()))
    meaningful = [e for e in [float(r["mse"]) for r in rows] + list(pca.values()) if e > top * _EXACT]
    floor = min(meaningful) / 2 if meaningful else top / 10

    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for variant in variants:
        points = sorted((int(r["code_dim"]), float(r["mse"])) for r in rows if r["variant"] == variant)
        (line,) = ax.plot(
            [k for k, _ in points], [max(e, floor) for _, e in points], marker="o", linewidth=1.8, label=variant
        )
        _mark_exact(ax, points, top, floor, line.get_color())
    pca_points = [(k, pca[k]) for k in code_dims]
    ax.plot(
        code_dims,
        [max(e, floor) for _, e in pca_points],
        linestyle="--",
        marker="s",
        color="black",
        linewidth=1.4,
        label="PCA",
    )
    _mark_exact(ax, pca_points, top, floor, "black")
    ax.set_ylim(bottom=floor / 1.5)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(code_dims)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    # Plain numbers (0.01, 0.02, 0.05), not 10^-2; 1-2-5 steps over a narrow range, decades over a wide one.
    subs = (1.0, 2.0, 5.0) if top / floor < 300 else (1.0,)
    ax.yaxis.set_major_locator(LogLocator(subs=subs, numticks=12))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("code size (numbers per sample)")
    ax.set_ylabel("test MSE per feature (log scale)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="model")
    if title:
        ax.set_title(title)
    return fig


def _mark_exact(ax, points: list[tuple[int, float]], top: float, floor: float, color: str) -> None:
    """Points whose error is rounding noise: a "v" on the axis floor, labelled once each."""
    for k, error in points:
        if error <= top * _EXACT:
            ax.plot([k], [floor], marker="v", markersize=9, color=color, linestyle="none")
            ax.annotate("exact", (k, floor), textcoords="offset points", xytext=(6, 4), fontsize=8, color=color)


def save_png(fig: Figure, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG at ``path`` atomically (a reader never sees half a file).

    Examples
    --------
    >>> import tempfile
    >>> rows = [{"variant": "vae", "code_dim": k, "mse": 0.1 / k, "pca_mse": 0.2 / k} for k in (2, 4)]
    >>> out = save_png(error_vs_code_size(rows), tempfile.mkdtemp() + "/sweep.png")
    >>> out.read_bytes()[:4] == b"\\x89PNG"
    True
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return path
