"""The self-contained HTML report: the sections that apply to each variant and no others,
metrics equal to ``evaluate`` with PCA beside them, every image an inline PNG that
decodes, nothing that points outside the file, and both CLI paths that write it."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import aekit
from aekit.cli import main
from aekit.errors import ConfigError
from aekit.report.html import SECTIONS, build_report

# What each variant's report must hold on image data; every other section must be absent.
EXPECTED = {
    "plain": ["model-card", "metrics", "training", "reconstructions", "latent", "manifold", "interpolation", "errors"],
    "vae": [
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
    ],
    "vq": ["model-card", "metrics", "training", "reconstructions", "latent", "interpolation", "codebook", "errors"],
}
CODE_DIMS = {"plain": 2, "vae": 4, "vq": 8}  # VAE 4: its manifold shows the two dimensions of largest KL


@pytest.fixture(scope="module")
def digits():
    return aekit.data.load("builtin:digits").split(test_size=0.2, seed=0)


@pytest.fixture(scope="module")
def models(digits):
    train, _ = digits
    return {
        v: aekit.AutoEncoder(code_dim=k, variant=v, epochs=3, batch_size=64, random_state=0).fit(train)
        for v, k in CODE_DIMS.items()
    }


@pytest.fixture(scope="module")
def pages(models, digits):
    _, test = digits
    return {v: build_report(est, test) for v, est in models.items()}


def sections(page: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', page)


def metric(page: str, key: str) -> list[float]:
    """The numbers in the metrics table's row ``key``: autoencoder, then PCA (when shown)."""
    row = re.search(rf'<tr data-metric="{key}">(.*?)</tr>', page).group(1)
    return [float(v) for v in re.findall(r'data-value="([^"]+)"', row)]


@pytest.mark.parametrize("variant", list(EXPECTED))
def test_each_variant_gets_exactly_the_sections_that_apply(pages, variant):
    found = sections(pages[variant])
    assert found == EXPECTED[variant]
    assert set(found) <= set(SECTIONS)


@pytest.mark.parametrize("variant", list(EXPECTED))
def test_metrics_table_equals_evaluate_with_pca_beside(pages, models, digits, variant):
    page, metrics = pages[variant], models[variant].evaluate(digits[1])
    assert metric(page, "mse") == pytest.approx([metrics["mse"], metrics["pca_mse"]], rel=1e-12)
    assert metric(page, "gain_vs_pca") == pytest.approx([metrics["gain_vs_pca"]], rel=1e-12)
    assert metric(page, "n_samples") == [359, 359]
    assert f"<th>PCA-{CODE_DIMS[variant]}</th>" in page
    if variant == "vae":
        assert metric(page, "elbo") == pytest.approx([metrics["vae"]["elbo"]], rel=1e-12)
        assert metric(page, "iw_bound") == pytest.approx([metrics["vae"]["iw_bound"]], rel=1e-12)
        assert metric(page, "active_units") == [metrics["vae"]["active_units"]]
    else:
        assert 'data-metric="elbo"' not in page
    if variant == "vq":
        assert metric(page, "codebook_usage") == pytest.approx([metrics["vq"]["codebook_usage"]])
        assert metric(page, "perplexity") == pytest.approx([metrics["vq"]["perplexity"]])
    else:
        assert 'data-metric="perplexity"' not in page


@pytest.mark.parametrize("variant", list(EXPECTED))
def test_every_image_is_an_inline_png_that_decodes(pages, variant):
    page = pages[variant]
    sources = re.findall(r'<img src="([^"]*)"', page)
    figures = [s for s in sections(page) if s not in ("model-card", "metrics")]
    assert len(sources) == len(figures) == page.count("<img")  # one figure per picture section
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1], validate=True)))
        image.load()
        assert image.format == "PNG" and image.width > 50 and image.height > 50


@pytest.mark.parametrize("variant", list(EXPECTED))
def test_nothing_points_outside_the_file(pages, variant):
    page = pages[variant]
    assert re.search(r"https?:|ftp:|file:|url\(|@import|<script|<link|<iframe", page, re.I) is None
    assert "//" not in re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', page))
    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'\">"
    ) in page


def test_model_card_names_variant_sizes_and_training(pages, models):
    card = re.search(r'<section id="model-card">(.*?)</section>', pages["vae"], re.S).group(1)
    est = models["vae"]
    for text in (
        "<th>variant</th><td>vae</td>",
        "<th>bottleneck</th><td>gaussian</td>",
        "<th>input shape</th><td>1 x 8 x 8</td>",
        f"<td>{est.model_.n_parameters:,}</td>",
        "<th>epochs run</th><td>3 of 3",
        "<th>training time</th>",
        "359 samples",
    ):
        assert text in card


def test_text_is_escaped(models, digits):
    page = build_report(models["plain"], digits[1].subset(slice(0, 40)), title="<script>alert(1)</script> & co")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page


def test_holes_reference_pairs_a_plain_model_with_a_vae(models, digits):
    test = digits[1].subset(slice(0, 60))
    page = build_report(models["vae"], test, holes_reference=models["plain"])
    assert sections(page) == EXPECTED["vae"][:-1] + ["holes", "errors"]
    with pytest.raises(ConfigError, match="holes_reference must pair a VAE"):
        build_report(models["plain"], test, holes_reference=models["vq"])


def test_a_table_model_gets_no_picture_sections(table):
    est = aekit.AutoEncoder(code_dim=3, epochs=2, batch_size=64).fit(table)
    page = build_report(est, table)
    assert sections(page) == ["model-card", "metrics", "training", "reconstructions", "latent", "errors"]
    assert "all 300 rows" in page


def test_an_anomaly_detector_report_shows_its_threshold(tmp_path, table):
    det = aekit.AnomalyDetector(epochs=2, contamination=0.1).fit(table)
    det.save(tmp_path / "det")
    out = tmp_path / "det.html"
    np.save(tmp_path / "rows.npy", table)
    result = CliRunner().invoke(main, ["report", str(tmp_path / "det"), str(tmp_path / "rows.npy"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    errors = re.search(r'<section id="errors">(.*?)</section>', out.read_text(), re.S).group(1)
    flagged = int((det.anomaly_score(table) > det.threshold_).sum())
    assert f"Anomaly scores of 300 samples; {flagged} lie above the threshold {det.threshold_:.4g}" in errors


def test_cli_fit_report_and_report_write_the_same_held_out_page(tmp_path):
    model, first, second = tmp_path / "m", tmp_path / "fit.html", tmp_path / "sub" / "report.html"
    run = CliRunner().invoke
    result = run(
        main,
        [
            "fit",
            "builtin:digits",
            "-o",
            str(model),
            "--variant",
            "vae",
            "--code-dim",
            "2",
            "--epochs",
            "2",
            "--limit",
            "300",
            "-q",
            "--report",
            str(first),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"report written to {first}" in result.output
    result = run(main, ["report", str(model), "builtin:digits", "-o", str(second), "--title", "digits VAE"])
    assert result.exit_code == 0, result.output
    pages = [first.read_text(), second.read_text()]
    saved = json.loads((model / "metrics.json").read_text())
    for page in pages:
        assert sections(page) == EXPECTED["vae"]
        assert "the 60 rows aekit fit held out" in page  # --limit 300 is applied again, then the same split
        assert metric(page, "mse") == pytest.approx([saved["mse"], saved["pca_mse"]], rel=1e-6)
    assert "<title>digits VAE</title>" in pages[1]


def test_cli_refuses_a_report_path_that_is_not_html_before_any_work(tmp_path):
    result = CliRunner().invoke(
        main, ["fit", "builtin:digits", "-o", str(tmp_path / "m"), "--report", str(tmp_path / "r.txt")]
    )
    assert result.exit_code == 1 and "--report" in result.output and "must end in .html" in result.output
    assert not (tmp_path / "m").exists()
