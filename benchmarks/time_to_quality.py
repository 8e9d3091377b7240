"""Time to quality on Fashion-MNIST: aekit's defaults against the textbook recipe, in one run.

For each code size k, ``aekit.AutoEncoder(code_dim=k)`` with its defaults is
trained on the 60,000 training images while a callback measures the test error
(10,000 test images, mean squared error per pixel) after every epoch; the time of
those measurements is taken out, everything else in ``fit`` (PCA warm start,
validation, checkpoint-free training) counts. The textbook recipe
(``benchmarks/textbook.py``) is trained in the same process, for ``--ref-epochs``
epochs at the reference k, and measured the same way.

Reported per k: the wall time at which each first reaches the target error, and
for the reference k the ratio of the two times. Issue 7's goals: at k = 32 aekit
reaches the textbook's 30-epoch error (0.0109 measured there) in at most a sixth
of the time the textbook needs for it; at k = 2, 8, 32, 64 aekit reaches 0.025,
0.013, 0.0085, 0.0070 within 60 s.

Run:  .venv/bin/python benchmarks/time_to_quality.py [--codes 2 8 32 64] [--ref-epochs 30] [--threads 2]
Prints Markdown; writes benchmarks/out/time_to_quality.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

import aekit
from aekit.data import load
from aekit.train import cpu_has_fast_bf16

from textbook import textbook  # benchmarks/textbook.py

TARGETS = {2: 0.025, 8: 0.013, 16: 0.0105, 32: 0.0085, 64: 0.0070}


def aekit_curve(train: np.ndarray, test: np.ndarray, k: int, seed: int) -> list[tuple[int, float, float]]:
    """(epoch, seconds since fit began minus measuring time, test MSE) for every epoch of a default fit."""
    curve: list[tuple[int, float, float]] = []
    spent = [0.0]
    ae = aekit.AutoEncoder(code_dim=k, random_state=seed)
    x_test = []

    def measure(record, model):
        t = time.perf_counter()
        if not x_test:  # the fit has set up its preprocessing by now: the test set in the model's units
            if ae.preprocessing_.method != "none":
                raise SystemExit("images in [0, 1] should need no scaling; the error would be in other units")
            x_test.append(ae._model_input(test))
        was_training = model.training
        model.eval()
        with torch.no_grad():
            mse = float(((model.reconstruct(x_test[0]) - x_test[0]) ** 2).mean())
        model.train(was_training)
        curve.append((record["epoch"], t - t0 - spent[0], mse))
        spent[0] += time.perf_counter() - t

    t0 = time.perf_counter()
    ae.fit(train, on_epoch_end=measure)
    return curve


def first_reaching(curve, target: float) -> tuple[int, float] | None:
    """(epoch, seconds) of the first point of ``curve`` at or below ``target``."""
    for epoch, seconds, mse in curve:
        if mse <= target:
            return epoch, seconds
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, nargs="+", default=[2, 8, 32, 64])
    parser.add_argument("--ref-k", type=int, default=32)
    parser.add_argument("--ref-epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).parent / "out" / "time_to_quality.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    ds = load("builtin:fashion-mnist")
    train, test = ds.train().x, ds.test().x

    ref_curve: list[tuple[int, float, float]] = []
    textbook(train, test, args.ref_k, epochs=args.ref_epochs, seed=args.seed,
             on_epoch=lambda e, s, m: ref_curve.append((e, s, m)))
    ref_target = ref_curve[-1][2]  # the textbook's error after all its epochs
    print(json.dumps({"textbook": ref_curve}), flush=True)

    rows = []
    for k in args.codes:
        curve = aekit_curve(train, test, k, args.seed)
        row = {"k": k, "curve": curve, "final_mse": curve[-1][2], "seconds": curve[-1][1]}
        if k in TARGETS:
            row["target"] = TARGETS[k]
            row["reached"] = first_reaching(curve, TARGETS[k])
        if k == args.ref_k:
            row["ref_target"] = ref_target
            row["aekit_to_ref_target"] = first_reaching(curve, ref_target)
            row["textbook_to_ref_target"] = first_reaching(ref_curve, ref_target)
        rows.append(row)
        print(json.dumps({kk: v for kk, v in row.items() if kk != "curve"}), flush=True)

    print(f"\nmachine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} threads, bf16 native: {cpu_has_fast_bf16()}")
    print(f"textbook k={args.ref_k}: {args.ref_epochs} epochs in {ref_curve[-1][1]:.1f} s, test MSE {ref_target:.4f}")
    print("\n| k | target | aekit reaches it at | aekit final (epochs, s) |\n|---|---|---|---|")
    for r in rows:
        if "target" in r:
            hit = r["reached"]
            at = f"{hit[1]:.1f} s (epoch {hit[0]})" if hit else "not reached"
            print(f"| {r['k']} | {r['target']} | {at} | {r['final_mse']:.4f} ({len(r['curve'])}, {r['seconds']:.1f} s) |")
    for r in rows:
        if "ref_target" in r:
            a, t = r["aekit_to_ref_target"], r["textbook_to_ref_target"]
            if a and t:
                print(f"\nk={r['k']}: the textbook's {args.ref_epochs}-epoch error {r['ref_target']:.4f}: textbook "
                      f"{t[1]:.1f} s (epoch {t[0]}), aekit {a[1]:.1f} s (epoch {a[0]}): ratio {t[1] / a[1]:.1f}x")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "textbook": ref_curve, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
