"""Explorer load test: thousands of decodes from loopback against the real server, with its memory.

Starts ``aekit explore [MODEL]`` in its own process, as a user does (uvicorn on
127.0.0.1, a free port, one torch thread), then from this process over loopback:

* ``decode``: ``--requests`` POST /api/decode of one code each (a drag position drawn
  inside the model's latent range), from ``--clients`` concurrent keep-alive clients
  (httpx), after ``--warmup`` requests left out of the numbers;
* ``bad requests``: ``--bad`` malformed requests (broken JSON, NaN, unknown model,
  wrong length, wrong content type, deep nesting, unknown fields), each of which must
  get its documented 4xx JSON error;
* ``drag``: ``--drags`` positions over ``--sockets`` WebSockets (/ws/drag), each sent
  once the previous one's image came back;
* ``idle sockets``: ``--idle-sockets`` WebSockets opened and left idle (the server keeps
  its per-client cap and closes the rest with code 1013), then ``--idle-requests`` fresh
  GETs of the page and of /api/meta, each on a new connection, timed.

Every request carries the token the server printed (``Authorization: Bearer``).

An error is a transport failure, a timeout, an unexpected status or a malformed
answer; the run must have none. Every 1,000 requests (and at each phase's end) the
server's resident memory is read from /proc (VmRSS, and VmHWM for the peak), so a
leak shows as growth after the warm-up. The count and the time are bounded
(``--max-seconds``); the script exits 1 on any error or when it runs out of time.

Run:  .venv/bin/python benchmarks/explorer_load.py [--requests 10000] [--clients 4] [--model DIR --data SPEC]
      [--idle-sockets 300]
Prints Markdown tables; writes benchmarks/out/explorer_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
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


# -- the server -----------------------------------------------------------------------------
@contextmanager
def explore(model: str | None = None, data: str | None = None, timeout: float = 120.0):
    """Run ``aekit explore`` in a child process; yield ``(url, pid, token)``, then stop it.

    ``url`` is the page's address without the token, e.g. ``http://127.0.0.1:40123/``."""
    cmd = [sys.executable, "-m", "aekit", "explore", *([model] if model else []), *(["--data", data] if data else [])]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines, deadline = [], time.monotonic() + timeout  # training the default models first takes seconds
        for line in proc.stdout:
            lines.append(line)
            found = re.search(r"(http://127\.0\.0\.1:\d+/)\?token=([\w.~-]+)", line)
            if found:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("aekit explore printed no URL in time:\n" + "".join(lines))
        else:
            raise RuntimeError("aekit explore exited before printing its URL:\n" + "".join(lines))
        yield found.group(1), proc.pid, found.group(2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def rss_mb(pid: int) -> tuple[float, float]:
    """The process's resident memory now and at its peak (VmRSS, VmHWM), in MiB (Linux /proc)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


# -- the phases -----------------------------------------------------------------------------
class Recorder:
    """Latencies, errors and memory samples of one phase."""

    def __init__(self, name: str, pid: int, every: int = 1000):
        self.name, self.pid, self.every = name, pid, every
        self.ms: list[float] = []
        self.errors: list[str] = []
        self.memory: list[tuple[int, float]] = [(0, rss_mb(pid)[0])]  # (requests done, RSS MiB)
        self.done = 0
        self.t0 = time.perf_counter()

    def record(self, ms: float | None, problem: str | None = None) -> None:
        self.done += 1
        if problem is None:
            self.ms.append(ms)
        else:
            self.errors.append(problem)
        if self.done % self.every == 0:
            self.memory.append((self.done, rss_mb(self.pid)[0]))

    def summary(self) -> dict:
        seconds = time.perf_counter() - self.t0
        if self.memory[-1][0] != self.done:
            self.memory.append((self.done, rss_mb(self.pid)[0]))
        a = np.asarray(self.ms or [np.nan])
        half = next(mb for n, mb in self.memory if n >= self.done // 2)
        return {
            "phase": self.name,
            "requests": self.done,
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
            "seconds": seconds,
            "per_second": self.done / seconds,
            "p50_ms": float(np.percentile(a, 50)),
            "p95_ms": float(np.percentile(a, 95)),
            "p99_ms": float(np.percentile(a, 99)),
            "max_ms": float(a.max()),
            "rss_start_mb": self.memory[0][1],
            "rss_end_mb": self.memory[-1][1],
            "rss_growth_second_half_mb": self.memory[-1][1] - half,
            "rss_samples": self.memory,
        }


def _codes(model: dict, n: int, seed: int) -> np.ndarray:
    """``n`` codes (n, code_dim) uniform in the model's latent range, as a drag visits it."""
    low, high = np.asarray(model["latent_range"], dtype=np.float64).T
    return np.random.default_rng(seed).uniform(low, high, size=(n, model["code_dim"])).astype(np.float32)


async def decode_phase(
    url: str, pid: int, meta: dict, requests: int, warmup: int, clients: int, seed: int, headers: dict
) -> dict:
    import httpx

    model = meta["models"][0]
    z = _codes(model, warmup + requests, seed)
    n_features = meta["dataset"]["n_features"]

    async def client(http: httpx.AsyncClient, indices, rec: Recorder | None) -> None:
        for i in indices:  # one iterator shared by the clients: each index is sent once
            t0 = time.perf_counter()
            ms, problem = None, None
            try:
                response = await http.post(url + "api/decode", json={"model": model["name"], "codes": [z[i].tolist()]})
                ms = (time.perf_counter() - t0) * 1000
                if response.status_code != 200:
                    problem = f"status {response.status_code}: {response.text[:200]}"
                elif len(response.json()["images"][0]) != n_features:
                    problem = "an image of the wrong size"
            except Exception as exc:  # a transport error or a timeout counts, and the run goes on
                problem = f"{type(exc).__name__}: {exc}"
            if rec is not None:
                rec.record(ms, problem)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=10.0, headers=headers) as http:
        warm = iter(range(warmup))
        await asyncio.gather(*(client(http, warm, None) for _ in range(clients)))
        rec = Recorder("decode (1 code)", pid)
        measured = iter(range(warmup, warmup + requests))
        await asyncio.gather(*(client(http, measured, rec) for _ in range(clients)))
    return rec.summary()


def bad_requests(meta: dict) -> list[tuple[dict, int]]:
    """Malformed requests and the status each must get: ``({method, path, content, headers}, status)``."""
    model = meta["models"][0]
    name, d, n = model["name"], model["code_dim"], meta["dataset"]["n_features"]
    ok = [0.0] * d
    js = {"Content-Type": "application/json"}

    def post(body: bytes, status: int, headers: dict = js) -> tuple[dict, int]:
        return {"method": "POST", "path": "api/decode", "content": body, "headers": headers}, status

    return [
        post(b"{not json", 400),
        post(b'{"model": "%s", "codes": [[NaN' % name.encode() + b", 0]]}", 400),
        post(json.dumps({"model": "no-such-model", "codes": [ok]}).encode(), 404),
        post(json.dumps({"model": name, "codes": [ok + [0.0]]}).encode(), 400),
        post(json.dumps({"model": name, "codes": [[1e300] * d]}).encode(), 400),
        post(json.dumps({"model": name, "codes": [ok], "extra": 1}).encode(), 400),
        post(json.dumps({"model": name, "codes": [ok], "x": [1e30] * n}).encode(), 400),
        post(b"[" * 100_000 + b"]" * 100_000, 400),  # deep nesting: a RecursionError inside json
        post(json.dumps({"model": name, "codes": [ok]}).encode(), 415, {"Content-Type": "text/plain"}),
        ({"method": "GET", "path": "api/decode", "content": None, "headers": {}}, 405),
        ({"method": "GET", "path": "api/sample?index=../../etc/passwd", "content": None, "headers": {}}, 400),
        ({"method": "GET", "path": "static/..%2F..%2Fserver.py", "content": None, "headers": {}}, 404),
    ]


async def bad_phase(url: str, pid: int, meta: dict, requests: int, clients: int, headers: dict) -> dict:
    import httpx

    cases = bad_requests(meta)
    rec = Recorder("bad requests (4xx)", pid)
    queue = iter(range(requests))

    async def client(http: httpx.AsyncClient) -> None:
        for i in queue:
            spec, status = cases[i % len(cases)]
            t0 = time.perf_counter()
            ms, problem = None, None
            try:
                response = await http.request(
                    spec["method"], url + spec["path"], content=spec["content"], headers=spec["headers"]
                )
                ms = (time.perf_counter() - t0) * 1000
                if response.status_code != status:
                    problem = f"{spec['method']} {spec['path']}: status {response.status_code}, not {status}"
                elif not response.json().get("error") or "Traceback" in response.text:
                    problem = f"{spec['method']} {spec['path']}: no JSON error message"
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"
            rec.record(ms, problem)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=10.0, headers=headers) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return rec.summary()


async def drag_phase(url: str, pid: int, meta: dict, drags: int, sockets: int, seed: int, headers: dict) -> dict:
    from websockets.asyncio.client import connect

    model = meta["models"][0]
    z = _codes(model, drags, seed + 1)
    rec = Recorder(f"drag (WebSocket, {sockets} sockets)", pid)
    queue = iter(range(drags))

    async def socket() -> None:
        async with connect(
            url.replace("http", "ws", 1) + "ws/drag", origin=url.rstrip("/"), max_size=2**22, additional_headers=headers
        ) as ws:
            for i in queue:
                t0 = time.perf_counter()
                ms, problem = None, None
                try:
                    await ws.send(json.dumps({"type": "decode", "model": model["name"], "z": z[i].tolist(), "seq": i}))
                    reply = json.loads(await asyncio.wait_for(ws.recv(), 10.0))
                    ms = (time.perf_counter() - t0) * 1000
                    if reply.get("type") != "decoded" or reply.get("seq") != i:
                        problem = f"reply {str(reply)[:200]}"
                except Exception as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                rec.record(ms, problem)

    await asyncio.gather(*(socket() for _ in range(sockets)))
    return rec.summary()


async def idle_phase(url: str, pid: int, count: int, requests: int, headers: dict) -> dict:
    """``count`` idle WebSockets, then ``requests`` fresh GETs each of the page and of /api/meta, timed."""
    import httpx
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    sockets = []
    for start in range(0, count, 50):
        sockets += await asyncio.gather(
            *(
                connect(url.replace("http", "ws", 1) + "ws/drag", additional_headers=headers, ping_interval=None)
                for _ in range(start, min(count, start + 50))
            )
        )
    await asyncio.sleep(0.5)  # let the refused ones be closed
    refused = 0
    for ws in sockets:
        try:
            await asyncio.wait_for(ws.recv(), 0.001)
        except ConnectionClosed as closed:
            refused += closed.rcvd is not None and closed.rcvd.code == 1013
        except TimeoutError:
            pass
    rec = Recorder(
        f"page and /api/meta under {count} idle WebSockets ({count - refused} open, {refused} refused with 1013)", pid
    )
    for i in range(requests):
        async with httpx.AsyncClient(timeout=10.0, headers=headers) as http:  # a new connection each time
            path = "" if i % 2 == 0 else "api/meta"
            t0 = time.perf_counter()
            try:
                response = await http.get(url + path)
                ms = (time.perf_counter() - t0) * 1000
                rec.record(ms, None if response.status_code == 200 else f"GET /{path}: {response.status_code}")
            except Exception as exc:
                rec.record(None, f"{type(exc).__name__}: {exc}")
    await asyncio.gather(*(ws.close() for ws in sockets))
    return rec.summary()


async def run(url: str, pid: int, args: argparse.Namespace, token: str) -> dict:
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=30.0, headers=headers) as http:
        meta = (await http.get(url + "api/meta")).json()
    rss_ready, _ = rss_mb(pid)
    rows = [await decode_phase(url, pid, meta, args.requests, args.warmup, args.clients, args.seed, headers)]
    if args.bad:
        rows.append(await bad_phase(url, pid, meta, args.bad, args.clients, headers))
    if args.drags:
        rows.append(await drag_phase(url, pid, meta, args.drags, args.sockets, args.seed, headers))
    if args.idle_sockets:
        rows.append(await idle_phase(url, pid, args.idle_sockets, args.idle_requests, headers))
    rss_end, rss_peak = rss_mb(pid)
    return {"meta": meta, "rows": rows, "rss_ready_mb": rss_ready, "rss_end_mb": rss_end, "rss_peak_mb": rss_peak}


def load_test(args: argparse.Namespace) -> dict:
    """Start the server, run the phases within ``args.max_seconds``; the result with ``timed_out``."""
    with explore(args.model, args.data) as (url, pid, token):
        try:
            result = asyncio.run(asyncio.wait_for(run(url, pid, args, token), args.max_seconds))
            result["timed_out"] = False
        except TimeoutError:
            result = {"rows": [], "timed_out": True}
        result["url"] = url
    return result


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=10_000, help="measured decode requests")
    p.add_argument("--warmup", type=int, default=200, help="decode requests before measuring")
    p.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    p.add_argument("--bad", type=int, default=2_000, help="malformed requests (0 skips the phase)")
    p.add_argument("--drags", type=int, default=2_000, help="WebSocket drag positions (0 skips the phase)")
    p.add_argument("--sockets", type=int, default=2, help="concurrent drag WebSockets")
    p.add_argument("--idle-sockets", type=int, default=0, help="idle WebSockets opened (0 skips the phase)")
    p.add_argument("--idle-requests", type=int, default=200, help="page and /api/meta GETs under the idle sockets")
    p.add_argument("--model", default=None, help="model directory (default: the explorer's default models)")
    p.add_argument("--data", default=None, help="data spec for --model (default: the one it records)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-seconds", type=float, default=900.0, help="time bound of the whole run")
    p.add_argument("--out", default=str(Path(__file__).parent / "out" / "explorer_load.json"))
    return p


def main() -> None:
    args = parser().parse_args()
    result = load_test(args)
    if result["timed_out"]:
        print(f"the load test did not finish within {args.max_seconds:.0f} s")
        sys.exit(1)
    meta, rows = result["meta"], result["rows"]
    first, ds = meta["models"][0], meta["dataset"]
    command = " ".join(["aekit explore", *([args.model] if args.model else [])])
    setup = (
        f"`{command}` on 127.0.0.1, model {first['name']!r} ({first['variant']}, code {first['code_dim']}) "
        f"on {ds['name']}, samples {tuple(ds['sample_shape'])}; {args.clients} HTTP clients; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    )
    print(f"Explorer load test, {setup}\n")
    print(
        "| phase | requests | errors | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | req/s | "
        "RSS start (MiB) | RSS end (MiB) | growth, 2nd half (MiB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['phase']} | {r['requests']} | {r['errors']} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['max_ms']:.2f} | {r['per_second']:.0f} | {r['rss_start_mb']:.1f} | "
            f"{r['rss_end_mb']:.1f} | {r['rss_growth_second_half_mb']:+.1f} |"
        )
    print(
        f"\nServer RSS: {result['rss_ready_mb']:.1f} MiB ready, {result['rss_end_mb']:.1f} MiB at the end, "
        f"peak {result['rss_peak_mb']:.1f} MiB (VmHWM)"
    )
    samples = rows[0]["rss_samples"]
    print("decode RSS every 1,000 requests (MiB): " + ", ".join(f"{mb:.1f}" for _, mb in samples))
    for r in rows:
        for problem in r["first_errors"]:
            print(f"error in {r['phase']}: {problem}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"setup": setup, "args": vars(args), **result}, indent=1))
    print(f"\nwrote {out}")
    sys.exit(1 if any(r["errors"] for r in rows) else 0)


if __name__ == "__main__":
    main()
