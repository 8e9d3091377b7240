"""The explorer page's tools in a real browser (Debian's Chromium driven by Playwright) against the real
uvicorn server: the |x - x_hat| panel, drawing and dropping an input (encoded as the Python model
does), the error landscape, the interpolation path, slices through 4-D codes, the rotatable 3-D view
and the view kept in the URL; no console errors and no request leaving 127.0.0.1.

Chromium is never downloaded: the tests use /usr/bin/chromium (``apt-get install chromium``).
Without it they skip on a developer machine and fail when ``CI`` is set.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

import aekit
from aekit.explorer import Session


@pytest.fixture(scope="module")
def session():
    """2-D AE and VAE (the toggle), and 4-D and 3-D AEs for the slice and the 3-D view."""
    ds = aekit.data.load("builtin:shapes12?n=400")
    specs = {"ae": ("plain", 2), "vae": ("vae", 2), "ae4": ("plain", 4), "ae3": ("plain", 3)}
    models = {
        name: aekit.AutoEncoder(code_dim=k, variant=variant, epochs=2, batch_size=64, random_state=0).fit(ds)
        for name, (variant, k) in specs.items()
    }
    return Session(models, ds, max_points=300)


@pytest.fixture
def page(browser, server, watch, outside):
    """A fresh page on the explorer; after the test: no console errors, no request leaving the server."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    pg = context.new_page()
    problems, urls = watch(pg)
    _open(pg, server.url)
    yield pg
    context.close()
    assert problems == []
    assert outside(urls, server.url) == []


def _open(pg, url: str) -> None:
    pg.goto(url)
    pg.wait_for_function("() => window.explorer && window.explorer.state.ready", timeout=15000)
    _idle(pg)


def _state(page) -> dict:
    return page.evaluate("() => JSON.parse(JSON.stringify(window.explorer.state))")


def _idle(page) -> None:
    page.wait_for_function(
        "() => window.explorer.state.pending === 0 && window.explorer.state.drawnSeq === window.explorer.state.seq"
    )


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
            out.push(data[((i * scale + (scale >> 1)) * c.width + j * scale + (scale >> 1)) * 4]);
        }
        return out;
    }""",
        [canvas_id, h, w],
    )
    return np.asarray(values, dtype=np.float64).reshape(h, w) / 255.0


def _drag(page, selector: str, start: tuple[float, float], step: tuple[float, float], n: int = 10) -> None:
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    x, y = box["x"] + start[0], box["y"] + start[1]
    page.mouse.move(x, y)
    page.mouse.down()
    for k in range(1, n + 1):
        page.mouse.move(x + step[0] * k, y + step[1] * k)
    page.mouse.up()


def test_abs_error_panel_and_update_event_follow_every_redraw(page):
    page.evaluate("""() => { window.updates = [];
        document.addEventListener("explorer:update", (e) => window.updates.push(e.detail)); }""")
    _drag(page, "#plane", (150, 150), (5, 3))
    _idle(page)
    state = _state(page)
    x, x_hat = np.float32(state["input"]), np.float32(state["reconstruction"])
    np.testing.assert_allclose(_pixels(page, "diff-canvas", (12, 12)).ravel(), np.abs(x - x_hat), atol=0.5 / 255 + 1e-6)
    updates = page.evaluate("() => window.updates.map((d) => ({code: d.code, reconstruction: d.reconstruction}))")
    assert len(updates) >= 1 and updates[-1]["code"] == state["code"]
    assert updates[-1]["reconstruction"] == state["reconstruction"]


def test_drawing_an_input_encodes_it(page, session):
    est = session.models["ae"]
    page.click("#clear-input")
    page.wait_for_function("() => window.explorer.state.inputName === 'drawing'")
    _idle(page)
    assert _state(page)["input"] == [0.0] * 144
    scale = 192 // 12  # the input canvas shows 12x12 pixels at 16 px each
    _drag(page, "#input-canvas", (2.5 * scale, 2.5 * scale), (scale, 0), n=7)  # row 2, columns 2..9
    _drag(page, "#input-canvas", (5.5 * scale, 4.5 * scale), (0, scale), n=6)  # column 5, rows 4..10
    _idle(page)
    page.wait_for_function("() => window.explorer.state.input[10 * 12 + 5] === 1")
    _idle(page)
    state = _state(page)
    x = np.float32(state["input"]).reshape(1, 1, 12, 12)
    expected = np.zeros((12, 12), np.float32)
    expected[2, 2:10] = 1
    expected[4:11, 5] = 1
    np.testing.assert_array_equal(x[0, 0], expected)
    np.testing.assert_allclose(np.float32(state["mean"]), est.transform(x)[0], atol=1e-4)
    np.testing.assert_allclose(np.float32(state["code"]), est.transform(x)[0], atol=1e-4)  # the dot jumped there
    np.testing.assert_allclose(_pixels(page, "input-canvas", (12, 12)), expected, atol=1e-6)
    np.testing.assert_allclose(np.float32(state["reconstruction"]), est.reconstruct(x).ravel(), atol=1e-5)
    # From the keyboard: the cursor starts in the middle (6, 6); delete erases, space paints.
    page.focus("#input-canvas")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowLeft")  # (4, 5): a painted cell
    page.keyboard.press("Delete")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")  # (4, 7)
    page.wait_for_function(
        "() => window.explorer.state.input[4 * 12 + 7] === 1 && window.explorer.state.input[4 * 12 + 5] === 0"
    )
    _idle(page)
    x = np.float32(_state(page)["input"]).reshape(1, 1, 12, 12)
    np.testing.assert_allclose(np.float32(_state(page)["mean"]), est.transform(x)[0], atol=1e-4)


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def test_opening_and_dropping_a_png_sets_the_input(page, session):
    grey = (np.arange(144).reshape(12, 12) * 7 % 256).astype(np.uint8)
    page.set_input_files("#png-file", files=[{"name": "mine.png", "mimeType": "image/png", "buffer": _png(grey)}])
    page.wait_for_function("() => window.explorer.state.inputName === 'mine.png'")
    _idle(page)
    state = _state(page)
    np.testing.assert_allclose(np.float32(state["input"]), grey.ravel() / 255.0, atol=1e-6)
    est = session.models["ae"]
    np.testing.assert_allclose(
        np.float32(state["mean"]), est.transform(np.float32(state["input"]).reshape(1, 1, 12, 12))[0], atol=1e-4
    )
    # A larger colour PNG dropped on the canvas: resized to 12x12 and made grey.
    rgb = np.zeros((48, 48, 3), np.uint8)
    rgb[:24, :, 0] = 255  # red top half, green bottom half
    rgb[24:, :, 1] = 255
    page.evaluate(
        """(bytes) => {
        const file = new File([new Uint8Array(bytes)], "dropped.png", { type: "image/png" });
        const dt = new DataTransfer();
        dt.items.add(file);
        document.getElementById("input-canvas").dispatchEvent(
            new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    }""",
        list(_png(rgb)),
    )
    page.wait_for_function("() => window.explorer.state.inputName === 'dropped.png'")
    _idle(page)
    x = np.float32(_state(page)["input"]).reshape(12, 12)
    np.testing.assert_allclose(x[:5], 0.299, atol=0.01)  # ITU-R 601 luma of pure red
    np.testing.assert_allclose(x[7:], 0.587, atol=0.01)


def test_error_landscape_shades_the_plane_by_reconstruction_error(page, session):
    blank = _pixels(page, "plane", (21, 21))
    page.click("#landscape-toggle")
    page.wait_for_function("() => window.explorer.state.landscape !== null")
    _idle(page)
    land = _state(page)["landscape"]
    assert land["n"] == 24 and len(land["errors"]) == 576
    est = session.models["ae"]
    codes = np.float32(land["codes"])
    x = np.float32(_state(page)["input"]).reshape(1, 1, 12, 12)
    expected = ((est.inverse_transform(codes).reshape(576, -1) - x.reshape(1, -1)) ** 2).mean(1)
    np.testing.assert_allclose(np.float32(land["errors"]), expected, rtol=1e-5, atol=1e-7)
    # Rows run from the top of the plane: the first row's codes have the largest z1.
    assert codes[0, 1] > codes[-1, 1] and codes[0, 0] < codes[23, 0]
    page.wait_for_timeout(50)
    assert np.abs(_pixels(page, "plane", (21, 21)) - blank).max() > 0.1  # the shading is drawn
    # A new input reshades it.
    page.click("button.preset:text-is('ring')")
    page.wait_for_function(
        "(old) => window.explorer.state.landscape && JSON.stringify(window.explorer.state.landscape.errors) !== old",
        arg=json.dumps(land["errors"]),
    )


@pytest.mark.parametrize("model, kind", [("ae", "linear"), ("vae", "spherical")])
def test_interpolation_path_decodes_along_the_line(page, session, model, kind):
    if model != "ae":
        page.click("#vae-toggle")
        page.wait_for_function(f"() => window.explorer.state.model === '{model}'")
        _idle(page)
    box = page.locator("#plane").bounding_box()
    page.keyboard.down("Shift")
    page.mouse.click(box["x"] + 80, box["y"] + 100)
    page.mouse.click(box["x"] + 330, box["y"] + 300)
    page.keyboard.up("Shift")
    page.wait_for_function("() => window.explorer.state.path && window.explorer.state.path.images.length === 10")
    _idle(page)
    path = _state(page)["path"]
    assert path["kind"] == kind and page.is_visible("#path-strip")
    codes = np.float32(path["codes"])
    np.testing.assert_array_equal(codes[0], np.float32(path["a"]))
    np.testing.assert_allclose(codes[-1], np.float32(path["b"]), atol=1e-5)
    np.testing.assert_allclose(
        np.float32(path["images"]), session.models[model].inverse_transform(codes).reshape(10, -1), rtol=0, atol=1e-6
    )
    if kind == "linear":
        steps = np.diff(codes, axis=0)
        np.testing.assert_allclose(steps, steps[:1].repeat(9, axis=0), atol=1e-5)
    # Clicking the 4th decode in the strip moves the dot there.
    strip = page.locator("#path-strip").bounding_box()
    page.click("#path-strip", position={"x": strip["width"] * 3.5 / 10, "y": strip["height"] / 2})
    _idle(page)
    state = _state(page)
    np.testing.assert_array_equal(np.float32(state["code"]), codes[3])
    # (a batch of one and one of ten may round differently in the matrix products)
    np.testing.assert_allclose(np.float32(state["reconstruction"]), np.float32(path["images"][3]), atol=1e-5)


def test_wide_codes_show_a_slice_with_sliders(page, session):
    est = session.models["ae4"]
    page.evaluate("() => window.explorer.setModel('ae4')")
    _idle(page)
    assert page.is_visible("#slice") and not page.is_visible("#slider-0") and page.is_visible("#slider-2")
    page.select_option("#dim-x", "2")
    page.select_option("#dim-y", "3")
    page.wait_for_function("() => window.explorer.state.dims.join() === '2,3'")
    _idle(page)
    before = np.float32(_state(page)["code"])
    _drag(page, "#plane", (100, 120), (8, 6))
    _idle(page)
    code = np.float32(_state(page)["code"])
    assert code[:2].tolist() == before[:2].tolist() and not np.allclose(code[2:], before[2:])
    np.testing.assert_allclose(
        np.float32(_state(page)["reconstruction"]), est.inverse_transform(code[None]).ravel(), rtol=0, atol=1e-6
    )
    # A slider moves only its own dim; the server decodes the full code.
    page.focus("#slider-0")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    _idle(page)
    moved = np.float32(_state(page)["code"])
    assert moved[0] > code[0] and moved[1:].tolist() == code[1:].tolist()
    np.testing.assert_allclose(
        np.float32(_state(page)["reconstruction"]), est.inverse_transform(moved[None]).ravel(), rtol=0, atol=1e-6
    )
    # The decoded grid is the slice through the current code.
    with page.expect_request(lambda r: r.url.endswith("/api/grid")) as request:
        page.click("#grid-toggle")
    body = json.loads(request.value.post_data)
    assert body["dims"] == [2, 3] and np.float32(body["base"]).tolist() == moved.tolist()
    _idle(page)


def test_a_3d_code_gets_a_view_you_can_rotate(page):
    assert not page.is_visible("#view3d-panel")
    page.evaluate("() => window.explorer.setModel('ae3')")
    _idle(page)
    assert page.is_visible("#view3d-panel") and page.is_visible("#slice")
    page.wait_for_timeout(50)
    before, rotation = _pixels(page, "view3d", (30, 30)), _state(page)["rotation"]
    _drag(page, "#view3d", (150, 150), (6, 2))
    page.wait_for_timeout(50)
    after = _state(page)["rotation"]
    assert after["yaw"] == pytest.approx(rotation["yaw"] + 0.6, abs=1e-6)
    assert after["pitch"] == pytest.approx(rotation["pitch"] + 0.2, abs=1e-6)
    assert np.abs(_pixels(page, "view3d", (30, 30)) - before).max() > 0.1
    page.keyboard.press("ArrowLeft")  # the view keeps focus: arrows rotate it too
    assert _state(page)["rotation"]["yaw"] == pytest.approx(after["yaw"] - 0.1, abs=1e-6)


def test_the_view_is_kept_in_the_url(page, server):
    page.click("#vae-toggle")
    page.wait_for_function("() => window.explorer.state.model === 'vae'")
    page.click("button.preset:text-is('ring')")
    page.wait_for_function("() => window.explorer.state.inputName === 'ring'")
    _drag(page, "#plane", (120, 140), (4, 5))
    page.click("#grid-toggle")
    page.click("#landscape-toggle")
    _idle(page)
    state = _state(page)
    page.wait_for_function(
        "(code) => location.hash.includes('landscape=1') && location.hash.includes(code)",
        arg="code=" + "%2C".join(str(np.float32(v)) for v in state["code"][:1]),
    )
    page.reload()
    page.wait_for_function("() => window.explorer && window.explorer.state.ready", timeout=15000)
    _idle(page)
    again = _state(page)
    assert again["model"] == "vae" and again["inputName"] == "ring"
    assert again["code"] == state["code"] and again["showGrid"] and again["showLandscape"]
    # Dims of a wider code too.
    page.evaluate("() => window.explorer.setModel('ae4').then(() => window.explorer.setDims([3, 1]))")
    page.wait_for_function("() => location.hash.includes('dims=3%2C1') && location.hash.includes('model=ae4')")
    page.reload()
    page.wait_for_function("() => window.explorer && window.explorer.state.ready", timeout=15000)
    assert _state(page)["model"] == "ae4" and _state(page)["dims"] == [3, 1]
