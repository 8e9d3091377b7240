"""``aekit detect-series``, and ``aekit score`` for a series detector: anomalies in one long
recording from the command line.

A series is a TimeEval CSV (``timestamp``, one column per channel, an optional
``is_anomaly``) or a ``.npy`` array of shape (T,) or (T, C). Registered on
:data:`aekit.cli.main` when :mod:`aekit.cli` imports this module.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
import numpy as np

from aekit.cli.common import CONTEXT, main
from aekit.errors import ConfigError
from aekit.estimators.series_windows import spans_of


def read_series(spec: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, str]:
    """``(values (T, C), labels (T,) or None, timestamps (T,) or None, name)`` of a series file."""
    path = Path(spec).expanduser()
    if path.suffix.lower() == ".csv":
        from aekit.data.timeeval import read_timeeval

        s = read_timeeval(path)
        return s.values, s.labels, s.timestamps, path.name
    from aekit import data

    ds = data.load(spec, kind="series")
    return ds.x, ds.y, None, Path(ds.name).name


def _window(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not 'auto' or a whole number of steps") from None


@main.command("detect-series", context_settings=CONTEXT)
@click.argument("data")
@click.option("-o", "--output", required=True, type=click.Path(), help="Detector directory to write.")
@click.option(
    "--window",
    default="auto",
    show_default=True,
    help="Steps per window, or 'auto': 3 periods of the series' dominant period (at least 32 steps).",
)
@click.option(
    "--contamination",
    type=float,
    default=0.01,
    show_default=True,
    help="Expected share of anomalous steps in DATA; sets the threshold.",
)
@click.option("--code-dim", type=int, default=None, help="Code size (default 8).")
@click.option(
    "--aggregation",
    type=click.Choice(["mean", "max"]),
    default="mean",
    show_default=True,
    help="A step's score: the mean or the max of the windows covering it.",
)
@click.option("--steps", type=int, default=None, help="Optimiser steps (default: the autoencoder's budget, 4,000).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of training.")
@click.option(
    "--test", "test", default=None, help="A labelled series (is_anomaly) to score: prints its per-step ROC-AUC."
)
@click.option(
    "--report",
    "report",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write report.html (of --test if given, else of DATA).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def detect_series(
    data: str,
    output: str,
    window: str,
    contamination: float,
    code_dim: int | None,
    aggregation: str,
    steps: int | None,
    seed: int,
    test: str | None,
    report: str | None,
    quiet: bool,
) -> None:
    """Train a series anomaly detector on one normal (or mostly normal) recording DATA and save it.

    DATA is a TimeEval CSV (timestamp, one column per channel, optional is_anomaly, which
    training ignores) or a .npy array (T,) / (T, C). The detector cuts DATA into sliding
    windows, trains an autoencoder on them, and scores each step of a series by the
    windows covering it; `aekit score DETECTOR series.csv -o scores.csv` writes a score and
    a flag per step.

    \b
    Example:
      aekit detect-series ecg_TRAIN.csv -o ecg-detector --test ecg_TEST.csv --report ecg.html
      aekit score ecg-detector ecg_TEST.csv -o scores.csv
    """
    from aekit.estimators.series import SeriesAnomalyDetector

    x, train_labels, _, name = read_series(data)
    det = SeriesAnomalyDetector(
        window=_window(window),
        code_dim=code_dim,
        contamination=contamination,
        aggregation=aggregation,
        steps=steps,
        random_state=seed,
        verbose=not quiet,
    )
    t0 = time.perf_counter()
    det.fit(x)
    period = f"period {det.period_}, " if det.period_ else ("no period found, " if window == "auto" else "")
    click.echo(
        f"trained on {len(x):,} steps x {x.shape[1]} channel(s) of {name} in {time.perf_counter() - t0:.1f} s "
        f"({period}window {det.window_})"
    )
    det.save(output)
    click.echo(f"threshold {det.threshold_:.4g} (contamination {contamination}); detector saved to {output}")
    shown = _Labelled(x, train_labels, name)
    if test is not None:
        tx, labels, _, test_name = read_series(test)
        scores = det.anomaly_score(tx)
        spans = spans_of(scores > det.threshold_)
        flagged = int((scores > det.threshold_).sum())
        line = f"{test_name}: {flagged:,} of {len(tx):,} steps flagged in {len(spans)} span(s)"
        if labels is not None and 0 < int(labels.sum()) < len(labels):
            from sklearn.metrics import roc_auc_score

            line += f"; per-step ROC-AUC against is_anomaly {roc_auc_score(labels, scores):.4f}"
        click.echo(line)
        shown = _Labelled(tx, labels, test_name)
    if report is not None:
        from aekit.report.html import write_report

        path = write_report(det, shown, report)
        click.echo(f"wrote {path}")


class _Labelled:
    """A series with its labels, as the series report reads one (``values``, ``labels``, ``name``)."""

    def __init__(self, values: np.ndarray, labels: np.ndarray | None, name: str):
        self.values, self.labels, self.name = values, labels, name


def labelled_series(spec: str) -> _Labelled:
    """The series file ``spec`` with its labels, for :func:`aekit.report.html.write_report`."""
    x, labels, _, name = read_series(spec)
    return _Labelled(x, labels, name)


def score_series(model: str, data: str, output: str, trust_code: tuple[str, ...]) -> None:
    """``aekit score`` for a series detector: one CSV row per step of DATA
    (``step``, the timestamp if DATA has one, ``score``, ``anomaly``)."""
    from aekit._atomic import atomic_path, make_dir
    from aekit.estimators.series import SeriesAnomalyDetector

    out = Path(output)
    if out.suffix.lower() != ".csv":
        raise ConfigError(f"output {out} must end in .csv")
    det = SeriesAnomalyDetector.load(model, trust_code=list(trust_code))
    x, labels, stamps, name = read_series(data)
    scores = det.anomaly_score(x)
    flags = (scores > det.threshold_).astype(int)
    spans = spans_of(flags > 0)
    columns = ["step"] + (["timestamp"] if stamps is not None else []) + ["score", "anomaly"]
    make_dir(out.parent)
    with atomic_path(out) as tmp, open(tmp, "w") as fh:
        fh.write(",".join(columns) + "\n")
        stamp_text = [str(s) for s in stamps] if stamps is not None else None
        for t in range(len(scores)):
            row = [str(t)] + ([stamp_text[t]] if stamp_text is not None else []) + [f"{scores[t]:.6g}", str(flags[t])]
            fh.write(",".join(row) + "\n")
    click.echo(
        f"scored {len(scores):,} steps of {name} (window {det.window_}); {int(flags.sum()):,} above the threshold "
        f"{det.threshold_:.4g}, in {len(spans)} span(s); wrote {out}"
    )
