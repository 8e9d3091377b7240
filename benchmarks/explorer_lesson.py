"""Explorer lesson: do the default models teach it, and how long does ``aekit explore`` take to open?

Measures, for the default 2-D plain autoencoder and 2-D VAE that ``aekit explore`` opens without a
model (``aekit.explorer.default_models``), with :func:`aekit.explorer.lesson.lesson_report`:

* presets decoded as themselves (reconstruction nearest its own preset, of the six);
* the closest two preset codes over the data codes' mean spread;
* preset classes with a tile of their own on the decoded 10x10 grid over the latent range;
* blends: pairs of presets whose midpoint code decodes nearest one of the two (and nearer to both
  than to any third), beside the most a decoder that decodes each code as its nearest preset could reach;
* how data-like random decodes are: the median distance of 500 decoded random codes (the VAE's
  from its prior N(0, I), the plain AE's uniform over its plane) to the nearest training image,
  over the same for 500 held-out images (1.0: as near the training data as new data is);
* the presets' distance to their nearest training image (none is a training sample);
* the embedded weights and the size of the inline (notebook) page.

The defaults were chosen on data seed 0 with model seed 0; ``--seeds`` repeats the lesson on
other data and model seeds, which they were not chosen on.

Then it times ``aekit explore`` as a user starts it, in a child process on at most 2 cores: the
first open with an empty cache (generate the data, train and cache both models, serve), until
``/api/meta`` answers; and later opens, loading the cache. Medians of ``--first`` and ``--later`` runs.

Run:  .venv/bin/python benchmarks/explorer_lesson.py [--seeds 1 2 3] [--first 3] [--later 5]
Prints Markdown tables; writes benchmarks/results/explorer_lesson.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "results" / "explorer_lesson.json"


def lesson(seed: int, cache: Path) -> dict:
    """The lesson on the default models trained on data seed ``seed`` with model seed ``seed``."""
    from aekit.explorer import DEFAULT_DATA, Session, default_models
    from aekit.explorer.lesson import lesson_report

    data = DEFAULT_DATA if seed == 0 else f"{DEFAULT_DATA}&seed={seed}"
    models, ds = default_models(data=data, seed=seed, cache=cache)
    session = Session(models, ds)
    return {name: lesson_report(session, name) for name in models}


def sizes(cache: Path) -> dict:
    """Embedded weights of the default models and the inline page's size, in bytes."""
    from aekit.explorer import Session, default_models
    from aekit.explorer.export import page_payload
    from aekit.explorer.inline import INLINE_POINTS, explorer_html

    models, ds = default_models(cache=cache)
    session = Session(models, ds)
    payload = page_payload(session, INLINE_POINTS)
    return {
        "weights_bytes": len(json.dumps(payload["models"], separators=(",", ":"))),
        "page_bytes": len(explorer_html(session).encode("utf-8")),
        "n_weights": {name: sum(p.numel() for p in est.model_.parameters()) for name, est in models.items()},
    }


def presets_vs_training() -> dict:
    """Each preset's mean squared distance to its nearest training image of the default data."""
    import aekit
    from aekit.explorer import DEFAULT_DATA
    from aekit.explorer.lesson import nearest_preset

    train = aekit.data.load(DEFAULT_DATA).train().flat()
    presets = aekit.data.shapes12_presets()
    d = nearest_preset(train, np.float32([x.ravel() for x in presets.values()])).min(0)
    return dict(zip(presets, (float(v) for v in d)))


def open_time(cache: Path, timeout: float = 300.0) -> float:
    """Seconds from starting ``aekit explore`` until its /api/meta answers, on at most 2 cores."""
    env = {**os.environ, "AEKIT_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
    cores = sorted(os.sched_getaffinity(0))[:2]
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "aekit", "explore"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        preexec_fn=lambda: os.sched_setaffinity(0, cores),
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            found = re.search(r"(http://\S+)\?token=(\S+)", line)
            if found:
                request = urllib.request.Request(
                    found.group(1) + "api/meta", headers={"Authorization": f"Bearer {found.group(2)}"}
                )
                with urllib.request.urlopen(request, timeout=timeout) as answer:
                    assert answer.status == 200
                return time.perf_counter() - start
            if time.perf_counter() - start > timeout:
                break
        raise RuntimeError("aekit explore printed no URL")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3], help="other data and model seeds")
    parser.add_argument("--first", type=int, default=3, help="first opens timed (each with an empty cache)")
    parser.add_argument("--later", type=int, default=5, help="later opens timed (cache present)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="aekit-lesson-") as tmp:
        cache = Path(tmp) / "explorer"
        runs = {seed: lesson(seed, cache) for seed in [0, *args.seeds]}
        size = sizes(cache)
        firsts, laters = [], []
        for k in range(args.first):
            folder = Path(tmp) / f"first-{k}"
            firsts.append(open_time(folder))
            if k == 0:
                laters = [open_time(folder) for _ in range(args.later)]
    nearest = presets_vs_training()

    print("## Lesson of the default models (data seed 0, model seed 0; the defaults were chosen here)\n")
    print("| measure | plain AE | VAE |")
    print("|---|---|---|")
    r = runs[0]
    rows = [
        ("presets decoded as themselves", lambda m: f"{len(m['self'])}/6"),
        (
            "closest two preset codes / codes' mean spread",
            lambda m: f"{m['separation']:.2f} ({' & '.join(m['closest_pair'])})",
        ),
        ("preset classes on the 10x10 grid", lambda m: f"{len(m['grid_classes'])}/6"),
        ("blends: midpoint nearest one of its two", lambda m: f"{m['blends']}/15 (ceiling {m['blend_ceiling']})"),
        ("blends: midpoint nearer both than any third", lambda m: f"{m['blends_both']}/15"),
        ("random decodes vs held-out data (1 = as data-like)", lambda m: f"{m['samples']['prior_vs_data']:.2f}"),
    ]
    for label, cell in rows:
        print(f"| {label} | {cell(r['ae'])} | {cell(r['vae'])} |")
    print("\n## On data and model seeds the defaults were not chosen on\n")
    print("| seed | model | self | separation | grid | blends (both) | random vs data |")
    print("|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        for name, m in runs[seed].items():
            print(
                f"| {seed} | {name} | {len(m['self'])}/6 | {m['separation']:.2f} | {len(m['grid_classes'])}/6 | "
                f"{m['blends']} ({m['blends_both']})/15 | {m['samples']['prior_vs_data']:.2f} |"
            )
    print("\n## Opening `aekit explore` (2 cores)\n")
    print(
        f"first open (generate, train and cache both models), median of {len(firsts)}: "
        f"{statistics.median(firsts):.1f} s "
        f"(runs {', '.join(f'{t:.1f}' for t in firsts)})"
    )
    print(
        f"later opens (load the cache), median of {len(laters)}: {statistics.median(laters):.2f} s "
        f"(runs {', '.join(f'{t:.2f}' for t in laters)})"
    )
    print(
        f"\nembedded weights, both models: {size['weights_bytes'] / 1e6:.2f} MB; inline page: "
        f"{size['page_bytes'] / 1e6:.2f} MB; parameters {size['n_weights']}"
    )
    print("presets' nearest training image (MSE): " + ", ".join(f"{k} {v:.4f}" for k, v in nearest.items()))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "machine": {
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                },
                "lesson": {str(k): v for k, v in runs.items()},
                "first_open_s": firsts,
                "later_open_s": laters,
                "sizes": size,
                "presets_nearest_training_mse": nearest,
            },
            indent=1,
        )
    )
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
