"""Tabular anomaly detection on the six ADBench sets: aekit's default detector against
IsolationForest and PCA, ROC-AUC on held-out rows, no labels in training.

Protocol (issue 5; ../shared/data/README.md): for each set and each seed 0-4, a
stratified 70/30 split (``train_test_split(..., stratify=y, random_state=seed)``),
fit on the 70 % without labels (anomalies included, as a user's data would have
them), ROC-AUC of the anomaly score on the 30 %. Defaults only: no per-set tuning.

Detectors:

- ``aekit``: ``AnomalyDetector(random_state=seed)``, the defaults (reconstruction
  error plus the code's Mahalanobis distance, code = a quarter of the features);
- ``aekit, reconstruction only``: the same with ``criterion="reconstruction"``;
- ``IsolationForest``: scikit-learn's defaults, ``random_state=seed``;
- ``PCA``: squared reconstruction error of standardised rows with as many
  components as the detector's code.

Fit-plus-score time is the median over seeds, one torch thread.

Run:  .venv/bin/python benchmarks/adbench.py [--seeds 5] [--data ../shared/data/adbench]
Prints a Markdown table; writes benchmarks/out/adbench.json.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from aekit import AnomalyDetector

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "adbench"


def pca_scores(x_train: np.ndarray, x_test: np.ndarray, k: int) -> np.ndarray:
    scaler = StandardScaler().fit(x_train)
    a, b = scaler.transform(x_train), scaler.transform(x_test)
    pca = PCA(k).fit(a)
    return ((pca.inverse_transform(pca.transform(b)) - b) ** 2).sum(1)


def detectors(seed: int):
    """name -> function(x_train, x_test) -> anomaly scores of x_test."""
    def aekit_default(a, b):
        return AnomalyDetector(random_state=seed).fit(a).anomaly_score(b)

    def aekit_recon(a, b):
        return AnomalyDetector(random_state=seed, criterion="reconstruction").fit(a).anomaly_score(b)

    def iforest(a, b):
        return -IsolationForest(random_state=seed).fit(a).score_samples(b)

    def pca(a, b):
        return pca_scores(a, b, min(32, max(2, round(a.shape[1] / 4))))

    return {"aekit (default)": aekit_default, "aekit, reconstruction only": aekit_recon,
            "IsolationForest": iforest, "PCA": pca}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--out", default=str(Path(__file__).parent / "out" / "adbench.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    files = sorted(Path(args.data).glob("*.npz"))
    if not files:
        raise SystemExit(f"no .npz files in {args.data}")
    results: dict[str, dict[str, dict[str, float]]] = {}
    for file in files:
        data = np.load(file, allow_pickle=False)
        x, y = data["X"].astype(np.float32), data["y"].astype(int)
        aucs: dict[str, list[float]] = {}
        times: dict[str, list[float]] = {}
        for seed in range(args.seeds):
            a, b, _, y_test = train_test_split(x, y, test_size=0.3, stratify=y, random_state=seed)
            for name, detect in detectors(seed).items():
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    scores = detect(a, b)
                times.setdefault(name, []).append(time.perf_counter() - t0)
                aucs.setdefault(name, []).append(100 * roc_auc_score(y_test, scores))
        results[file.stem] = {name: {"roc_auc": float(np.mean(aucs[name])), "roc_auc_std": float(np.std(aucs[name])),
                                     "seconds": float(np.median(times[name]))} for name in aucs}
        print(file.stem, json.dumps({k: round(v["roc_auc"], 1) for k, v in results[file.stem].items()}), flush=True)

    names = list(next(iter(results.values())))
    print(f"\nROC-AUC x 100 on the held-out 30 %, mean over {args.seeds} seeds (fit + score time, median)\n")
    print("| data set | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for stem, row in results.items():
        cells = [f"{row[n]['roc_auc']:.1f} ({row[n]['seconds']:.1f} s)" for n in names]
        print(f"| {stem} | " + " | ".join(cells) + " |")
    means = [f"**{np.mean([results[s][n]['roc_auc'] for s in results]):.1f}**" for n in names]
    print("| mean | " + " | ".join(means) + " |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "results": results}, indent=1))


if __name__ == "__main__":
    main()
