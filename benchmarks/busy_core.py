"""A small fit on an idle machine and beside one busy process: torch's default threads against the fair share.

The fit: the default ``aekit.AutoEncoder(code_dim=8)`` on scikit-learn's digits as flat
rows (``load_digits().data / 16``, the first 1,400 rows), a fixed amount of work: 20
epochs at batch size 64, no validation split, no early stopping (``val_fraction=0``,
``patience=None``). The whole ``fit`` is timed (PCA warm start included).

Two loads: idle, and busy (one other process, started with ``multiprocessing``,
spinning in a Python loop; not pinned, the scheduler places it). Two thread
policies: aekit's fair share (``aekit.train.threads``: the cores less the busy ones)
and torch's default (one thread per core, whatever else runs; forced here through
``AEKIT_NUM_THREADS``), and one thread throughout for reference: what a busy core
costs a fit that does not wait on it. Each cell is the median of ``--repeats`` fits,
interleaved (every repeat runs each once, after waiting for two quiet seconds and an
untimed fit, each arm first in turn) so drift hits them alike.
Goal (issue 16, item 4): busy <= 2x idle with the fair share.

Run:  .venv/bin/python benchmarks/busy_core.py [--repeats 3] [--batch-size 64]
Prints a Markdown table; writes benchmarks/out/busy_core.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

import aekit
from aekit.train import threads as policy


def spin() -> None:
    """One core's worth of other work, until terminated."""
    n = 0
    while True:
        n += 1


def wait_for_quiet(limit: float) -> bool:
    """Wait (up to ``limit`` seconds) for two quiet seconds in a row: other people's work is noise here."""
    deadline, quiet = time.monotonic() + limit, 0
    while quiet < 2 and time.monotonic() < deadline:
        quiet = quiet + 1 if policy.busy_cores(1.0) < 0.15 else 0
    return quiet >= 2


def fit_seconds(x: np.ndarray, batch_size: int, default_threads: int | None) -> tuple[float, list[int]]:
    """Seconds for one fit, and torch's thread count seen at the end of each epoch."""
    if default_threads is None:
        os.environ.pop(policy.ENV_VAR, None)
    else:
        os.environ[policy.ENV_VAR] = str(default_threads)
    seen: list[int] = []
    model = aekit.AutoEncoder(code_dim=8, epochs=20, batch_size=batch_size, val_fraction=0.0, patience=None)
    t0 = time.perf_counter()
    model.fit(x, on_epoch_end=lambda record, m: seen.append(torch.get_num_threads()))
    seconds = time.perf_counter() - t0
    os.environ.pop(policy.ENV_VAR, None)
    return seconds, sorted(set(seen))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rows", type=int, default=1400)
    parser.add_argument("--quiet-wait", type=float, default=120.0, help="seconds to wait for quiet per repeat")
    parser.add_argument("--out", default=str(Path(__file__).parent / "out" / "busy_core.json"))
    args = parser.parse_args()
    for name in (policy.ENV_VAR, *policy.PINNING_VARS):
        if os.environ.get(name):
            raise SystemExit(f"unset {name}: this benchmark compares the thread policies itself")

    x = (load_digits().data[: args.rows] / 16.0).astype(np.float32)
    default = torch.get_num_threads()  # torch's own choice at start-up
    arms = {"fair share (aekit)": None, f"torch default ({default} threads)": default, "one thread": 1}
    fit_seconds(x, args.batch_size, None)  # warm-up: imports, first-call costs
    times: dict[tuple[str, str], list[float]] = {}
    used: dict[tuple[str, str], set[int]] = {}
    noisy = 0
    names = list(arms)
    for repeat in range(args.repeats):
        noisy += not wait_for_quiet(args.quiet_wait)
        order = names[repeat % len(names) :] + names[: repeat % len(names)]  # each arm goes first in turn
        for load in ("idle", "busy"):
            other = None
            if load == "busy":
                other = mp.Process(target=spin, daemon=True)
                other.start()
                time.sleep(1.0)  # let it settle on a core before the fit looks at the load
            try:
                fit_seconds(x, args.batch_size, 1)  # untimed: the first fit after a pause runs slow
                for arm in order:
                    seconds, seen = fit_seconds(x, args.batch_size, arms[arm])
                    times.setdefault((arm, load), []).append(seconds)
                    used.setdefault((arm, load), set()).update(seen)
            finally:
                if other is not None:
                    other.terminate()
                    other.join()
            time.sleep(1.0)

    print(
        f"{len(x)} rows x {x.shape[1]}, code_dim 8, 20 epochs, batch {args.batch_size}; "
        f"median of {args.repeats}; {policy.available_cores()} cores, torch {torch.__version__}"
        + (f"; {noisy} repeat(s) started on a machine that was not quiet" if noisy else "")
        + "\n"
    )
    print("| threads | idle (s) | one busy core (s) | busy / idle | threads used idle / busy |")
    print("|---|---|---|---|---|")
    rows = []
    for arm in arms:
        idle, busy = (statistics.median(times[(arm, load)]) for load in ("idle", "busy"))
        seen = " / ".join(",".join(map(str, sorted(used[(arm, load)]))) for load in ("idle", "busy"))
        print(f"| {arm} | {idle:.2f} | {busy:.2f} | {busy / idle:.2f}x | {seen} |")
        rows.append({"arm": arm, "idle_s": times[(arm, "idle")], "busy_s": times[(arm, "busy")], "ratio": busy / idle})
    meta = {
        "torch": torch.__version__,
        "cores": policy.available_cores(),
        "default_threads": default,
        "machine": platform.processor() or platform.machine(),
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "noisy_repeats": noisy,
        "date": time.strftime("%F"),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
