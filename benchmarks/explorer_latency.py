"""Explorer drag latency: from a drag event in the browser to the decoded pixels on the canvas.

Starts ``aekit explore [MODEL]`` in its own process, as a user does (uvicorn on
127.0.0.1, one torch thread), and drives the page in Debian's Chromium
(/usr/bin/chromium, via Playwright) with real mouse events on the latent plane. The
page itself measures each answered drag, from the drag handler's ``performance.now()``
(``window.explorer.latencies``) or from the input event's ``timeStamp``
(``window.explorer.eventLatencies``, which adds the browser's input queueing) to just
after ``putImageData`` of the reconstruction: event dispatch, the WebSocket round trip,
the server's decode and the drawing. Rows:

* ``one at a time``: each drag position waits for its pixels before the next (the
  latency of one move, nothing queued);
* ``120 Hz drag``: positions at 120 Hz without waiting, as a fast mouse sends them;
  the server answers only the newest queued position, so "answered" can be below the
  number sent, and latency includes any wait behind the decode in flight;
* ``python WebSocket``: send a position, receive the image (server and transport only).

Run:  .venv/bin/python benchmarks/explorer_latency.py [--drags 500] [--model DIR] [--data SPEC]
Results go to stdout as a Markdown table and to benchmarks/out/explorer_latency[_MODEL].json.
The target is p95 < 16 ms (one frame at 60 Hz).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

CHROMIUM = os.environ.get("AEKIT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _path(n: int, seed: int) -> np.ndarray:
    """``n`` points (fractions of the plane) of a smooth random walk, kept inside [0.05, 0.95]."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.012, size=(n, 2))
    points = np.empty((n, 2))
    p = np.array([0.5, 0.5])
    for i, step in enumerate(steps):
        p = np.clip(p + step, 0.05, 0.95)
        points[i] = p
    return points


def _summary(name: str, sent: int, ms: list[float]) -> dict:
    a = np.asarray(ms, dtype=np.float64)
    return {"path": name, "sent": sent, "answered": int(a.size), "p50_ms": float(np.percentile(a, 50)),
            "p95_ms": float(np.percentile(a, 95)), "max_ms": float(a.max())}


_RESET = "() => { window.explorer.latencies.length = 0; window.explorer.eventLatencies.length = 0; }"


def _browser_summaries(name: str, drags: int, page) -> list[dict]:
    handler, event = page.evaluate("() => [window.explorer.latencies, window.explorer.eventLatencies]")
    return [_summary(f"browser {name}: drag handler -> pixels", drags, handler),
            _summary(f"browser {name}: input event -> pixels", drags, event)]


@contextmanager
def explore(model: str | None, data: str | None):
    """Run ``aekit explore`` in a child process; yield its URL, then stop it."""
    cmd = [sys.executable, "-m", "aekit", "explore", *([model] if model else []), *(["--data", data] if data else [])]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = []
        for line in proc.stdout:  # training the default models on a first run takes a few seconds
            lines.append(line)
            found = re.search(r"(http://\S+)", line)
            if found:
                yield found.group(1), "".join(lines)
                return
        raise RuntimeError("aekit explore exited before printing its URL:\n" + "".join(lines))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def browser_rows(url: str, drags: int, seed: int) -> list[dict]:
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(url)
        page.wait_for_function("() => window.explorer && window.explorer.state.ready", timeout=30000)
        box = page.locator("#plane").bounding_box()
        to_screen = lambda q: (box["x"] + q[0] * box["width"], box["y"] + q[1] * box["height"])  # noqa: E731
        idle = "() => window.explorer.state.drawnSeq === window.explorer.state.seq"

        # Warm-up: the first decodes pay for lazy initialisation on both sides.
        points = _path(drags + 20, seed)
        page.mouse.move(*to_screen(points[0]))
        page.mouse.down()
        for q in points[1:20]:
            page.mouse.move(*to_screen(q))
            page.wait_for_function(idle)
        page.evaluate(_RESET)
        for q in points[20:]:
            page.mouse.move(*to_screen(q))
            page.wait_for_function(idle)
        rows += _browser_summaries("one at a time", drags, page)

        page.evaluate(_RESET)
        period = 1 / 120
        start = time.perf_counter()
        for i, q in enumerate(_path(drags, seed + 1)):
            page.mouse.move(*to_screen(q))
            delay = start + (i + 1) * period - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        page.wait_for_function(idle)
        rows += _browser_summaries("120 Hz drag", drags, page)
        page.mouse.up()
        browser.close()
    return rows


def websocket_row(url: str, model: str, code_dim: int, drags: int, seed: int) -> dict:
    from websockets.sync.client import connect

    z = np.random.default_rng(seed).normal(size=(drags + 20, code_dim)).astype(np.float32)
    ms = []
    with connect(url.replace("http", "ws", 1) + "ws/drag", origin=url.rstrip("/")) as ws:
        for i, code in enumerate(z):
            t0 = time.perf_counter()
            ws.send(json.dumps({"type": "decode", "model": model, "z": code.tolist(), "seq": i + 1}))
            reply = json.loads(ws.recv(timeout=10))
            if i >= 20:
                ms.append((time.perf_counter() - t0) * 1000)
            assert reply["seq"] == i + 1, reply
    return _summary("python WebSocket", drags, ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drags", type=int, default=500)
    parser.add_argument("--model", default=None, help="model directory (default: the explorer's default models)")
    parser.add_argument("--data", default=None, help="data spec for --model (default: the one it records)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import httpx

    with explore(args.model, args.data) as (url, log):
        meta = httpx.get(url + "api/meta").json()
        first = meta["models"][0]
        rows = browser_rows(url, args.drags, args.seed)
        rows.append(websocket_row(url, first["name"], first["code_dim"], args.drags, args.seed))

    ds = meta["dataset"]
    command = " ".join(["aekit explore", *([args.model] if args.model else [])])
    setup = (f"`{command}`, model {first['name']!r} ({first['variant']}, code "
             f"{first['code_dim']}) on {ds['name']}, samples {tuple(ds['sample_shape'])}; "
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Chromium {CHROMIUM}")
    print(f"Explorer drag latency, {setup}\n")
    print("| path | drags sent | answered | p50 (ms) | p95 (ms) | max (ms) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['path']} | {r['sent']} | {r['answered']} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | "
              f"{r['max_ms']:.2f} |")
    suffix = "" if args.model is None else "_" + first["name"]
    out = Path(__file__).parent / "out" / f"explorer_latency{suffix}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"setup": setup, "rows": rows}, indent=1))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
