"""Codebook usage of the VQ bottleneck on Fashion-MNIST, K = 512, 2 epochs.

Trains `variant="vq"` (code 32, one token per image, K = 512) with the codebook
options switched one by one: plain VQ (codebook loss, no EMA, no k-means, no
reset), EMA only, EMA plus dead-code reset, and aekit's default (EMA, k-means init
and dead-code reset). Reports the last epoch's codebook usage and perplexity (from
the training history) and the test MSE.

With ``--arch conv`` each image becomes a 7x7 grid of tokens (one per cell of the
encoder's last feature map; ``--code-dim 196`` gives 4-wide tokens), and
``--only-default`` skips the ablation rows.

Run:  .venv/bin/python benchmarks/vq_fashion.py [--epochs 2] [--token-dim 32]
      .venv/bin/python benchmarks/vq_fashion.py --arch conv --code-dim 196 --only-default
Writes benchmarks/out/vq_fashion.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import aekit
from aekit.data import load

SETTINGS = {
    "plain VQ (codebook loss)": dict(vq_ema=False, kmeans_init=False, dead_code_reset=False),
    "EMA only": dict(vq_ema=True, kmeans_init=False, dead_code_reset=False),
    "EMA + dead-code reset": dict(vq_ema=True, kmeans_init=False, dead_code_reset=True),
    "default (EMA + k-means init + reset)": dict(),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--code-dim", type=int, default=32)
    parser.add_argument("--token-dim", type=int, default=None)
    parser.add_argument("--arch", default="mlp", choices=["mlp", "conv"])
    parser.add_argument("--only-default", action="store_true", help="train the default setting only")
    parser.add_argument("--out", default=str(Path(__file__).parent / "out" / "vq_fashion.json"))
    args = parser.parse_args()

    ds = load("builtin:fashion-mnist")
    train, test = ds.train(), ds.test()
    rows = []
    settings = {k: v for k, v in SETTINGS.items() if not args.only_default or k.startswith("default")}
    for name, options in settings.items():
        t0 = time.perf_counter()
        with __import__("warnings").catch_warnings():
            __import__("warnings").simplefilter("ignore")  # collapse warnings are the point here
            est = aekit.AutoEncoder(code_dim=args.code_dim, variant="vq", codebook_size=512, token_dim=args.token_dim,
                                    arch=args.arch, epochs=args.epochs, random_state=0, **options).fit(train)
        seconds = time.perf_counter() - t0
        stats = est.history_[-1]["model"]
        row = {"setting": f"{name}, {args.arch}", "tokens": est.model_.bottleneck.n_tokens,
               "usage": stats["codebook_usage"], "perplexity": stats["perplexity"],
               "test_mse": est.evaluate(test)["mse"], "seconds": seconds}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\n| setting | tokens per image | codebook usage | perplexity | test MSE | fit time |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['setting']} | {r['tokens']} | {r['usage']:.0%} | {r['perplexity']:.0f} | {r['test_mse']:.4f} | "
              f"{r['seconds']:.1f} s |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
