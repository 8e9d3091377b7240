"""``aekit detect`` and ``aekit score``: anomaly detection from the command line.

Registered on :data:`aekit.cli.main` when that module is imported (it imports
this one last), so they share its error handling and help layout.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import click
import numpy as np

from aekit.cli.common import CONTEXT, load_data, main, trust_code_option
from aekit.data.stream import open_stream, streamable
from aekit.errors import ConfigError


@main.command(context_settings=CONTEXT)
@click.argument("data")
@click.option("-o", "--output", required=True, type=click.Path(), help="Detector directory to write.")
@click.option(
    "--contamination",
    type=float,
    default=0.1,
    show_default=True,
    help="Expected share of anomalies in DATA; sets the threshold.",
)
@click.option("--code-dim", type=int, default=None, help="Code size (default: a quarter of the features, 2-32).")
@click.option(
    "--method",
    type=click.Choice(["combined_knn", "combined", "reconstruction"]),
    default="combined_knn",
    show_default=True,
    help="The score: reconstruction error plus the code's Mahalanobis distance plus its distance to the "
    "5th nearest training code; without the neighbour term; or the error alone.",
)
@click.option(
    "--n-estimators",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    help="Autoencoders averaged (differing in seed, code size and width).",
)
@click.option(
    "--epochs", type=click.IntRange(min=1), default=None, help="Training epochs (default: the 4,000-step budget)."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of training and of the labelled split.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def detect(
    data: str,
    output: str,
    contamination: float,
    code_dim: int | None,
    method: str,
    n_estimators: int,
    epochs: int | None,
    seed: int,
    quiet: bool,
) -> None:
    """Train an anomaly detector on DATA (no labels used) and save it.

    When DATA has 0/1 labels (1 = anomaly), a stratified 70/30 split is made, the
    detector trains on the 70 % without them, and the ROC-AUC on the 30 % is printed
    beside an IsolationForest's and PCA's fitted on the same rows.

    \b
    Example:
      aekit detect transactions.csv -o fraud-detector --contamination 0.02
      aekit score fraud-detector new-transactions.csv -o scores.csv
    """
    from aekit.estimators.anomaly import AnomalyDetector

    ds = load_data(data, missing="mask")
    labels = ds.y if ds.y is not None and set(np.unique(ds.y).tolist()) <= {0, 1} else None
    det = AnomalyDetector(
        code_dim=code_dim,
        contamination=contamination,
        method=method,
        n_estimators=n_estimators,
        epochs=epochs,
        random_state=seed,
        verbose=not quiet,
    )
    t0 = time.perf_counter()
    if labels is None:
        det.fit(ds)
        click.echo(f"trained on {len(ds)} samples in {time.perf_counter() - t0:.1f} s")
    else:
        from sklearn.model_selection import train_test_split

        idx_train, idx_test = train_test_split(np.arange(len(ds)), test_size=0.3, stratify=labels, random_state=seed)
        det.fit(ds.subset(idx_train))
        click.echo(
            f"trained on {len(idx_train)} samples in {time.perf_counter() - t0:.1f} s (labels not used); "
            f"ROC-AUC on the {len(idx_test)} held-out samples:"
        )
        for name, auc in _compare(det, ds.subset(idx_train), ds.subset(idx_test), labels[idx_test], seed).items():
            click.echo(f"  {name:<16} {auc:.3f}")
    det.save(output)
    click.echo(f"threshold {det.threshold_:.4g} (contamination {contamination}); detector saved to {output}")


def _compare(det, train, test, y_test: np.ndarray, seed: int) -> dict[str, float]:
    """ROC-AUC of the detector, an IsolationForest and PCA's reconstruction error on one split.

    The baselines see the rows as the autoencoder does (tables one-hot encoded and
    scaled), with missing cells at 0, the scaled column mean.
    """
    from sklearn.decomposition import PCA
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    ae = det.autoencoder_
    a = np.nan_to_num(ae._model_input(train).numpy().reshape(len(train), -1))
    b = np.nan_to_num(ae._model_input(test).numpy().reshape(len(test), -1))
    forest = IsolationForest(random_state=seed).fit(a)
    scaler = StandardScaler().fit(a)
    pca = PCA(min(ae.model_.config.code_dim, a.shape[1])).fit(scaler.transform(a))
    bs = scaler.transform(b)
    pca_error = ((pca.inverse_transform(pca.transform(bs)) - bs) ** 2).sum(1)
    return {
        "aekit": roc_auc_score(y_test, det.anomaly_score(test)),
        "IsolationForest": roc_auc_score(y_test, -forest.score_samples(b)),
        "PCA": roc_auc_score(y_test, pca_error),
    }


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path())
@click.argument("data")
@click.option("-o", "--output", required=True, type=click.Path(), help="scores.csv")
@click.option("--top", type=int, default=3, show_default=True, help="Contributing features listed per row.")
@click.option(
    "--chunk-rows",
    type=int,
    default=None,
    help="Rows read and scored at a time from a .npy or Parquet DATA (default: about 4 MiB of "
    "samples, 64 to 65,536 rows); progress is saved after each. A DATA read whole ignores it.",
)
@trust_code_option
def score(model: str, data: str, output: str, top: int, chunk_rows: int | None, trust_code: tuple[str, ...]) -> None:
    """Score every sample of DATA with a detector from `aekit detect`.

    Writes one row per sample: its index, the anomaly score (higher is more
    unusual), the flag (1 above the detector's threshold) and the TOP features
    that contribute most to its reconstruction error. A .npy or Parquet DATA is
    read, scored and written a chunk at a time: memory stays bounded for any size.
    Its rows go to OUTPUT.partial, with the progress in OUTPUT.partial.json, until
    the last one is written; if the command is stopped (killed, Ctrl-C, a full
    disk), the same command again continues where it stopped.

    A detector from `aekit detect-series` scores one recording instead: DATA is a
    TimeEval CSV or a .npy series, and OUTPUT gets one row per step (step, the
    timestamp, score, anomaly); --top and --chunk-rows do not apply.

    \b
    Example:
      aekit score fraud-detector new-transactions.csv -o scores.csv --top 5
      aekit score image-detector big-images.npy -o scores.csv
      aekit score ecg-detector ecg_TEST.csv -o ecg-scores.csv
    """
    from aekit._atomic import atomic_path, make_dir
    from aekit.estimators.anomaly import AnomalyDetector
    from aekit.estimators.series_files import is_series_detector

    if is_series_detector(model):  # one recording: a score and a flag per step (aekit.cli.series)
        from aekit.cli.series import score_series

        return score_series(model, data, output, trust_code)
    out = Path(output)
    if out.suffix.lower() != ".csv":
        raise ConfigError(f"output {out} must end in .csv")
    if top < 0:
        raise ConfigError(f"--top={top} must be >= 0")
    if chunk_rows is not None and chunk_rows < 1:
        raise ConfigError(f"--chunk-rows={chunk_rows} must be a positive integer")
    det = AnomalyDetector.load(model, trust_code=list(trust_code))
    streamed = streamable(data)
    if streamed:  # .npy and Parquet: read and written a chunk at a time, any size
        ds = open_stream(data, chunk_rows=chunk_rows)
    else:
        ds = load_data(data, missing="mask")
    columns = det.feature_names()
    if getattr(det.autoencoder_, "schema_", None) is None and getattr(ds, "columns", None):
        columns = list(ds.columns)
    header = ",".join(["index", "score", "anomaly"] + [f"feature_{k + 1}" for k in range(top)]) + "\n"
    make_dir(out.parent)
    if streamed:
        n_rows, n_flagged = _score_stream(det, model, data, ds, out, header, columns, top)
    else:
        source = ds if ds.frame is not None else ds.x  # a table goes through the model's own columns
        text, n_rows, n_flagged = _score_rows(det, source, 0, columns, top)
        with atomic_path(out) as tmp, open(tmp, "w") as fh:
            fh.write(header + text)
    click.echo(f"scored {n_rows} samples; {n_flagged} above the threshold {det.threshold_:.4g}; wrote {out}")


def _score_stream(
    det, model: str, data: str, stream, out: Path, header: str, columns: list[str], top: int
) -> tuple[int, int]:
    """Score ``stream`` into ``out`` a chunk at a time, continuing a stopped run of the same job
    (:mod:`aekit.cli.score_resume`); returns (rows, rows above the threshold)."""
    from aekit.cli.score_resume import fingerprint, inputs_from, resumable_csv

    n = len(stream)
    job = fingerprint(model, data, stream, top=top)
    with resumable_csv(out, job, header, n) as writer:
        if writer.rows:
            click.echo(f"continuing from row {writer.rows} of {n} ({writer.partial.name})")
        elif writer.restart_reason:
            click.echo(f"starting over: {writer.restart_reason}")
        try:
            for _, source in inputs_from(det.autoencoder_, stream, writer.rows):
                writer.write(*_score_rows(det, source, writer.rows, columns, top))
        except KeyboardInterrupt:
            click.echo(
                f"\ninterrupted after row {writer.rows} of {n}; run the same command again to continue", err=True
            )
            raise
    return writer.rows, writer.flagged


def _score_rows(det, source, first: int, columns: list[str], top: int) -> tuple[str, int, int]:
    """The CSV rows of ``source``, numbered from ``first``: (text, rows, rows above the threshold)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = det.anomaly_score(source)
        per_feature = det.explain(source).reshape(len(scores), -1)
    # Missing cells contribute nothing to rank.
    order = np.argsort(-np.nan_to_num(per_feature, nan=-1.0), axis=1)[:, :top]
    text = "".join(
        ",".join([str(first + i), f"{s:.6g}", str(int(s > det.threshold_)), *[columns[j] for j in order[i]]]) + "\n"
        for i, s in enumerate(scores)
    )
    return text, len(scores), int((scores > det.threshold_).sum())
