"""The explorer page in a real browser (Debian's Chromium driven by Playwright) against the real
uvicorn server: presets, a mouse drag whose pixels equal the Python decoder's output, the VAE
cloud, no console errors and no request leaving 127.0.0.1.

Chromium is never downloaded: the tests use /usr/bin/chromium (``apt-get install chromium``).
Without it they skip on a developer machine and fail when ``CI`` is set.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import aekit
from aekit.explorer import Session


@pytest.fixture(scope="module")
def session():
    ds = aekit.data.load("builtin:shapes12?n=600")
    models = {
        name: aekit.AutoEncoder(code_dim=2, variant=variant, epochs=4, batch_size=64, random_state=0).fit(ds)
        for name, variant in (("ae", "plain"), ("vae", "vae"))
    }
    return Session(models, ds, max_points=300)


@pytest.fixture
def page(browser, server, watch, outside):
    """A fresh page on the explorer with seed 7; after the test: no console errors, no outside request."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    problems, urls = watch(pg)
    pg.goto(server.url + "?seed=7")
    pg.wait_for_function("() => window.explorer && window.explorer.state.ready", timeout=15000)
    yield pg
    context.close()
    assert problems == []
    assert outside(urls, server.url) == [] and any(u.startswith("ws://") for u in urls)


def _pixels(page, canvas_id: str, shape: tuple[int, int]) -> np.ndarray:
    """Grey levels (h, w) in [0, 1] read back from the canvas at the centre of each sample pixel."""
    h, w = shape
    values = page.evaluate(
        """([id, h, w]) => {
        const c = document.getElementById(id);
        const copy = document.createElement("canvas");  // read a copy: the page's canvas stays GPU-friendly
        copy.width = c.width; copy.height = c.height;
        const ctx = copy.getContext("2d", { willReadFrequently: true });
        ctx.drawImage(c, 0, 0);
        const data = ctx.getImageData(0, 0, c.width, c.height).data;
        const scale = Math.floor(Math.min(c.width / w, c.height / h));
        const out = [];
        for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
            const x = j * scale + (scale >> 1), y = i * scale + (scale >> 1);
            out.push(data[(y * c.width + x) * 4]);
        }
        return out;
    }""",
        [canvas_id, h, w],
    )
    return np.asarray(values, dtype=np.float64).reshape(h, w) / 255.0


def _state(page) -> dict:
    return page.evaluate("() => JSON.parse(JSON.stringify(window.explorer.state))")


def _idle(page) -> None:
    page.wait_for_function(
        "() => window.explorer.state.pending === 0 && window.explorer.state.drawnSeq === window.explorer.state.seq"
    )


def test_preset_changes_input_reconstruction_and_error(page, session):
    before = _state(page)
    assert before["inputName"] == "bar" and before["model"] == "ae"
    input_before, recon_before = _pixels(page, "input-canvas", (12, 12)), _pixels(page, "recon-canvas", (12, 12))
    error_before = page.inner_text("#error")
    page.click("button.preset:text-is('ring')")
    page.wait_for_function("() => window.explorer.state.inputName === 'ring'")
    _idle(page)
    state = _state(page)
    ring = aekit.data.shapes12_presets()["ring"]
    np.testing.assert_allclose(_pixels(page, "input-canvas", (12, 12)), ring[0], atol=0.5 / 255 + 1e-6)
    est = session.models["ae"]
    recon = _pixels(page, "recon-canvas", (12, 12))
    np.testing.assert_allclose(recon, est.reconstruct(ring[None])[0, 0], atol=1 / 255)
    assert not np.array_equal(_pixels(page, "input-canvas", (12, 12)), input_before)
    assert not np.array_equal(recon, recon_before)
    assert page.inner_text("#error") != error_before
    assert float(page.inner_text("#error")) == pytest.approx(est.reconstruction_error(ring[None])[0], rel=1e-3)
    np.testing.assert_array_equal(np.float32(state["code"]), est.transform(ring[None])[0])


def test_mouse_drag_moves_the_dot_and_shows_the_decoders_output(page, session):
    start = _state(page)["code"]
    box = page.locator("#plane").bounding_box()
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.35
    page.mouse.move(x, y)
    page.mouse.down()
    for k in range(1, 16):
        page.mouse.move(x + 6 * k, y + 4 * k)
    page.mouse.up()
    _idle(page)
    state = _state(page)
    code = np.float32(state["code"])
    assert not np.allclose(code, start)
    # The dot sits under the mouse: the page's code maps back to the release point.
    (x0, x1), (y0, y1) = session.latent_range("ae")
    half = max(x1 - x0, y1 - y0) / 2
    size, border = 420, 1  # the canvas's pixels and its CSS border
    u = (code[0] - ((x0 + x1) / 2 - half)) / (2 * half) * size + border
    v = (((y0 + y1) / 2 + half) - code[1]) / (2 * half) * size + border
    assert u == pytest.approx(x + 90 - box["x"], abs=0.5) and v == pytest.approx(y + 60 - box["y"], abs=0.5)
    expected = session.models["ae"].inverse_transform(code[None])[0, 0]  # (12, 12)
    np.testing.assert_allclose(_pixels(page, "recon-canvas", (12, 12)), expected, atol=1 / 255)
    np.testing.assert_array_equal(np.float32(state["reconstruction"]), expected.ravel())
    assert len(page.evaluate("() => window.explorer.latencies")) >= 1
    # Arrow keys move it too.
    page.keyboard.press("ArrowRight")
    _idle(page)
    moved = np.float32(_state(page)["code"])
    assert moved[0] > code[0] and moved[1] == code[1]


def test_vae_toggle_shows_the_cloud_and_resampling_is_seeded(page, browser, server, session):
    page.click("#vae-toggle")
    page.wait_for_function("() => window.explorer.state.model === 'vae' && window.explorer.state.sampleImages.length")
    state = _state(page)
    assert page.is_visible("#vae-panel") and page.is_enabled("#resample")
    assert len(state["logvar"]) == 2 and len(state["samples"]) == 16
    kl = float(page.inner_text("#kl"))
    assert kl == pytest.approx(state["terms"]["kl"], abs=0.01) and kl > 0
    # Samples are draws around the mean, their images the decoder's output.
    samples = np.float32(state["samples"])
    sd = np.exp(0.5 * np.float32(state["logvar"]))
    assert np.all(np.abs(samples - np.float32(state["mean"])) < 6 * sd)
    np.testing.assert_array_equal(
        np.float32(state["sampleImages"]), session.models["vae"].inverse_transform(samples).reshape(16, -1)
    )
    page.click("#resample")
    page.wait_for_function(
        "(old) => JSON.stringify(window.explorer.state.samples) !== old", arg=json.dumps(state["samples"])
    )
    assert _state(page)["samples"] != state["samples"]
    # The same seed and the same clicks draw the same cloud.
    again = browser.new_page()
    again.goto(server.url + "?seed=7")
    again.wait_for_function("() => window.explorer && window.explorer.state.ready")
    again.click("#vae-toggle")
    again.wait_for_function("() => window.explorer.state.sampleImages.length")
    assert _state(again)["samples"] == state["samples"]
    again.close()


def test_touch_drag_moves_the_dot(browser, server, session):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, has_touch=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server.url)
    pg.wait_for_function("() => window.explorer && window.explorer.state.ready")
    start = np.float32(_state(pg)["code"])
    box = pg.locator("#plane").bounding_box()
    x, y = box["x"] + 120, box["y"] + 300
    cdp = context.new_cdp_session(pg)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for k in range(1, 11):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x + 8 * k, "y": y - 5 * k}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    _idle(pg)
    code = np.float32(_state(pg)["code"])
    assert not np.allclose(code, start)
    (x0, x1), (y0, y1) = session.latent_range("ae")
    half = max(x1 - x0, y1 - y0) / 2
    u = (code[0] - ((x0 + x1) / 2 - half)) / (2 * half) * 420 + 1
    assert u == pytest.approx(x + 80 - box["x"], abs=0.5)  # the dot followed the finger to its last position
    expected = session.models["ae"].inverse_transform(code[None])[0, 0]
    np.testing.assert_allclose(_pixels(pg, "recon-canvas", (12, 12)), expected, atol=1 / 255)
    context.close()
    assert errors == []
