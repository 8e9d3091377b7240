"""The exported explorer page (``aekit explore MODEL --export page.html``) in a real browser: opened
from file:// with every other request aborted, it encodes presets, decodes drags and shades the
error landscape as the Python models do, with no console error and no request but the file.

Chromium is never downloaded: the tests use /usr/bin/chromium (``apt-get install chromium``).
Without it they skip on a developer machine and fail when ``CI`` is set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import aekit
from aekit.explorer import Session, export_page


@pytest.fixture(scope="module")
def session():
    ds = aekit.data.load("builtin:shapes12?n=400")
    models = {
        name: aekit.AutoEncoder(code_dim=2, variant=variant, epochs=3, batch_size=64, random_state=0).fit(ds)
        for name, variant in (("ae", "plain"), ("vae", "vae"))
    }
    return Session(models, ds, max_points=300)


@pytest.fixture(scope="module")
def exported(session, tmp_path_factory) -> Path:
    return export_page(session, tmp_path_factory.mktemp("export") / "page.html", max_points=200)


@pytest.fixture
def page(browser, exported, watch):
    """The exported file, opened from file:// with everything else aborted; afterwards: no console
    errors and no request but the file itself."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000})

    def route(r):
        (r.continue_() if r.request.url.startswith(("file://", "data:")) else r.abort())

    context.route("**/*", route)
    pg = context.new_page()
    problems, requests = watch(pg)
    pg.goto(exported.as_uri())
    pg.wait_for_function("() => window.explorer && window.explorer.state.ready", timeout=15000)
    yield pg
    context.close()
    assert problems == []
    assert [u for u in requests if not u.startswith("data:")] == [exported.as_uri()]


def _state(page) -> dict:
    return page.evaluate("() => JSON.parse(JSON.stringify(window.explorer.state))")


def _idle(page) -> None:
    page.wait_for_function(
        "() => window.explorer.state.pending === 0 && window.explorer.state.drawnSeq === window.explorer.state.seq"
    )


def _pixels(page, canvas_id: str, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    values = page.evaluate(
        """([id, h, w]) => {
        const c = document.getElementById(id);
        const copy = document.createElement("canvas");
        copy.width = c.width; copy.height = c.height;
        const ctx = copy.getContext("2d", { willReadFrequently: true });
        ctx.drawImage(c, 0, 0);
        const data = ctx.getImageData(0, 0, c.width, c.height).data;
        const scale = Math.floor(Math.min(c.width / w, c.height / h));
        const out = [];
        for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
            out.push(data[((i * scale + (scale >> 1)) * c.width + j * scale + (scale >> 1)) * 4]);
        }
        return out;
    }""",
        [canvas_id, h, w],
    )
    return np.asarray(values, dtype=np.float64).reshape(h, w) / 255.0


def test_exported_page_works_from_file_with_the_network_blocked(page, session):
    assert "standalone" in page.inner_text("#status")
    est = session.models["ae"]
    state = _state(page)
    bar = aekit.data.shapes12_presets()["bar"]
    assert state["inputName"] == "bar"
    np.testing.assert_allclose(np.float32(state["mean"]), est.transform(bar[None])[0], atol=1e-5)
    box = page.locator("#plane").bounding_box()
    x, y = box["x"] + 120, box["y"] + 150
    page.mouse.move(x, y)
    page.mouse.down()
    for k in range(1, 12):
        page.mouse.move(x + 7 * k, y + 5 * k)
    page.mouse.up()
    _idle(page)
    state = _state(page)
    code = np.float32(state["code"])
    assert not np.allclose(code, est.transform(bar[None])[0])
    expected = est.inverse_transform(code[None])[0, 0]  # (12, 12)
    np.testing.assert_allclose(_pixels(page, "recon-canvas", (12, 12)), expected, atol=1 / 255)
    np.testing.assert_allclose(np.float32(state["reconstruction"]), expected.ravel(), atol=1e-5)
    mse = float(((expected - bar[0]) ** 2).mean())
    assert state["error"] == pytest.approx(mse, rel=1e-4)
    # The scatter holds the exported points, encoded in the browser as est.transform does.
    layer = page.evaluate("() => window.explorer.state.model")
    assert layer == "ae"


def test_exported_page_toggles_the_vae_and_shades_the_landscape(page, session):
    vae = session.models["vae"]
    page.click("#vae-toggle")
    page.wait_for_function("() => window.explorer.state.model === 'vae' && window.explorer.state.sampleImages.length")
    _idle(page)
    state = _state(page)
    bar = aekit.data.shapes12_presets()["bar"]
    np.testing.assert_allclose(np.float32(state["mean"]), vae.transform(bar[None])[0], atol=1e-5)
    np.testing.assert_allclose(
        np.float32(state["sampleImages"]),
        vae.inverse_transform(np.float32(state["samples"])).reshape(16, -1),
        atol=1e-5,
    )
    page.click("#landscape-toggle")
    page.wait_for_function("() => window.explorer.state.landscape !== null")
    land = _state(page)["landscape"]
    expected = ((vae.inverse_transform(np.float32(land["codes"])).reshape(576, -1) - bar.reshape(1, -1)) ** 2).mean(1)
    np.testing.assert_allclose(np.float32(land["errors"]), expected, rtol=1e-4, atol=1e-7)
