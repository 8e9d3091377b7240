"""The lesson tour (static/tour.js) in a real browser (Debian's Chromium driven by Playwright) against the
real uvicorn server and the default models: every step renders and the keyboard moves through them, each
step's claim shows the number the Python model gives (aekit.explorer.lesson), each experiment's numbers
equal what the Python model computes, and each practice answer stays hidden until its experiment has run.

Chromium is never downloaded: the tests use /usr/bin/chromium (``apt-get install chromium``).
Without it they skip on a developer machine and fail when ``CI`` is set.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import aekit
from aekit.explorer import Session, default_models
from aekit.explorer.lesson import nearest_preset

PRESETS = {name: x.astype(np.float32) for name, x in aekit.data.shapes12_presets().items()}  # (1, 12, 12) each
STEPS = ["bottleneck", "latent", "blend", "holes", "denoise", "anomaly"]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """The models `aekit explore` serves without a model: a 2-D plain AE and a 2-D VAE on shapes12,
    from the cache the other explorer tests share (trained here if none of them ran first)."""
    models, ds = default_models(cache=tmp_path_factory.getbasetemp() / "aekit-cache" / "explorer")
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
    step = STEPS.index(name)
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
    assert steps.count() == 7  # six steps and the practice questions
    titles = []
    page.focus("#tour .tour-next")
    for i in range(7):
        visible = [j for j in range(7) if steps.nth(j).is_visible()]
        assert visible == [i]
        section = steps.nth(i)
        titles.append(section.locator("h3").inner_text())
        paragraphs = section.locator(":scope > p").all_inner_texts()
        sentences = sum(len(re.findall(r"[.?!:](?:\s|$)", p)) for p in paragraphs)
        assert paragraphs and 2 <= sentences <= 6, (titles[-1], paragraphs)
        assert section.locator(".tour-run").count() >= 1
        if i < 6:
            page.keyboard.press("Enter" if i % 2 == 0 else "Space")  # the focused Next button
    assert titles[:6] == [
        "1. The bottleneck",
        "2. The latent space",
        "3. Blends",
        "4. The holes",
        "5. Denoising",
        "6. Anomalies",
    ]
    assert page.is_disabled("#tour .tour-next")
    assert page.evaluate("() => document.activeElement.closest('#tour') !== null")  # focus stayed in the tour
    # The live sizes are in the text: 144 numbers -> 2.
    assert "144 numbers and the code is 2" in steps.nth(0).inner_text()
    # Arrow keys inside the tour move between pages too; Shift+Tab reaches Previous.
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("() => window.tour.page") == 5 and steps.nth(5).is_visible()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert steps.nth(3).is_visible()
    page.focus("#tour .tour-prev")
    page.keyboard.press("Enter")
    assert steps.nth(2).is_visible() and page.inner_text("#tour-counter").startswith("Step 3 of 6")
    page.keyboard.press("ArrowRight")
    assert steps.nth(3).is_visible()


def _claims(page) -> dict:
    page.wait_for_function("() => document.getElementById('tour').classList.contains('tour-measured')", timeout=60000)
    return page.evaluate("() => JSON.parse(JSON.stringify(window.tour.results.claims))")


@pytest.mark.parametrize("name", ["ae", "vae"])
def test_each_claim_shows_the_number_the_python_model_gives(page, session, name):
    """The claims are measured on the live model: recomputed here with the estimator, they agree."""
    from aekit.explorer.lesson import lesson_report

    claims = _claims(page)
    c = claims[name]
    report = lesson_report(session, name)
    est = session.models[name]
    presets = np.float32([p["x"] for p in session.presets()])  # (6, 144)
    assert c["self"] == report["self"] == report["presets"]  # every preset comes back as itself
    assert page.inner_text(f"#tour [data-result='claim-self-{name}']") == "6 of 6"
    # Codes apart: over the spread of the codes the page holds (the session's seeded subsample).
    codes = est.transform(presets.reshape(6, 1, 12, 12))
    data = np.float64(session.codes(name)["codes"])
    spread = np.linalg.norm(data - data.mean(0), axis=1).mean()
    gap = min(np.linalg.norm(codes[a] - codes[b]) for a in range(6) for b in range(a + 1, 6))
    assert c["separation"] == pytest.approx(gap / spread, rel=1e-5) and c["separation"] >= 0.2
    assert float(page.inner_text(f"#tour [data-result='claim-separation-{name}']")) == pytest.approx(
        c["separation"], abs=0.006
    )
    assert c["grid"] == report["grid_classes"] == report["presets"]
    assert c["blends"] == report["blends"] and c["blendsBoth"] == report["blends_both"]
    assert page.inner_text(f"#tour [data-result='claim-blends-{name}']") == f"{report['blends']} of 15"
    # Random codes decoded, against the data samples the page used.
    decoded = est.inverse_transform(np.float32(c["randomCodes"])).reshape(len(c["randomCodes"]), -1)
    samples = session.dataset.x[np.asarray(c["dataIndices"])].reshape(len(c["dataIndices"]), -1)
    expected = np.median(nearest_preset(decoded, samples).min(1))
    assert c["random"] == pytest.approx(expected, rel=1e-4)
    # Inverted presets against the presets' own errors.
    inverted = est.reconstruction_error((1.0 - presets).reshape(6, 1, 12, 12))
    own = est.reconstruction_error(presets.reshape(6, 1, 12, 12))
    assert c["anomaly"] == pytest.approx(np.median(inverted) / own.max(), rel=1e-4)


def test_the_vae_fills_the_holes_by_the_numbers_shown(page):
    claims = _claims(page)
    ae, vae = claims["ae"]["random"], claims["vae"]["random"]
    assert float(page.inner_text("#tour [data-result='claim-random-ae']")) == pytest.approx(ae, rel=1e-2)
    assert float(page.inner_text("#tour [data-result='claim-random-vae']")) == pytest.approx(vae, rel=1e-2)
    text = page.inner_text("#tour-claim-holes")
    assert ("closer to the data" in text) == (vae < ae) and ("no closer" in text) == (vae >= ae)


def test_blend_decodes_the_midpoint_of_two_presets(page, session):
    claims = _claims(page)
    r = _run(page, "blend")
    est = session.models["ae"]
    pair = next(p for p in claims["ae"]["pairs"] if p["a"] == r["a"] and p["b"] == r["b"])
    assert r["both"] == any(p["both"] for p in claims["ae"]["pairs"])  # a real blend is shown first
    np.testing.assert_array_equal(np.float32(r["code"]), np.float32(pair["code"]))
    codes = est.transform(np.stack([PRESETS[r["a"]], PRESETS[r["b"]]]))
    np.testing.assert_array_equal(np.float32(r["code"]), (codes[0] + codes[1]) / 2)
    image = est.inverse_transform(np.float32(r["code"])[None]).reshape(1, -1)
    np.testing.assert_array_equal(np.float32(_state(page)["reconstruction"]), image[0])
    names = list(PRESETS)
    nearest = names[int(nearest_preset(image, np.float32([x.ravel() for x in PRESETS.values()])).argmin())]
    assert r["nearest"] == nearest == page.inner_text("#tour [data-result='blend-nearest']")


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
    """Every preset with noise: the numbers equal the Python model's on the very noisy input the page used,
    and the tour's sentences follow them, whichever way they come out."""
    est = session.models["ae"]
    cleaned_any = False
    for name in PRESETS:
        page.click(f"#presets button:text-is('{name}')")
        page.wait_for_function(
            "(name) => window.explorer.state.inputName === name && window.explorer.state.pending === 0", arg=name
        )
        r = _run(page, "denoise")
        clean = PRESETS[name].ravel()
        noisy = np.float32(r["noisy"])
        assert r["name"] == name and _state(page)["inputName"] == f"noisy {name}"
        assert noisy.min() >= 0 and noisy.max() <= 1 and 0.5 * 0.3**2 / 2 < _mse(noisy, clean) < 0.3**2
        recon = est.reconstruct(noisy.reshape(1, 1, 12, 12)).ravel()
        recon_clean = est.reconstruct(PRESETS[name][None]).ravel()
        assert r["noiseIn"] == pytest.approx(_mse(noisy, clean), rel=1e-5)
        assert r["errorVsClean"] == pytest.approx(_mse(recon, clean), rel=1e-5)
        assert r["floor"] == pytest.approx(_mse(recon_clean, clean), rel=1e-5)
        assert r["noiseOut"] == pytest.approx(_mse(recon, recon_clean), rel=1e-5)
        assert _shown(page, "denoise-error") == pytest.approx(r["errorVsClean"], rel=1e-2)
        assert _shown(page, "noise-in") == pytest.approx(r["noiseIn"], rel=1e-2)
        text = page.inner_text("#tour-out-denoise")
        assert ("Only " in text) == (r["noiseOut"] < 0.5 * r["noiseIn"]), (name, text)
        cleaned = "closer to the clean input than the noisy input is" in text
        assert cleaned == (r["errorVsClean"] < r["noiseIn"]) and cleaned != ("no closer to the clean input" in text)
        if not cleaned:
            assert ("bottleneck's own error" in text) == (r["floor"] >= 0.5 * r["noiseIn"]), (name, text)
        cleaned_any |= cleaned
    assert cleaned_any  # the step has something to show: some preset comes back cleaner than its noisy input


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
    _claims(page)
    page.evaluate("() => window.tour.go(6)")
    questions = page.locator("#tour .tour-question")
    order = ["bottleneck", "latent", "blend", "anomaly", "holes", "denoise"]
    assert questions.count() == len(order)
    for i in range(len(order)):
        assert page.is_hidden(f"#tour-answer-{i}") and questions.nth(i).locator(".tour-reveal").is_disabled()
    for i, name in enumerate(order):
        questions.nth(i).locator(".tour-try").click()
        page.wait_for_function(
            "(name) => window.tour.results[name] && !document.getElementById('tour').hasAttribute('aria-busy')",
            arg=name,
            timeout=15000,
        )
        for j in range(len(order)):  # only the questions whose experiment ran can be opened
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
    claims = results["claims"]["ae"]
    assert f"{claims['closest']['a']} and {claims['closest']['b']}" in page.inner_text("#tour-answer-1")
    assert f"{claims['blends']} midpoints" in page.inner_text("#tour-answer-2")
    assert f"{results['anomaly']['error']:.3g}" in page.inner_text("#tour-answer-3")
