"""The explorer inline in a Jupyter notebook, executed by a real kernel and opened offline.

A notebook calling ``aekit.explore()`` (the default AE and VAE) and ``AutoEncoder.explore(dims=...)``
(a 3-D model) is executed with nbclient and ipykernel; the cells' HTML outputs are saved to one
file, as a notebook exported to HTML keeps them, and opened in Chromium from ``file://`` with every
request that is not a file blocked. Dragging on the plane changes the reconstruction, the presets and
the VAE toggle work, and nothing is logged to the console.

Chromium is never downloaded: the tests use /usr/bin/chromium. Without it, or without nbclient,
nbformat and ipykernel (the dev extras), the tests skip on a developer machine and fail when ``CI`` is set.
"""

from __future__ import annotations

import os

import pytest

CANVAS = "(id) => document.getElementById(id).toDataURL()"
READY = "() => window.explorer && window.explorer.state.ready"
IDLE = "() => window.explorer.state.pending === 0 && window.explorer.state.drawnSeq === window.explorer.state.seq"


def _require(module: str):
    try:
        return __import__(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is required in CI for the notebook test (pip install -e '.[dev]')")
        pytest.skip(f"{module} is not installed")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The executed notebook's two explorer outputs, saved in one HTML file; and the cells' HTML."""
    nbformat = _require("nbformat")
    nbclient = _require("nbclient")
    _require("ipykernel")
    folder = tmp_path_factory.mktemp("notebook")
    cache = tmp_path_factory.getbasetemp() / "aekit-cache"  # the default models test_lesson.py cached, if it ran
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            f"import os\nos.environ['AEKIT_CACHE'] = {str(cache)!r}\nimport aekit\naekit.explore()"
        ),
        nbformat.v4.new_code_cell(
            "ds = aekit.data.load('builtin:shapes12?n=300')\n"
            "ae = aekit.AutoEncoder(code_dim=3, hidden=(16,), epochs=1, random_state=0).fit(ds)\n"
            "ae.explore(ds, dims=(0, 2))"
        ),
    ]
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    cells = []
    for cell in notebook.cells:
        shown = [out["data"]["text/html"] for out in cell.outputs if out.get("output_type") == "execute_result"]
        assert len(shown) == 1, cell.outputs
        cells.append(shown[0])
    page = folder / "saved-notebook.html"
    page.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>a saved notebook</title></head><body>"
        + "".join(f"<section class='cell'>{html}</section>" for html in cells)
        + "</body></html>",
        encoding="utf-8",
    )
    return page, cells


@pytest.fixture
def offline(browser, saved, watch):
    """The saved outputs open from file:// with every other request blocked; both explorers ready."""
    page_path, _ = saved
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    problems, urls = watch(pg)
    blocked: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith("file:"):
            request_route.continue_()
        else:
            blocked.append(url)
            request_route.abort()

    pg.route("**/*", route)
    pg.goto(page_path.as_uri())
    frames = [f for f in pg.frames if f is not pg.main_frame]
    assert len(frames) == 2
    for frame in frames:
        frame.wait_for_function(READY, timeout=30000)
    yield pg, frames
    context.close()
    assert problems == []
    assert blocked == [] and all(u.startswith(("file:", "about:", "data:")) for u in urls), urls


def test_each_cell_is_one_self_contained_iframe(saved):
    _, cells = saved
    assert all(cell.count("<iframe") == 1 and cell.isascii() and "http://" not in cell for cell in cells)
    ids = [cell.split('id="', 1)[1].split('"', 1)[0] for cell in cells]
    assert ids[0] != ids[1]


def test_dragging_on_the_plane_changes_the_reconstruction(offline):
    pg, (defaults, wide) = offline
    defaults.wait_for_function(IDLE)
    before = defaults.evaluate(CANVAS, "recon-canvas")
    code = defaults.evaluate("() => window.explorer.state.code.slice()")
    box = defaults.locator("#plane").bounding_box()
    pg.mouse.move(box["x"] + 0.25 * box["width"], box["y"] + 0.3 * box["height"])
    pg.mouse.down()
    pg.mouse.move(box["x"] + 0.75 * box["width"], box["y"] + 0.7 * box["height"], steps=8)
    pg.mouse.up()
    defaults.wait_for_function(IDLE)
    assert defaults.evaluate("() => window.explorer.state.code") != code
    assert defaults.evaluate(CANVAS, "recon-canvas") != before
    # The other explorer in the notebook did not move: its page is its own document.
    assert wide.evaluate("() => window.explorer.state.dims") == [0, 2]
    assert wide.evaluate("() => window.explorer.state.seq") == wide.evaluate("() => window.explorer.state.drawnSeq")


def test_presets_vae_toggle_and_error_work_offline(offline):
    _, (defaults, _) = offline
    defaults.wait_for_function(IDLE)
    error = defaults.inner_text("#error")
    defaults.click("#presets button:text-is('ring')")
    defaults.wait_for_function("() => window.explorer.state.inputName === 'ring'")
    defaults.wait_for_function(IDLE)
    assert defaults.inner_text("#error") != error
    defaults.click("#vae-toggle")
    defaults.wait_for_function(
        "() => window.explorer.state.model === 'vae' && window.explorer.state.samples.length > 0"
    )
    defaults.wait_for_function(IDLE)
    assert defaults.is_visible("#vae-panel") and defaults.inner_text("#kl") != "–"


def test_the_tour_measures_its_claims_in_the_page(offline):
    _, (defaults, wide) = offline
    for frame in (defaults, wide):
        frame.wait_for_function(
            "() => document.getElementById('tour').classList.contains('tour-measured')", timeout=60000
        )
        assert frame.locator("#tour .tour-error").count() == 0
    assert defaults.inner_text("#tour [data-result='claim-self-ae']") == "6 of 6"
    assert defaults.inner_text("#tour [data-result='claim-self-vae']") == "6 of 6"
    # A page with one plain model says what it cannot compare instead of claiming it.
    assert "no VAE to compare" in wide.inner_text("#tour-claim-holes")


def test_the_iframe_takes_the_height_of_its_page(offline):
    pg, frames = offline
    for k, frame in enumerate(frames):
        height = frame.evaluate("() => document.documentElement.scrollHeight")
        shown = pg.evaluate("(k) => document.querySelectorAll('iframe')[k].getBoundingClientRect().height", k)
        assert abs(shown - height) <= 8, (shown, height)
