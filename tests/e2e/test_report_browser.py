"""The HTML report opened from disk (file://) in headless Chromium, offline: every request
that is not the file itself is aborted and counted, and the page must need none, log
no console error, and decode every image.

Chromium is never downloaded: the test uses /usr/bin/chromium (``apt-get install chromium``).
Without it the test skips on a developer machine and fails when ``CI`` is set.
"""

from __future__ import annotations

import pytest

import aekit
from aekit.report.html import write_report


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A VAE report (the variant with the most sections) on held-out digits."""
    train, test = aekit.data.load("builtin:digits").split(test_size=0.2, seed=0)
    vae = aekit.AutoEncoder(code_dim=2, variant="vae", epochs=2, batch_size=64, random_state=0).fit(train)
    return write_report(vae, test, tmp_path_factory.mktemp("report") / "report.html")


def test_report_opens_offline_with_every_image_decoded(browser, report):
    context = browser.new_context(offline=True, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    outside: list[str] = []
    failed: list[str] = []

    def block(route):  # anything but the file itself would be a network request
        outside.append(route.request.url)
        route.abort()

    page.route(lambda url: not url.startswith("file://"), block)
    page.on(
        "console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: failed.append(f"{r.url[:80]}: {r.failure}"))
    page.goto(report.as_uri(), wait_until="load")
    images = page.eval_on_selector_all(
        "img", "els => els.map(e => ({ok: e.complete && e.naturalWidth > 0, src: e.src.slice(0, 22)}))"
    )
    sections = page.eval_on_selector_all("section", "els => els.map(e => e.id)")
    context.close()
    assert problems == [] and outside == [] and failed == []
    assert len(images) == 8 and all(i["ok"] and i["src"] == "data:image/png;base64," for i in images), images
    assert sections == [
        "model-card",
        "metrics",
        "training",
        "reconstructions",
        "latent",
        "manifold",
        "interpolation",
        "samples",
        "kl",
        "errors",
    ]
