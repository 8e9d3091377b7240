"""Shared fixtures. Tiny models: one thread is faster and immune to a busy second core."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

#: Debian's Chromium (``apt-get install chromium``); never downloaded by Playwright.
CHROMIUM = os.environ.get("AEKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

torch.set_num_threads(1)


@pytest.fixture
def images() -> np.ndarray:
    """200 smooth 8x8 grey images in [0, 1] with low-dimensional structure, (200, 1, 8, 8)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:8, 0:8] / 7.0
    cx, cy, s = rng.uniform(0.2, 0.8, (3, 200, 1, 1))
    blobs = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (0.05 + 0.1 * s))
    return blobs[:, None].astype(np.float32)


@pytest.fixture
def table() -> np.ndarray:
    """300 rows of a 10-column table on a 3-D nonlinear manifold, in mixed units, (300, 10)."""
    rng = np.random.default_rng(1)
    t = rng.normal(size=(300, 3))
    mix = rng.normal(size=(3, 10))
    x = np.tanh(t @ mix) + 0.01 * rng.normal(size=(300, 10))
    return (x * np.arange(1, 11) * 10 + 5).astype(np.float32)


# -- the browser tests ---------------------------------------------------------------------
def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI for the browser tests")
    pytest.skip(f"{what} is not available")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright. Without it (or the playwright package) the
    test skips on a developer machine and fails when ``CI`` is set."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package (pip install playwright)")
    if not Path(CHROMIUM).exists():
        _missing(f"Chromium ({CHROMIUM}; apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def watch():
    """``watch(page) -> (problems, urls)``: console errors and warnings and page errors
    as they happen, and the URL of every request and WebSocket the page opens."""

    def start(page):
        problems: list[str] = []
        urls: list[str] = []
        page.on(
            "console",
            lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type in ("error", "warning") else None,
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("request", lambda r: urls.append(r.url))
        page.on("websocket", lambda ws: urls.append(ws.url))
        return problems, urls

    return start


def urls_outside(urls: list[str], base_url: str) -> list[str]:
    """The URLs (http, ws) that do not go to ``base_url``'s host and port."""
    host = re.escape(base_url.split("//")[1].rstrip("/"))
    return [u for u in urls if not re.match(rf"(https?|wss?)://{host}/", u)]


@pytest.fixture
def outside():
    """:func:`urls_outside`, for test modules (conftest is not imported by name)."""
    return urls_outside
