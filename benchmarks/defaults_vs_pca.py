"""Issue 16's goals: the default AutoEncoder on the data users bring, beside PCA at the
same code size, measured in one run.

The defaults (the intensity rules in aekit.fitting.decide and the 4,000-step budget in
aekit.train.budget) were chosen on scikit-learn's digits and the shapes12 builtin;
Fashion-MNIST and "digits28" were not looked at while choosing them (leave-sets-out).

Sets (all flat rows unless said):

- ``digits``: scikit-learn's 8x8 digits, ``data / 16``, a seeded 1400/397 split.
- ``digits28``: scikit-learn's digits resized to 28x28 (bilinear) and shifted by up to
  2 pixels at random, 8,000 training rows (drawn from the 1,400 training digits) and
  2,000 test rows (from the other 397): a 28x28 handwritten-digit set derived from
  data on this machine (no MNIST download here).
- ``fashion-8k``: Fashion-MNIST, the first 8,000 training rows; the 10,000 test rows.
- ``fashion``: Fashion-MNIST, all 60,000 training rows, as flat rows and as images
  ``(N, 1, 28, 28)``.

Each row: test MSE of the default ``AutoEncoder(code_dim=k)`` and of PCA-k, the gain
(1 - MSE / PCA MSE), the fit time, and for k = 2 the kNN-5 accuracy of the codes
(trained on the training codes, scored on the test codes) for the AE and for PCA.

Run: ``.venv/bin/python benchmarks/defaults_vs_pca.py [--quick] [--sets digits,fashion]``
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier

import aekit


def _digits():
    d = load_digits()
    x, y = (d.data / 16.0).astype(np.float32), d.target
    idx = np.random.default_rng(0).permutation(len(x))
    return x[idx[:1400]], y[idx[:1400]], x[idx[1400:]], y[idx[1400:]]


def _resize28(images: np.ndarray, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` draws of 8x8 images resized to 24x24 (bilinear), placed at a random offset in 28x28."""
    import torch

    pick = rng.integers(0, len(images), size=n)
    small = torch.from_numpy(images[pick].reshape(n, 1, 8, 8))
    big = torch.nn.functional.interpolate(small, size=(24, 24), mode="bilinear", align_corners=False).numpy()
    out = np.zeros((n, 1, 28, 28), np.float32)
    dy, dx = rng.integers(0, 5, size=n), rng.integers(0, 5, size=n)
    for i in range(n):
        out[i, 0, dy[i] : dy[i] + 24, dx[i] : dx[i] + 24] = big[i, 0]
    return out.reshape(n, 784).clip(0, 1), pick


def _digits28():
    xtr, ytr, xte, yte = _digits()
    rng = np.random.default_rng(1)
    a, ia = _resize28(xtr, rng, 8000)
    b, ib = _resize28(xte, rng, 2000)
    return a, ytr[ia], b, yte[ib]


def _fashion(n_train: int | None, images: bool = False):
    ds = aekit.data.load("builtin:fashion-mnist")
    train, test = ds.split()
    xtr, ytr = train.x, train.y
    if n_train is not None:
        xtr, ytr = xtr[:n_train], ytr[:n_train]
    if not images:
        return xtr.reshape(len(xtr), -1), ytr, test.x.reshape(len(test.x), -1), test.y
    return xtr, ytr, test.x, test.y


def _knn(codes_tr, ytr, codes_te, yte) -> float:
    return float(KNeighborsClassifier(5).fit(codes_tr, ytr).score(codes_te, yte))


def run(name: str, data, dims: list[int], rows: list[str]) -> None:
    xtr, ytr, xte, yte = data
    for k in dims:
        t0 = time.perf_counter()
        ae = aekit.AutoEncoder(code_dim=k, random_state=0).fit(xtr)
        seconds = time.perf_counter() - t0
        m = ae.evaluate(xte)
        knn = ""
        if k == 2:
            flat_tr, flat_te = xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1)
            scaled = ae.preprocessing_
            pca_tr = ae.pca_.transform(scaled.transform(flat_tr).reshape(len(flat_tr), -1))
            pca_te = ae.pca_.transform(scaled.transform(flat_te).reshape(len(flat_te), -1))
            knn = (
                f"{_knn(ae.transform(xtr), ytr, ae.transform(xte), yte):.3f} / {_knn(pca_tr, ytr, pca_te, yte):.3f}"
            )
        budget = ae.decisions_.budget
        rows.append(
            f"| {name} | {len(xtr)} | {k} | {m['mse']:.5f} | {m['pca_mse']:.5f} | {m['gain_vs_pca']:+.1%} | "
            f"{seconds:.1f} | {len(ae.history_)}/{budget.get('epochs')} x {budget.get('batch_size')} | {knn} |"
        )
        print(rows[-1], flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="digits,digits28,fashion-8k,fashion,fashion-images")
    parser.add_argument("--quick", action="store_true", help="k = 8 only on the small sets")
    args = parser.parse_args()
    wanted = args.sets.split(",")
    rows = [
        "| set | train rows | k | AE test MSE | PCA test MSE | gain vs PCA | fit s | epochs run/planned x batch | "
        "kNN-5 AE / PCA (k=2) |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    print(f"aekit {aekit.__version__}, {os.cpu_count()} CPUs", flush=True)
    if "digits" in wanted:
        run("digits (flat 64)", _digits(), [8] if args.quick else [2, 8, 32], rows)
    if "digits28" in wanted:
        run("digits28 (flat 784)", _digits28(), [8] if args.quick else [2, 8, 32], rows)
    if "fashion-8k" in wanted and not args.quick:
        run("Fashion-MNIST 8k (flat 784)", _fashion(8000), [2, 8, 32], rows)
    if "fashion" in wanted and not args.quick:
        run("Fashion-MNIST (flat 784)", _fashion(None), [2, 32], rows)
    if "fashion-images" in wanted and not args.quick:
        run("Fashion-MNIST (N, 1, 28, 28)", _fashion(None, images=True), [2, 32], rows)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
