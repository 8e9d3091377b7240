"""Inference throughput: encoding and scoring in samples/s, PyTorch against ONNX Runtime.

Trains two models on Fashion-MNIST for a few epochs (this is about speed, not
quality): the default MLP (code 32) and a conv model (code 32, channels (32, 64)),
on the first ``--n-train`` training images. Without the local IDX files
(/usr/share/datasets/fashion-mnist, Debian's ``dataset-fashion-mnist``) it falls back
to scikit-learn's digits, never the network. Each model is exported with
``aekit.estimators.onnx.export_onnx`` and then timed on test images, per batch size:

* ``torch estimator``: ``AutoEncoder.transform`` / ``reconstruction_error``, the public
  API with its input checks and numpy <-> torch conversions, float32;
* ``torch module``: ``model.encode(x, sample=False).mean`` / ``model.reconstruction_error``
  on ready tensors under ``torch.inference_mode``, float32;
* ``torch module bf16``: the same under CPU bfloat16 autocast, only where the CPU has
  native bf16 (AVX512-BF16 or AMX, ``aekit.train.cpu_has_fast_bf16``) or with ``--bf16 on``;
* ``onnxruntime``: ``encoder.onnx`` / ``scorer.onnx`` (the reconstruction error per sample,
  the same number as ``reconstruction_error``), CPU execution provider, all graph
  optimisations, numpy in and out.

Encoding is the code of each sample; scoring is its reconstruction error (encode,
decode, mean squared error). Every path runs with the same thread count: torch's
``set_num_threads`` and ORT's ``intra_op_num_threads`` (``inter_op`` 1), one by
default, as on a shared two-core machine a second thread spin-waits on a busy core.
A measurement is the median over ``--repeats`` passes over the same samples
(``--samples`` for batches of 64 and up, an eighth of it, at least 256, for batch 1),
after a warm-up; the paths take turns pass by pass, so load from other processes
falls on all of them alike.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/inference_throughput.py [--threads 1]
          [--batches 1 64 1024] [--repeats 5] [--samples 8192] [--epochs 2] [--n-train 10000]
Results go to stdout as a Markdown table and to benchmarks/out/inference_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

import aekit
from aekit.estimators.onnx import export_onnx
from aekit.train import cpu_has_fast_bf16

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
MODELS = {"mlp": dict(code_dim=32), "conv": dict(code_dim=32, arch="conv", channels=(32, 64))}


def load_data(n_train: int) -> tuple[str, np.ndarray, np.ndarray]:
    """(name, training images, test images), each (n, 1, H, W) float32 in [0, 1]."""
    name = "builtin:fashion-mnist" if (FASHION_DIR / "train-images-idx3-ubyte.gz").exists() else "builtin:digits"
    ds = aekit.data.load(name)
    test = ds.is_test if ds.is_test is not None else np.arange(len(ds)) >= int(0.8 * len(ds))
    return name, ds.x[~test][:n_train], ds.x[test]


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def throughput(runs: dict, repeats: int) -> dict:
    """Samples per second for each ``key -> (fn, batches)``: the median of ``repeats`` timed
    passes over ``batches``. The passes take turns (one of each key per round), so a burst
    of load from other processes slows every path alike instead of one."""
    for fn, batches in runs.values():  # warm-up: allocations, ORT's first-run planning
        for b in batches[: max(1, len(batches) // 4)]:
            fn(b)
    times = {key: [] for key in runs}
    for _ in range(repeats):
        for key, (fn, batches) in runs.items():
            start = time.perf_counter()
            for b in batches:
                fn(b)
            times[key].append(time.perf_counter() - start)
    return {key: sum(len(b) for b in runs[key][1]) / statistics.median(t) for key, t in times.items()}


def session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def paths_for(est, model, sessions, use_bf16: bool) -> dict[str, tuple]:
    """path name -> (encode fn, score fn, takes tensors?)."""
    def module(autocast: bool):
        ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if autocast else nullcontext

        def encode(t):
            with torch.inference_mode(), ctx():
                return model.encode(t, sample=False).mean

        def score(t):
            with torch.inference_mode(), ctx():
                return model.reconstruction_error(t)
        return encode, score, True

    enc, scorer = sessions
    out = {"torch estimator": (est.transform, est.reconstruction_error, False), "torch module": module(False)}
    if use_bf16:
        out["torch module bf16"] = module(True)
    out["onnxruntime"] = (lambda x: enc.run(None, {"x": x})[0], lambda x: scorer.run(None, {"x": x})[0], False)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 1024])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=8192, help="samples per pass for batches >= 64")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--bf16", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--out", default="benchmarks/out/inference_throughput.json")
    args = parser.parse_args()

    import onnxruntime as ort

    torch.set_num_threads(args.threads)
    use_bf16 = args.bf16 == "on" or (args.bf16 == "auto" and cpu_has_fast_bf16())
    name, train, test = load_data(args.n_train)
    reps = int(np.ceil(args.samples / len(test)))
    pool = np.concatenate([test] * reps)[: args.samples]  # (samples, 1, H, W)
    rows, models = [], {}
    for model_name, options in MODELS.items():
        start = time.perf_counter()
        est = aekit.AutoEncoder(epochs=args.epochs, random_state=0, **options).fit(train)
        fit_s = time.perf_counter() - start
        model = est.model_.eval()
        with tempfile.TemporaryDirectory() as tmp:
            paths = export_onnx(est, tmp)
            sessions = (session(paths["encoder"], args.threads), session(paths["scorer"], args.threads))
        check = pool[:256]
        diff = {"encode": float(np.abs(sessions[0].run(None, {"x": check})[0] - est.transform(check)).max()),
                "score": float(np.abs(sessions[1].run(None, {"x": check})[0]
                                      - est.reconstruction_error(check)).max())}
        models[model_name] = {"options": {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()},
                              "parameters": model.n_parameters, "fit_seconds": fit_s, "ort_max_abs_diff": diff}
        print(f"{model_name}: {model.n_parameters:,} parameters, fitted in {fit_s:.0f} s; "
              f"ORT vs torch max |diff| encode {diff['encode']:.1e}, score {diff['score']:.1e}", flush=True)
        for batch in args.batches:
            n = args.samples if batch > 1 else max(256, args.samples // 8)
            arrays = [pool[i : i + batch] for i in range(0, n, batch)]
            tensors = [torch.from_numpy(a) for a in arrays]
            runs = {}
            for path, (encode, score, on_tensors) in paths_for(est, model, sessions, use_bf16).items():
                feed = tensors if on_tensors else arrays
                runs[path, "encode"] = (encode, feed)
                runs[path, "score"] = (score, feed)
            rates = throughput(runs, args.repeats)
            for path in dict.fromkeys(p for p, _ in runs):
                row = {"model": model_name, "batch": batch, "path": path,
                       "encode_per_s": rates[path, "encode"], "score_per_s": rates[path, "score"]}
                rows.append(row)
                print(f"  batch {batch:>5}  {path:<18} encode {row['encode_per_s']:>10,.0f}/s  "
                      f"score {row['score_per_s']:>10,.0f}/s", flush=True)

    print(f"\n{name}, {len(train)} training images, {args.epochs} epochs; {cpu_name()}, "
          f"{args.threads} thread(s) for torch and ONNX Runtime; median of {args.repeats}\n")
    print("| model | batch | path | encode (samples/s) | score (samples/s) |")
    print("|---|---:|---|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['batch']} | {r['path']} | {r['encode_per_s']:,.0f} | {r['score_per_s']:,.0f} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"data": name, "n_train": len(train), "epochs": args.epochs, "threads": args.threads,
              "repeats": args.repeats, "samples": args.samples, "bf16": use_bf16, "cpu": cpu_name(),
              "cpu_has_fast_bf16": cpu_has_fast_bf16(), "torch": torch.__version__, "onnxruntime": ort.__version__,
              "aekit": aekit.__version__, "models": models, "rows": rows}
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
