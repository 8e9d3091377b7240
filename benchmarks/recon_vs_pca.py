"""Default autoencoder vs PCA on Fashion-MNIST at code sizes 2..64.

Trains ``aekit.AutoEncoder(code_dim=k)`` with its defaults on the 60,000
training images (the trainer holds 10 % out for early stopping), and reports the
test MSE per pixel on the 10,000 test images beside PCA's at the same k, fitted
on the same training images. Wall time covers the whole ``fit`` (PCA warm start
included). With ``--textbook`` it also runs the textbook recipe (784-256-64-k
ReLU MLP, sigmoid output, MSE, Adam 1e-3, batch 256, 5 epochs) in the same run.

Run:  .venv/bin/python benchmarks/recon_vs_pca.py [--codes 2 8 16 32 64] [--textbook]
Results go to stdout as a Markdown table and to benchmarks/out/recon_vs_pca.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

import aekit
from aekit.data import load

from textbook import textbook  # benchmarks/textbook.py: the faithful reference recipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, nargs="+", default=[2, 8, 16, 32, 64])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--textbook", action="store_true", help="also run the textbook recipe")
    parser.add_argument("--out", default=str(Path(__file__).parent / "out" / "recon_vs_pca.json"))
    args = parser.parse_args()

    ds = load("builtin:fashion-mnist")
    train, test = ds.train().x, ds.test().x
    rows = []
    for k in args.codes:
        t0 = time.perf_counter()
        ae = aekit.AutoEncoder(code_dim=k, random_state=args.seed).fit(train)
        seconds = time.perf_counter() - t0
        m = ae.evaluate(test)
        row = {"k": k, "pca_mse": m["pca_mse"], "mse": m["mse"], "gain_vs_pca": m["gain_vs_pca"],
               "seconds": seconds, "epochs_run": ae.n_iter_, "best_epoch": ae.best_epoch_}
        if args.textbook:
            row["textbook_mse"], row["textbook_seconds"] = textbook(train, test, k, seed=args.seed)
        rows.append(row)
        print(json.dumps(row), flush=True)

    header = "| k | PCA test MSE | aekit default | gain vs PCA | fit wall time |"
    sep = "|---|---|---|---|---|"
    if args.textbook:
        header += " textbook (5 ep) | textbook time |"
        sep += "---|---|"
    print("\n" + header + "\n" + sep)
    for r in rows:
        line = (f"| {r['k']} | {r['pca_mse']:.4f} | {r['mse']:.4f} | {r['gain_vs_pca']:.0%} | "
                f"{r['seconds']:.1f} s ({r['epochs_run']} epochs) |")
        if args.textbook:
            line += f" {r['textbook_mse']:.4f} | {r['textbook_seconds']:.1f} s |"
        print(line)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.processor(),
            "aekit": aekit.__version__, "defaults": aekit.AutoEncoder().get_params()}
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1, default=str))


if __name__ == "__main__":
    main()
