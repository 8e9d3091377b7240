"""What the explorer's access checks cost per request: :class:`aekit.explorer.auth.Guard` (token, Host and
Origin) around an ASGI app that does nothing, against calling that app directly, in process.

A POST as the page sends it (Host, Origin, bearer token and the usual headers). Medians of 15 runs of
20,000 calls each, alternating direct and guarded calls so both see the same machine load.

Run:  .venv/bin/python benchmarks/explorer_guard_cost.py
"""

from __future__ import annotations

import asyncio
import statistics
import time

from aekit.explorer.auth import Guard, HostPolicy

TOKEN = "x" * 43
SCOPE = {
    "type": "http",
    "method": "POST",
    "path": "/api/decode",
    "query_string": b"",
    "headers": [
        (b"host", b"127.0.0.1:8765"),
        (b"origin", b"http://127.0.0.1:8765"),
        (b"authorization", b"Bearer " + TOKEN.encode()),
        (b"content-type", b"application/json"),
        (b"user-agent", b"Mozilla/5.0"),
        (b"accept", b"*/*"),
    ],
}


async def app(scope, receive, send) -> None:
    return None


async def per_call_us(target, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        await target(dict(SCOPE), None, None)
    return (time.perf_counter() - t0) / n * 1e6


async def main(runs: int = 15, n: int = 20_000) -> None:
    guard = Guard(app, token=TOKEN, hosts=HostPolicy.for_bind("127.0.0.1"))
    direct, guarded = [], []
    for _ in range(runs):
        direct.append(await per_call_us(app, n))
        guarded.append(await per_call_us(guard, n))
    d, g = statistics.median(direct), statistics.median(guarded)
    print(
        f"direct {d:.2f} us, guarded {g:.2f} us: the checks cost {g - d:.2f} us per request "
        f"(median of {runs} x {n:,} calls)"
    )


if __name__ == "__main__":
    asyncio.run(main())
