"""Training throughput against the CPU's measured matmul peak, textbook model, Fashion-MNIST shapes.

First the peak: the FLOP/s of square matrix products (the median time at sizes 512,
1024 and 2048, the fastest size kept), in float32 and, where the CPU has native bf16
dot products, bfloat16. Then one epoch-sized run of
each training loop on the textbook network (784-256-64-32 MLP, ``textbook.py``),
reported as samples/s and as the share of the peak its Linear layers' FLOPs
(6 * in * out per sample and layer: forward, input gradient, weight gradient)
reach. The loops:

- ``textbook``: the reference loop verbatim (Adam, batch 256, float32);
- ``aekit trainer, fp32``: the same network trained by ``aekit.train.Trainer``
  (its defaults: AdamW, one-cycle, batch 512) in float32;
- ``aekit trainer, bf16``: the same with the default ``precision="auto"``
  (bfloat16 autocast where the CPU has it), measured against the bf16 peak.

Issue 7's goal: float32 training reaches at least 80 % of the float32 peak on the
textbook model (the reference about 72 %).

Run:  .venv/bin/python benchmarks/throughput.py [--threads 2] [--repeats 5]
Prints Markdown; writes benchmarks/out/throughput.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from aekit.config import TrainConfig
from aekit.train import Trainer, cpu_has_fast_bf16

from textbook import linear_flops_per_sample, textbook, textbook_model


def matmul_peak(dtype: torch.dtype, sizes: tuple[int, ...] = (512, 1024, 2048), repeats: int = 7) -> float:
    """FLOP/s of the fastest square product: the median time at each size (n, n) @ (n, n), best size kept."""
    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        for _ in range(2):
            a @ b
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - t0)
        best = max(best, 2 * n**3 / statistics.median(times))
    return best


class TextbookLoss(torch.nn.Module):
    """The textbook network with the ``loss(x)`` contract aekit's trainer expects."""

    def __init__(self, k: int):
        super().__init__()
        self.net = textbook_model(k)

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": torch.nn.functional.mse_loss(self.net(x), x)}


def reference_epoch(x: torch.Tensor, k: int) -> float:
    """Seconds for one epoch of the textbook loop itself (its test evaluation is not timed)."""
    _, seconds = textbook(x.numpy(), x[:256].numpy(), k, epochs=1)
    return seconds


def trainer_epoch(x: torch.Tensor, k: int, precision: str, batch_size: int | None) -> float:
    """Seconds for one epoch of aekit's trainer (no validation split, no checkpoints)."""
    torch.manual_seed(0)
    model = TextbookLoss(k)
    options = {"batch_size": batch_size} if batch_size else {}
    cfg = TrainConfig(epochs=1, precision=precision, val_fraction=0.0, **options)
    history = Trainer(model, cfg, progress=False).fit(x)
    return history[0]["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--n", type=int, default=60000, help="samples per epoch (Fashion-MNIST's training size)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "out" / "throughput.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.rand(args.n, 784, generator=torch.Generator().manual_seed(0))
    flops = linear_flops_per_sample(textbook_model(args.k))
    bf16 = cpu_has_fast_bf16()

    loops = {
        "textbook (Adam, batch 256, fp32)": ("fp32", lambda: reference_epoch(x, args.k)),
        "aekit trainer, fp32, batch 256": ("fp32", lambda: trainer_epoch(x, args.k, "fp32", 256)),
        "aekit trainer, fp32, default batch": ("fp32", lambda: trainer_epoch(x, args.k, "fp32", None)),
    }
    if bf16:
        loops["aekit trainer, auto (bf16), default batch"] = ("bf16", lambda: trainer_epoch(x, args.k, "auto", None))
    times: dict[str, list[float]] = {name: [] for name in loops}
    peaks: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for _ in range(args.repeats):  # interleaved, so a slow spell of the machine hits every loop alike
        peaks["fp32"].append(matmul_peak(torch.float32))
        if bf16:
            peaks["bf16"].append(matmul_peak(torch.bfloat16))
        for name, (_, run) in loops.items():
            times[name].append(run())
    peak = {kind: statistics.median(v) for kind, v in peaks.items() if v}
    rows = []
    for name, (kind, _) in loops.items():
        seconds = statistics.median(times[name])
        rate = args.n / seconds
        rows.append({"loop": name, "seconds_per_epoch": seconds, "samples_per_s": rate,
                     "gflops": rate * flops / 1e9, "peak_share": rate * flops / peak[kind], "peak": kind,
                     "all_seconds": times[name]})
    print(f"\nmatmul peak (best of 512/1024/2048, median of 7, taken {args.repeats} times): fp32 {peak['fp32'] / 1e9:.0f} GFLOP/s"
          + (f", bf16 {peak['bf16'] / 1e9:.0f} GFLOP/s" if "bf16" in peak else ", no native bf16")
          + f"; {args.threads} threads; {flops / 1e6:.2f} MFLOP per training sample")
    print(f"\n| loop | s / epoch ({args.n:,} rows) | samples/s | GFLOP/s | share of peak |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['loop']} | {r['seconds_per_epoch']:.2f} | {r['samples_per_s']:,.0f} | {r['gflops']:.0f} | "
              f"{r['peak_share']:.0%} of {r['peak']} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "peak": peak, "flops_per_sample": flops, "rows": rows,
                               "numpy": np.__version__, "torch": torch.__version__}, indent=1))


if __name__ == "__main__":
    main()
