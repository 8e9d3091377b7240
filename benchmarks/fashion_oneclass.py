"""Fashion-MNIST one-class anomaly detection: train on one class, score the whole test set.

For each class c: fit on the 6,000 training images of class c (no other class seen),
score all 10,000 test images, ROC-AUC with "not c" as the anomaly. Detectors, all
with defaults: ``AnomalyDetector(random_state=0)`` (code 32, reconstruction error
plus the code's Mahalanobis distance), the same with
``criterion="reconstruction"``, and PCA-32's reconstruction error on the pixels.
Issue 5 measured PCA-32 at 90.5 mean and a plain MLP AE-32 at 90.1; the goal for the
default is at least 93.

``--residual-window 1`` scores raw per-pixel residuals, as the detector did before
the 3x3 window became its default for images (92.1 mean).

Run:  .venv/bin/python benchmarks/fashion_oneclass.py [--classes 0 1 ...] [--epochs 50] [--residual-window auto]
      [--flat] [--default-only]   (--epochs 0: the default step budget; --flat: (N, 784) rows)
Prints a Markdown table; writes benchmarks/out/fashion_oneclass.json.
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
from sklearn.metrics import roc_auc_score

from aekit import AnomalyDetector
from aekit.data import load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, nargs="*", default=list(range(10)))
    parser.add_argument("--epochs", type=int, default=50, help="0: the detector's default step budget")
    parser.add_argument("--flat", action="store_true", help="pass (N, 784) rows, as most users do, not (N, 1, 28, 28)")
    parser.add_argument("--default-only", action="store_true", help="skip the reconstruction-only detector")
    parser.add_argument("--residual-window", default="auto", help="auto (3 for images) or an odd integer")
    parser.add_argument("--out", default=str(Path(__file__).parent / "out" / "fashion_oneclass.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    window = args.residual_window if args.residual_window == "auto" else int(args.residual_window)

    ds = load("builtin:fashion-mnist")
    train, test = ds.train(), ds.test()
    x_test = test.x.reshape(len(test.x), -1) if args.flat else test.x
    epochs = args.epochs or None
    rows = []
    for c in args.classes:
        x_c = train.x[train.y == c]
        x_c = x_c.reshape(len(x_c), -1) if args.flat else x_c
        is_anomaly = (test.y != c).astype(int)
        row = {"class": c, "name": ds.label_names[c] if ds.label_names else str(c)}
        detectors = [("aekit (default)", {}), ("aekit, reconstruction only", {"criterion": "reconstruction"})]
        for name, options in detectors[:1] if args.default_only else detectors:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                det = AnomalyDetector(random_state=0, epochs=epochs, residual_window=window, **options).fit(x_c)
                scores = det.anomaly_score(x_test)
            row[name] = 100 * roc_auc_score(is_anomaly, scores)
            row[name + " seconds"] = time.perf_counter() - t0
        flat = x_c.reshape(len(x_c), -1)
        pca = PCA(32, random_state=0).fit(flat)
        flat_test = x_test.reshape(len(x_test), -1)
        error = ((pca.inverse_transform(pca.transform(flat_test)) - flat_test) ** 2).sum(1)
        row["PCA-32"] = 100 * roc_auc_score(is_anomaly, error)
        rows.append(row)
        print(json.dumps(row), flush=True)

    names = (
        ["aekit (default)", "PCA-32"]
        if args.default_only
        else ["aekit (default)", "aekit, reconstruction only", "PCA-32"]
    )
    print("\n| class | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for r in rows:
        print(f"| {r['class']} {r['name']} | " + " | ".join(f"{r[n]:.1f}" for n in names) + " |")
    print("| mean | " + " | ".join(f"**{np.mean([r[n] for r in rows]):.1f}**" for n in names) + " |")
    print(f"median fit+score time, default: {np.median([r['aekit (default) seconds'] for r in rows]):.1f} s")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
