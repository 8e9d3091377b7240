"""The report of a :class:`~aekit.SeriesAnomalyDetector`: the series drawn with its
reconstruction, the per-step score under it with the threshold, the flagged spans
shaded, and (when the data has ``is_anomaly`` labels) the labelled spans beside them.

:func:`series_figure` draws one recording; :func:`series_sections` builds the report's
sections for :func:`aekit.report.html.build_report`, which calls it when the model it
reports is a series detector (it has ``spans`` and a ``window_``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from aekit.errors import DataError
from aekit.report._plot import new_figure
from aekit.report.sections import _figure, _key_values

#: More steps than this are drawn as a min/max envelope per pixel column, not point by point.
MAX_DRAWN = 4000
#: Flagged spans drawn again close up, below the whole series.
ZOOMS = 3

SERIES_SECTIONS = {
    "model-card": "Model card",
    "series": "Series, reconstruction and flagged spans",
    "spans": "Flagged spans, close up",
    "training": "Training",
}


def series_figure(
    x: np.ndarray,
    x_hat: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    spans: list[tuple[int, int]],
    labels: np.ndarray | None = None,
    start: int = 0,
    channels: list[str] | None = None,
) -> Figure:
    """One recording: each channel above with its reconstruction, the score below with the
    threshold; flagged spans shaded orange, labelled anomalies marked by a red band.

    Parameters
    ----------
    x, x_hat : ndarray, shape (T, C)
        The series and its reconstruction.
    scores : ndarray, shape (T,)
        Per-step anomaly scores.
    threshold : float
    spans : list of (start, stop)
        Flagged intervals, in the steps of ``x`` (``start`` not subtracted).
    labels : ndarray, shape (T,), optional
        1 at labelled anomalous steps.
    start : int, default 0
        The step number of ``x[0]`` (for close-ups of a longer series).
    channels : list of str, optional
        Channel names for the y-axes.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> x = np.sin(np.arange(300) / 5.0)[:, None]
    >>> fig = series_figure(x, x * 0.9, np.abs(x[:, 0]), 0.9, [(10, 20)], labels=np.zeros(300))
    >>> len(fig.axes)
    2
    """
    x, x_hat = np.asarray(x, dtype=np.float64), np.asarray(x_hat, dtype=np.float64)
    if x.ndim != 2 or x_hat.shape != x.shape or np.shape(scores) != (len(x),):
        raise DataError(
            f"series_figure needs x and x_hat of one shape (T, C) and scores (T,), got "
            f"{x.shape}, {x_hat.shape} and {np.shape(scores)}"
        )
    T, C = x.shape
    shown = min(C, 6)
    fig = new_figure(12, 1.6 * shown + 1.8)
    axes = fig.subplots(shown + 1, 1, sharex=True, gridspec_kw={"height_ratios": [2] * shown + [1.4]})
    steps = np.arange(start, start + T)
    for c in range(shown):
        ax = axes[c]
        _line(ax, steps, x[:, c], color="#1d2330", lw=0.8, label="series")
        _line(ax, steps, x_hat[:, c], color="#2f7ed8", lw=0.8, alpha=0.8, label="reconstruction")
        ax.set_ylabel(channels[c] if channels and c < len(channels) else f"channel {c}", fontsize=8)
        _shade(ax, spans, labels, start)
    axes[0].legend(loc="upper right", fontsize=7, ncols=2)
    ax = axes[-1]
    _line(ax, steps, np.nan_to_num(scores), color="#8a3ffc", lw=0.8)
    ax.axhline(threshold, color="#b3261e", lw=0.8, ls="--")
    ax.set_ylabel("score", fontsize=8)
    ax.set_xlabel("step", fontsize=8)
    _shade(ax, spans, labels, start)
    if C > shown:
        fig.suptitle(f"first {shown} of {C} channels", fontsize=8)
    return fig


def _line(ax: Any, steps: np.ndarray, y: np.ndarray, **style: Any) -> None:
    """``y`` against ``steps``; a long series as its min/max envelope (no peak lost to thinning)."""
    if len(y) <= MAX_DRAWN:
        ax.plot(steps, y, **style)
        return
    n = MAX_DRAWN // 2
    edges = np.linspace(0, len(y), n + 1).astype(int)
    lo = np.minimum.reduceat(y, edges[:-1])
    hi = np.maximum.reduceat(y, edges[:-1])
    label = style.pop("label", None)
    ax.fill_between(
        steps[edges[:-1]], lo, hi, color=style.get("color"), alpha=style.get("alpha", 1.0), lw=0, label=label
    )


def _shade(ax: Any, spans: list[tuple[int, int]], labels: np.ndarray | None, start: int) -> None:
    for a, b in spans:
        ax.axvspan(a - 0.5, b - 0.5, color="#f5a623", alpha=0.25, lw=0)
    if labels is not None and np.any(labels):
        edges = np.diff(np.concatenate([[0], (np.asarray(labels) > 0).astype(np.int8), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            ax.axvspan(start + a - 0.5, start + b - 0.5, ymin=0.0, ymax=0.05, color="#b3261e", alpha=0.8, lw=0)


def series_sections(det: Any, data: Any) -> tuple[str, dict[str, str], dict[str, str]]:
    """The report of a fitted series detector on one recording: ``(where, headings, sections)``,
    each section's inner HTML by id (keys of :data:`SERIES_SECTIONS`).

    ``data`` is a series ``(T,)`` / ``(T, C)``, a Dataset of kind "series" (its labels, if
    any, are drawn and scored) or a :class:`~aekit.data.timeeval.TimeEvalSeries`.
    """
    from aekit.estimators.series_windows import as_series
    from aekit.report import figures

    x = as_series(data, getattr(data, "name", "series"))
    labels = getattr(data, "labels", None)
    if labels is None and getattr(data, "kind", None) == "series":
        labels = data.y
    channels = getattr(data, "channels", None) or getattr(data, "columns", None)
    scores = det.anomaly_score(x)
    spans = [tuple(s) for s in det.spans(x)]
    x_hat = det.reconstruct(x)
    T = len(x)
    where = f"{T:,} steps x {x.shape[1]} channel(s)"
    ae = det.autoencoder_
    card = [
        (
            "window",
            f"{det.window_} steps"
            + (f" ({det.window_ // det.period_} periods of {det.period_})" if det.period_ else ""),
        ),
        ("code size", ae.model_.config.code_dim),
        ("training steps", f"{det.n_train_steps_:,} (windows every {det.stride_} step(s))"),
        ("aggregation", f"{det.aggregation} of the windows covering a step"),
        ("threshold", f"{det.threshold_:.4g} (contamination {det.contamination})"),
        ("parameters", f"{ae.model_.n_parameters:,}"),
    ]
    result = [
        ("steps flagged", f"{int((scores > det.threshold_).sum()):,} of {T:,} in {len(spans)} span(s)"),
    ]
    if labels is not None and 0 < int(np.sum(labels)) < T:
        from sklearn.metrics import roc_auc_score

        result.append(("per-step ROC-AUC against the labels", f"{roc_auc_score(labels, scores):.4f}"))
    sections = {
        "model-card": _key_values("Detector", card) + "\n" + _key_values("On this series", result),
        "series": _figure(
            series_figure(x, x_hat, scores, det.threshold_, spans, labels, channels=channels),
            "the series, its reconstruction and its anomaly score",
            "The series (black) and its reconstruction (blue), the score per step below with the threshold "
            "(dashed); flagged spans shaded orange"
            + (", labelled anomalies marked red along the bottom." if labels is not None else "."),
        ),
    }
    zooms = []
    for a, b in sorted(spans, key=lambda s: -float(scores[s[0] : s[1]].max()))[:ZOOMS]:
        lo, hi = max(0, a - 2 * det.window_), min(T, b + 2 * det.window_)
        part = None if labels is None else np.asarray(labels)[lo:hi]
        zooms.append(
            _figure(
                series_figure(x[lo:hi], x_hat[lo:hi], scores[lo:hi], det.threshold_, [(a, b)], part, lo, channels),
                f"flagged span {a}-{b}",
                f"Steps {a} to {b} (flagged) with two windows of context on each side.",
            )
        )
    if zooms:
        sections["spans"] = "\n".join(zooms)
    if getattr(ae, "history_", None):
        sections["training"] = _figure(
            figures.loss_curves(ae.history_), "training and validation loss per epoch", "Loss per epoch on the windows."
        )
    return where, dict(SERIES_SECTIONS), sections
