"""The explorer's token in a real browser (Debian's Chromium driven by Playwright) against the real
uvicorn server: the printed URL opens the page and leaves the token out of the address bar, the cookie
is out of scripts' reach, the page's fetches and WebSocket carry it, and without it the page asks.

This module starts its own server, so no browser context here gets the token beforehand
(the ``server`` fixture of conftest.py hands it to every context).
"""

from __future__ import annotations

import pytest

import aekit
from aekit.explorer import Session
from aekit.explorer.server import ServerThread

READY = "() => window.explorer && window.explorer.state.ready"
CONNECTED = "() => document.getElementById('status').textContent.startsWith('connected')"


@pytest.fixture(scope="module")
def guarded():
    ds = aekit.data.load("builtin:shapes12?n=300")
    models = {"ae": aekit.AutoEncoder(code_dim=2, epochs=2, batch_size=64, random_state=0).fit(ds)}
    with ServerThread(Session(models, ds, max_points=100)) as running:
        yield running


@pytest.fixture
def context(browser):
    fresh = browser.new_context(viewport={"width": 1200, "height": 900})
    yield fresh
    fresh.close()


def test_the_printed_url_opens_the_page_and_drops_the_token(guarded, context, watch, outside):
    pg = context.new_page()
    problems, urls = watch(pg)
    pg.goto(guarded.token_url + "&seed=7")
    pg.wait_for_function(READY, timeout=15000)
    pg.wait_for_function(CONNECTED, timeout=15000)  # the drag WebSocket carried the cookie
    assert pg.url == guarded.url + "?seed=7"  # the address bar (and a bookmark) no longer holds the token
    assert pg.evaluate("() => window.explorer.state.seed") == 7
    assert pg.evaluate("() => document.cookie") == ""  # HttpOnly: no script reads the token
    (cookie,) = context.cookies()
    assert cookie["value"] == guarded.token and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    # A later visit needs no token in the URL.
    again = context.new_page()
    again.goto(guarded.url)
    again.wait_for_function(READY, timeout=15000)
    assert problems == [] and outside(urls, guarded.url) == []


def test_without_the_token_the_page_asks_for_it(guarded, context, watch):
    pg = context.new_page()
    problems, _ = watch(pg)
    response = pg.goto(guarded.url + "?seed=3")
    assert response.status == 401 and "needs its token" in pg.inner_text("h1")
    pg.fill("input[name=token]", "not-the-token-at-all")
    pg.click("button[type=submit]")
    assert "wrong token" in pg.inner_text("h1")
    pg.fill("input[name=token]", guarded.token)
    pg.click("button[type=submit]")
    pg.wait_for_function(READY, timeout=15000)
    assert pg.url == guarded.url + "?seed=3"
    assert pg.evaluate("() => window.explorer.state.seed") == 3
    # Chromium reports each 401 document load; nothing else may go wrong.
    assert all("status of 401" in p for p in problems), problems
