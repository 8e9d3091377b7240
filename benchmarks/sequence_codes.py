"""Codes of whole sequences for classification: kNN-1 accuracy of 8-D codes on GunPoint
(UCR, univariate, 150 steps) and BasicMotions (UEA, 6 channels, 100 steps).

For each set: the default sequence ``AutoEncoder(code_dim=8, random_state=seed)`` is fitted
on the TRAIN split without its labels; every TEST sequence takes the label of the
nearest TRAIN sequence in code space (Euclidean 1-NN). Beside it, measured in the same
run on the same splits: PCA with 8 components on the flattened series (raw values, and
each channel standardised as aekit scales it) and 1-NN on the raw series. The goals
(issue 20): at least raw 1-NN and PCA-8 on both sets; fit time at most 60 s on 2 cores.

The sequence defaults (``aekit.registry.SEQUENCE_DEFAULTS``) were chosen on GunPoint
with ``--set`` (e.g. ``--set arch=gru``, ``--set linear_path=true``) and are reported
on BasicMotions, which played no part in the choice.

Run:  .venv/bin/python benchmarks/sequence_codes.py [--sets GunPoint BasicMotions] [--seeds 0 1 2 3 4]
      [--set KEY=VALUE ...] [--threads 2]
Needs ../shared/data/series/. Prints a Markdown table; writes benchmarks/out/sequence_codes.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier

import aekit

SERIES = Path(__file__).resolve().parents[2] / "shared" / "data" / "series"
CODE_DIM = 8


def knn1(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray) -> float:
    """Accuracy of Euclidean 1-NN: each test row takes the label of its nearest train row."""
    flat = train.reshape(len(train), -1)
    guess = KNeighborsClassifier(n_neighbors=1).fit(flat, y_train).predict(test.reshape(len(test), -1))
    return float((guess == y_test).mean())


def pca_codes(train: np.ndarray, test: np.ndarray, standardise: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """PCA-8 codes of the flattened series (optionally each channel standardised first) and the fit time."""
    if standardise:
        mean, std = train.mean((0, 1)), train.std((0, 1)) + 1e-12
        train, test = (train - mean) / std, (test - mean) / std
    t0 = time.perf_counter()
    pca = PCA(CODE_DIM, random_state=0).fit(train.reshape(len(train), -1))
    seconds = time.perf_counter() - t0
    return pca.transform(train.reshape(len(train), -1)), pca.transform(test.reshape(len(test), -1)), seconds


def parse_settings(pairs: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` pairs as estimator options (JSON values, else text): ``arch=gru``, ``channels=[16,32]``."""
    out: dict[str, object] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def run_set(name: str, seeds: list[int], options: dict[str, object]) -> dict[str, object]:
    train = aekit.data.load(SERIES / f"{name}_TRAIN.ts")
    test = aekit.data.load(SERIES / f"{name}_TEST.ts")
    assert train.y is not None and test.y is not None, f"{name} has labels"
    row: dict[str, object] = {"set": name, "shape": list(train.x.shape), "n_test": len(test)}
    row["raw_1nn"] = knn1(train.x, train.y, test.x, test.y)
    for label, standardise in (("pca8", False), ("pca8_scaled", True)):
        z_train, z_test, seconds = pca_codes(train.x, test.x, standardise)
        row[label] = knn1(z_train, train.y, z_test, test.y)
        row[f"{label}_seconds"] = seconds
    runs = []
    for seed in seeds:
        t0 = time.perf_counter()
        est = aekit.AutoEncoder(code_dim=CODE_DIM, random_state=seed, **options).fit(train)  # type: ignore[arg-type]
        seconds = time.perf_counter() - t0
        accuracy = knn1(est.transform(train), train.y, est.transform(test), test.y)
        metrics = est.evaluate(test)  # reconstruction error on TEST beside PCA-8's (scaled units)
        runs.append(
            {
                "seed": seed,
                "knn1": accuracy,
                "fit_seconds": seconds,
                "epochs": len(est.history_),
                "test_mse": metrics["mse"],
                "pca_test_mse": metrics["pca_mse"],
            }
        )
        print(json.dumps({"set": name, "arch": est.model_.config.arch, **runs[-1]}), flush=True)
    row["autoencoder"] = runs
    row["arch"] = est.model_.config.arch
    row["ae_median"] = statistics.median(r["knn1"] for r in runs)
    row["ae_min"], row["ae_max"] = min(r["knn1"] for r in runs), max(r["knn1"] for r in runs)
    row["fit_seconds_median"] = statistics.median(r["fit_seconds"] for r in runs)
    row["test_mse_median"] = statistics.median(r["test_mse"] for r in runs)
    row["pca_test_mse"] = runs[0]["pca_test_mse"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=["GunPoint", "BasicMotions"])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the goal is on 2 cores)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "out" / "sequence_codes.json"))
    args = parser.parse_args()
    if not SERIES.is_dir():
        raise SystemExit(f"{SERIES} is missing: this benchmark needs the shared series data")
    torch.set_num_threads(args.threads)
    options = parse_settings(args.settings)
    rows = [run_set(name, args.seeds, options) for name in args.sets]

    print(f"\nkNN-1 accuracy on TEST, codes of size {CODE_DIM} (median of {len(args.seeds)} seeds; min-max)\n")
    print(
        "| set | autoencoder | PCA-8 | PCA-8, channels standardised | raw 1-NN | AE fit s (median) "
        "| TEST MSE AE / PCA-8 |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['set']} | {r['ae_median']:.3f} ({r['ae_min']:.3f}-{r['ae_max']:.3f}) | {r['pca8']:.3f} | "
            f"{r['pca8_scaled']:.3f} | {r['raw_1nn']:.3f} | {r['fit_seconds_median']:.1f} | "
            f"{r['test_mse_median']:.4f} / {r['pca_test_mse']:.4f} |"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "options": options, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
