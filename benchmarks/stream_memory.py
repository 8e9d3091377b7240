"""Peak memory of streaming fit, encode and score as the data file grows 10x.

Two ``.npy`` files of Fashion-MNIST-like images, (n, 1, 28, 28) float32 in [0, 1]
(3,136 bytes a row): each row a random Fashion-MNIST image (the 70,000 of
``builtin:fashion-mnist``) plus N(0, 0.03^2) noise, clipped, seeded. ``--rows``
rows (default 80,000: 251 MB) and ``--factor`` times as many (default 10x:
2.5 GB). The files are written a chunk at a time by this process; every measured
step runs in a fresh Python process that reports its own peak resident set size
(``VmHWM`` in /proc/self/status: anonymous memory plus the file pages it maps),
so nothing but the step counts:

- ``fit``: ``aekit fit FILE -o MODEL --stream --epochs 1 --code-dim 32 -q`` (the
  statistics pass, one epoch, the held-out 20 % evaluated, the model saved);
- ``encode``: ``aekit encode MODEL FILE -o codes.npy``;
- ``score``: ``aekit score DETECTOR FILE -o scores.csv``. ``aekit detect`` does not
  stream, so the detector is trained once, in memory, on the small file's first
  20,000 rows (setup, not measured);
- for scale, ``startup`` (importing aekit's CLI and torch, nothing else) and, for
  the small file only, ``fit (in memory)``: the same fit without ``--stream``.

Goal (issue 7): for each streaming step, peak memory with the 10x file at most
10 % above the small file's. One torch thread (``OMP_NUM_THREADS=1``).

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/stream_memory.py [--rows 80000] [--factor 10] [--dir DIR] [--keep]
Results: a Markdown table on stdout and benchmarks/out/stream_memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

MARK = "STREAM-MEMORY-RESULT "


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM), in MB (10^6 bytes)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(argv: list[str]) -> None:
    """Run one aekit command in this (fresh) process and print its peak memory and time."""
    import torch

    torch.set_num_threads(1)
    from aekit.cli import main

    t0 = time.perf_counter()
    if argv != ["startup"]:
        main(args=argv, standalone_mode=False)
    print(MARK + json.dumps({"peak_rss_mb": peak_rss_mb(), "seconds": time.perf_counter() - t0}), flush=True)


def measure(argv: list[str]) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    done = subprocess.run([sys.executable, __file__, "--child", *map(str, argv)], capture_output=True, text=True,
                          env=env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} failed:\n{done.stdout}\n{done.stderr}")
    line = next(x for x in done.stdout.splitlines() if x.startswith(MARK))
    return json.loads(line[len(MARK):])


def write_images(path: Path, n: int, seed: int, chunk: int = 20_000) -> None:
    """n Fashion-MNIST-like rows (n, 1, 28, 28) float32, written a chunk at a time."""
    from aekit.data import load

    images = load("builtin:fashion-mnist").x  # (70000, 1, 28, 28) in [0, 1]
    rng = np.random.default_rng(seed)
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False, "shape": (n, 1, 28, 28)})
        for start in range(0, n, chunk):
            k = min(chunk, n - start)
            x = images[rng.integers(0, len(images), k)] + rng.normal(0.0, 0.03, (k, 1, 28, 28)).astype(np.float32)
            fh.write(np.clip(x, 0.0, 1.0).astype(np.float32).tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=80_000)
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--dir", default="/tmp/aekit-stream-bench")
    parser.add_argument("--keep", action="store_true", help="Keep the data files and models.")
    parser.add_argument("--out", default=str(Path(__file__).parent / "out" / "stream_memory.json"))
    args = parser.parse_args()
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    sizes = {"1x": args.rows, f"{args.factor}x": args.rows * args.factor}
    files = {}
    for label, n in sizes.items():
        files[label] = work / f"images_{label}.npy"
        if not files[label].exists() or files[label].stat().st_size < n * 3136:
            t0 = time.perf_counter()
            write_images(files[label], n, seed=n)
            print(f"wrote {files[label]} ({n} rows, {files[label].stat().st_size / 1e9:.2f} GB) in "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)

    # The detector for `score`: trained in memory on 20,000 rows (not measured).
    small = np.load(files["1x"], mmap_mode="r")
    np.save(work / "detector_rows.npy", np.array(small[:20_000]))
    del small
    subprocess.run([sys.executable, "-m", "aekit", "detect", str(work / "detector_rows.npy"), "-o",
                    str(work / "detector"), "--epochs", "2", "-q"], check=True, capture_output=True)

    rows = [{"file": "-", "step": "startup", **measure(["startup"])}]
    print(f"startup: {rows[-1]}", flush=True)
    for label, path in files.items():
        model = work / f"model_{label}"
        steps = {"fit": ["fit", path, "-o", model, "--stream", "--epochs", "1", "--code-dim", "32", "-q"],
                 "encode": ["encode", model, path, "-o", work / f"codes_{label}.npy"],
                 "score": ["score", work / "detector", path, "-o", work / f"scores_{label}.csv"]}
        if label == "1x":
            steps = {"fit (in memory)": ["fit", path, "-o", work / "model_memory", "--no-stream", "--epochs", "1",
                                         "--code-dim", "32", "-q"], **steps}
        for step, argv in steps.items():
            result = measure(argv)
            rows.append({"file": label, "rows": sizes[label], "gb": path.stat().st_size / 1e9, "step": step,
                         **result})
            print(f"{label} {step}: {result}", flush=True)
        metrics = json.loads((model / "metrics.json").read_text())
        rows[-3]["test_mse"], rows[-3]["pca_mse"] = metrics["mse"], metrics["pca_mse"]

    big = f"{args.factor}x"
    print(f"\n| step | {sizes['1x']:,} rows ({files['1x'].stat().st_size / 1e9:.2f} GB): peak RSS, time "
          f"| {sizes[big]:,} rows ({files[big].stat().st_size / 1e9:.2f} GB): peak RSS, time | growth |")
    print("|---|---|---|---|")
    by = {(r["file"], r["step"]): r for r in rows}
    print(f"| startup (import) | {by['-', 'startup']['peak_rss_mb']:.0f} MB | | |")
    print(f"| fit (in memory) | {by['1x', 'fit (in memory)']['peak_rss_mb']:.0f} MB, "
          f"{by['1x', 'fit (in memory)']['seconds']:.0f} s | not run | |")
    for step in ("fit", "encode", "score"):
        a, b = by["1x", step], by[big, step]
        growth = b["peak_rss_mb"] / a["peak_rss_mb"] - 1
        a["growth"] = b["growth"] = growth
        print(f"| {step} (streaming) | {a['peak_rss_mb']:.0f} MB, {a['seconds']:.0f} s | {b['peak_rss_mb']:.0f} MB, "
              f"{b['seconds']:.0f} s | {growth:+.1%} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "omp_threads": os.environ.get("OMP_NUM_THREADS"), "date": time.strftime("%F")}
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"\nwrote {out}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
