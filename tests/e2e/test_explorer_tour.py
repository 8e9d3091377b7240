"""The lesson tour (static/tour.js) in a real browser (Debian's Chromium driven by Playwright) against the
real uvicorn server and the default models: every step renders and the keyboard moves through them, each
experiment's numbers equal what the Python model computes, and each practice answer stays hidden until its
experiment has run.

Chromium is never downloaded: the tests use /usr/bin/chromium (``apt-get install chromium``).
Without it they skip on a developer machine and fail when ``CI`` is set.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import aekit
from aekit.explorer import Session, default_models

PRESETS = {name: x.astype(np.float32) for name, x in aekit.data.shapes12_presets().items()}  # (1, 12, 12) each


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """The models `aekit explore` serves without a model: a 2-D plain AE and a 2-D VAE on shapes12."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AEKIT_CACHE", str(tmp_path_factory.mktemp("aekit-cache")))
        models, ds = default_models()
    return Session(models, ds, max_points=1000)


@pytest.fixture
def page(browser, server, watch, outside):
    """A fresh page with the tour ready; after the test: no console errors, no request leaving the server."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    problems, urls = watch(pg)
    pg.goto(server.url + "?seed=7")
    pg.wait_for_function(
        "() => window.explorer && window.explorer.state.ready && window.tour "
        "&& document.getElementById('tour').classList.contains('tour-ready')",
        timeout=15000,
    )
    yield pg
    context.close()
    assert problems == []
    assert outside(urls, server.url) == []


def _state(page) -> dict:
    return page.evaluate("() => JSON.parse(JSON.stringify(window.explorer.state))")


def _run(page, name: str, arg: str | None = None) -> dict:
    """Run one experiment with its button, as a reader would, and return what it measured."""
    selector = f"#tour .tour-step:not(#tour-practice) .tour-run[data-run='{name}'][data-arg='{arg or ''}']"
    step = ["bottleneck", "latent", "holes", "denoise", "anomaly"].index(name)
    page.evaluate("([name, step]) => { delete window.tour.results[name]; window.tour.go(step); }", [name, step])
    page.locator(selector).first.click()
    page.wait_for_function(
        "(name) => window.tour.results[name] && !document.getElementById('tour').hasAttribute('aria-busy')",
        arg=name,
        timeout=15000,
    )
    page.wait_for_function(
        "() => window.explorer.state.pending === 0 && window.explorer.state.drawnSeq === window.explorer.state.seq"
    )
    return page.evaluate("(name) => JSON.parse(JSON.stringify(window.tour.results[name]))", name)


def _shown(page, result: str) -> float:
    return float(page.inner_text(f"#tour [data-result='{result}']"))


def _mse(a, b) -> float:
    return float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))


def test_every_step_renders_and_the_keyboard_moves_through_them(page):
    steps = page.locator("#tour .tour-step")
    assert steps.count() == 6  # five steps and the practice questions
    titles = []
    page.focus("#tour .tour-next")
    for i in range(6):
        visible = [j for j in range(6) if steps.nth(j).is_visible()]
        assert visible == [i]
        section = steps.nth(i)
        titles.append(section.locator("h3").inner_text())
        paragraphs = section.locator(":scope > p").all_inner_texts()
        sentences = sum(len(re.findall(r"[.?!:](?:\s|$)", p)) for p in paragraphs)
        assert paragraphs and 2 <= sentences <= 6, (titles[-1], paragraphs)
        assert section.locator(".tour-run").count() >= 1
        if i < 5:
            page.keyboard.press("Enter" if i % 2 == 0 else "Space")  # the focused Next button
    assert titles[:5] == ["1. The bottleneck", "2. The latent space", "3. The holes", "4. Denoising", "5. Anomalies"]
    assert page.is_disabled("#tour .tour-next")
    assert page.evaluate("() => document.activeElement.closest('#tour') !== null")  # focus stayed in the tour
    # The live sizes are in the text: 144 numbers -> 2.
    assert "144 numbers and the code is 2" in steps.nth(0).inner_text()
    # Arrow keys inside the tour move between pages too; Shift+Tab reaches Previous.
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("() => window.tour.page") == 4 and steps.nth(4).is_visible()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert steps.nth(2).is_visible()
    page.focus("#tour .tour-prev")
    page.keyboard.press("Enter")
    assert steps.nth(1).is_visible() and page.inner_text("#tour-counter").startswith("Step 2 of 5")
    page.keyboard.press("ArrowRight")
    assert steps.nth(2).is_visible()


def test_bottleneck_shows_the_live_error(page, session):
    r = _run(page, "bottleneck")
    state = _state(page)
    assert r["n"] == 144 and r["k"] == 2 and r["name"] == state["inputName"] == "ring"  # the preset after "bar"
    assert r["error"] == state["error"]
    assert page.inner_text("#tour [data-result='bottleneck-error']") == page.inner_text("#error")
    assert _shown(page, "bottleneck-error") == pytest.approx(state["error"], rel=1e-3)
    est = session.models["ae"]
    assert state["error"] == pytest.approx(float(est.reconstruction_error(PRESETS["ring"][None])[0]), rel=1e-5)
    np.testing.assert_array_equal(np.float32(r["code"]), est.transform(PRESETS["ring"][None])[0])


def test_latent_walk_crosses_from_one_class_to_another(page, session):
    r = _run(page, "latent")
    names = session.meta()["dataset"]["label_names"]
    assert r["model"] == "ae" and r["from"] != r["to"] and {r["from"], r["to"]} <= set(names)
    assert r["path"][0] == r["from"] and r["path"][-1] == r["to"] and r["switches"]
    # The walk ended on the second class's middle: a data code of that class, decoded by the Python model.
    data = session.codes("ae")
    codes, labels = np.float32(data["codes"]), np.asarray(data["labels"])
    end = np.float32(r["end"])
    assert labels[np.argmin(np.linalg.norm(codes - end, axis=1))] == names.index(r["to"])
    np.testing.assert_array_equal(np.float32(r["code"]), end)
    expected = session.models["ae"].inverse_transform(end[None]).ravel()
    np.testing.assert_array_equal(np.float32(_state(page)["reconstruction"]), expected)


def test_holes_put_the_ae_dot_far_from_every_data_code_and_the_vae_samples_its_prior(page, session):
    r = _run(page, "holes")
    codes = np.float64(session.codes("ae")["codes"])
    nn = np.sort(np.linalg.norm(codes[:, None] - codes[None], axis=-1), axis=1)[:, 1]  # nearest-neighbour gaps
    d = np.linalg.norm(codes - np.float64(r["aeCode"]), axis=1).min()
    assert r["aeDistance"] == pytest.approx(d, rel=1e-5)
    assert d > 5 * np.median(nn)  # far from every data point, not just between two neighbours
    assert d > np.percentile(nn, 99)  # farther than almost any code is from its neighbour
    first = codes[:800]  # the tour's typical gap: the median nearest-neighbour distance among 800 codes
    gap = np.median(np.sort(np.linalg.norm(first[:, None] - first[None], axis=-1), axis=1)[:, 1])
    assert r["aeGap"] == pytest.approx(gap, rel=1e-5)
    assert _shown(page, "hole-distance") == pytest.approx(d, rel=1e-2)
    np.testing.assert_array_equal(
        np.float32(r["aeImage"]), session.models["ae"].inverse_transform(np.float32(r["aeCode"])[None]).ravel()
    )
    # Then the VAE: a prior draw lies among its codes, far closer (relative to its spacing) than the AE's hole.
    state = _state(page)
    assert state["model"] == "vae" and page.is_checked("#vae-toggle")
    vcodes = np.float64(session.codes("vae")["codes"])
    dv = np.linalg.norm(vcodes - np.float64(r["vaeCode"]), axis=1).min()
    assert r["vaeDistance"] == pytest.approx(dv, rel=1e-5)
    assert dv / r["vaeGap"] < d / r["aeGap"]
    np.testing.assert_array_equal(
        np.float32(state["reconstruction"]),
        session.models["vae"].inverse_transform(np.float32(r["vaeCode"])[None]).ravel(),
    )


def test_denoising_reports_errors_against_the_clean_input(page, session):
    est = session.models["ae"]
    # "blob", which the 2-D code rebuilds well: its reconstruction of the noisy input is closer to the clean
    # input than the noisy input itself. Checked against the Python model on the very noisy input the page used.
    page.click("#presets button:text-is('blob')")
    page.wait_for_function("() => window.explorer.state.inputName === 'blob' && window.explorer.state.pending === 0")
    r = _run(page, "denoise")
    clean = PRESETS["blob"].ravel()
    noisy = np.float32(r["noisy"])
    assert r["name"] == "blob" and _state(page)["inputName"] == "noisy blob"
    assert noisy.min() >= 0 and noisy.max() <= 1 and 0.5 * 0.3**2 / 2 < _mse(noisy, clean) < 0.3**2
    recon = est.reconstruct(noisy.reshape(1, 1, 12, 12)).ravel()
    recon_clean = est.reconstruct(PRESETS["blob"][None]).ravel()
    assert r["noiseIn"] == pytest.approx(_mse(noisy, clean), rel=1e-5)
    assert r["errorVsClean"] == pytest.approx(_mse(recon, clean), rel=1e-5)
    assert r["floor"] == pytest.approx(_mse(recon_clean, clean), rel=1e-5)
    assert r["noiseOut"] == pytest.approx(_mse(recon, recon_clean), rel=1e-5)
    assert r["errorVsClean"] < r["noiseIn"] and _mse(recon, clean) < _mse(noisy, clean)
    assert _shown(page, "denoise-error") == pytest.approx(r["errorVsClean"], rel=1e-2)
    assert _shown(page, "noise-in") == pytest.approx(r["noiseIn"], rel=1e-2)
    # "bar", the default: the 2-D code's own error on it is about as large as the noise, so the tour must
    # not claim a cleaner result than the numbers show; still, little of the noise reaches the output.
    page.click("#presets button:text-is('bar')")
    page.wait_for_function("() => window.explorer.state.inputName === 'bar' && window.explorer.state.pending === 0")
    r = _run(page, "denoise")
    assert r["name"] == "bar" and r["noiseOut"] < 0.5 * r["noiseIn"]
    text = page.inner_text("#tour-out-denoise")
    if r["errorVsClean"] < r["noiseIn"]:
        assert "closer to the clean input than the noisy input is" in text
    else:
        assert "no closer to the clean input" in text


@pytest.mark.parametrize("kind", ["", "noise"])
def test_anomalies_reconstruct_worse_than_every_preset(page, session, kind):
    r = _run(page, "anomaly", kind)
    est = session.models[r["model"]]
    x = np.float32(r["x"]).reshape(1, 1, 12, 12)
    assert x.min() >= 0 and x.max() <= 1
    assert r["name"] == ("random noise" if kind else "inverted bar")
    expected = float(est.reconstruction_error(x)[0])
    assert r["error"] == pytest.approx(expected, rel=1e-5) and _state(page)["error"] == r["error"]
    assert _shown(page, "anomaly-error") == pytest.approx(expected, rel=1e-2)
    preset_errors = {name: float(est.reconstruction_error(p[None])[0]) for name, p in PRESETS.items()}
    assert r["presets"] == pytest.approx(preset_errors, rel=1e-5)
    assert expected > 2 * max(preset_errors.values())


def test_each_practice_answer_is_hidden_until_its_experiment_has_run(page):
    page.evaluate("() => window.tour.go(5)")
    questions = page.locator("#tour .tour-question")
    assert questions.count() == 4
    order = ["bottleneck", "anomaly", "holes", "denoise"]
    for i in range(4):
        assert page.is_hidden(f"#tour-answer-{i}") and questions.nth(i).locator(".tour-reveal").is_disabled()
    for i, name in enumerate(order):
        questions.nth(i).locator(".tour-try").click()
        page.wait_for_function(
            "(name) => window.tour.results[name] && !document.getElementById('tour').hasAttribute('aria-busy')",
            arg=name,
            timeout=15000,
        )
        for j in range(4):  # only the questions whose experiment ran can be opened
            assert questions.nth(j).locator(".tour-reveal").is_disabled() == (j > i)
            assert page.is_hidden(f"#tour-answer-{j}") == (j >= i)
        reveal = questions.nth(i).locator(".tour-reveal")
        reveal.focus()
        page.keyboard.press("Enter")
        assert page.is_visible(f"#tour-answer-{i}") and reveal.get_attribute("aria-expanded") == "true"
        answer = page.inner_text(f"#tour-answer-{i}")
        assert re.search(r"\d\.\d", answer), answer  # it quotes what the reader's run measured
    results = page.evaluate("() => JSON.parse(JSON.stringify(window.tour.results))")
    assert f"{results['bottleneck']['error']:.3g}" in page.inner_text("#tour-answer-0")
    assert f"{results['anomaly']['error']:.3g}" in page.inner_text("#tour-answer-1")
