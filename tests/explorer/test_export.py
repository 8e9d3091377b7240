"""decoder.js against torch in a real headless Chromium: the exported page decodes
and encodes as ``est.inverse_transform`` and ``est.transform`` do, and a page written by
``write_standalone_page`` runs from file:// with every network request blocked."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import aekit
from aekit.errors import ConfigError
from aekit.explorer import export
from aekit.explorer.export import STATIC_DIR, decoder_spec, encoder_spec, model_spec, write_standalone_page
from aekit.nn import ACTIVATIONS

DECODER_JS = (STATIC_DIR / "decoder.js").read_text(encoding="utf-8")

# One tiny model per path through the spec; between them they use every activation.
MODELS = {
    "plain": ("images", dict(hidden=(16, 8))),  # gelu, PCA-initialised linear path, clipped to [0, 1]
    "tied": ("images", dict(variant="tied", hidden=(16, 8), activation="elu")),
    "linear": ("images", dict(variant="linear")),
    "vae": ("images", dict(variant="vae", hidden=(16,), activation="silu")),
    "vq": (
        "images",
        dict(variant="vq", code_dim=4, token_dim=2, codebook_size=16, hidden=(16,), activation="leaky_relu"),
    ),
    "bce": ("images", dict(loss="bce", hidden=(16,), activation="relu")),  # sigmoid output, clipped
    "table": ("table", dict(hidden=(16,), activation="tanh")),  # standardised columns
}


@pytest.fixture(scope="module")
def page(browser):
    """A blank page with decoder.js loaded; fails the module on any console error."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_content("<!doctype html><html><head><meta charset='utf-8'></head><body></body></html>")
    page.add_script_tag(content=DECODER_JS)
    yield page
    page.close()
    assert not errors


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    t = rng.normal(size=(160, 2))
    table = np.tanh(t @ rng.normal(size=(2, 7))) * np.arange(1, 8) * 10 + 5  # mixed units
    return {"images": aekit.data.load("builtin:shapes12?n=160&seed=1").x, "table": table.astype(np.float32)}


@pytest.fixture(scope="module")
def models(data) -> dict[str, tuple[aekit.AutoEncoder, np.ndarray]]:
    out = {}
    for name, (kind, options) in MODELS.items():
        options = {"code_dim": 2, "epochs": 2, "batch_size": 64, "random_state": 0, **options}
        out[name] = (aekit.AutoEncoder(**options).fit(data[kind]), data[kind])
    return out


def _codes(est: aekit.AutoEncoder, x: np.ndarray, n: int = 64) -> np.ndarray:
    """Random codes over and past the training codes' spread (n, code_dim), float32."""
    spread = est.transform(x).std(0) + 0.5
    z = np.random.default_rng(0).normal(size=(n, est.model_.config.code_dim)) * 2 * spread
    return z.astype(np.float32)


def _relative_error(got: np.ndarray, expected: np.ndarray, x: np.ndarray) -> float:
    """Largest absolute difference as a share of the data's range."""
    return float(np.abs(got - expected).max() / (x.max() - x.min()))


@pytest.mark.parametrize("name", MODELS)
def test_decode_matches_inverse_transform(page, models, name):
    est, x = models[name]
    z = _codes(est, x)
    expected = est.inverse_transform(z).reshape(len(z), -1)
    got = page.evaluate(
        """([spec, z, n]) => {
            const model = AekitDecoder.fromSpec(spec);
            return {batch: Array.from(model.decodeBatch(z, n)),
                    first: Array.from(model.decode(z.slice(0, spec.code_dim)))};
        }""",
        [decoder_spec(est), z.ravel().tolist(), len(z)],
    )
    batch = np.array(got["batch"]).reshape(expected.shape)
    assert _relative_error(batch, expected, x) <= 1e-5
    np.testing.assert_array_equal(np.array(got["first"]), batch[0])
    if name in ("plain", "bce"):  # images: clipped to [0, 1], and well within one grey level
        assert batch.min() >= 0 and batch.max() <= 1
        assert np.abs(batch - expected).max() < 1 / 255 / 100


@pytest.mark.parametrize("name", MODELS)
def test_encode_matches_transform(page, models, name):
    est, x = models[name]
    # Training samples, then far-out ones that drive a VAE's log-variance into its clamp.
    x = np.concatenate([x[:40], x[:8] * 400 - 150])
    got = page.evaluate(
        """([spec, x, n]) => {
            const r = AekitDecoder.fromSpec(spec).encodeBatch(x, n);
            return {mean: Array.from(r.mean), logvar: r.logvar ? Array.from(r.logvar) : null,
                    indices: r.indices ? Array.from(r.indices) : null};
        }""",
        [encoder_spec(est), x.reshape(len(x), -1).ravel().tolist(), len(x)],
    )
    with torch.no_grad():
        code = est.model_.encode(torch.from_numpy(est.preprocessing_.transform(x)))
    mean = code.mean.numpy()
    np.testing.assert_array_equal(est.transform(x[:40]), mean[:40])
    got_mean = np.array(got["mean"]).reshape(mean.shape)
    assert np.abs(got_mean - mean).max() <= 1e-5 * (1 + np.abs(mean).max())
    if code.logvar is not None:
        logvar = code.logvar.numpy()
        assert logvar.min() == -30.0 or logvar.max() == 20.0  # the clamp is exercised
        got_logvar = np.array(got["logvar"]).reshape(logvar.shape)
        assert np.abs(got_logvar - logvar).max() <= 1e-5 * np.abs(logvar).max()
    else:
        assert got["logvar"] is None
    if code.indices is not None:
        indices = code.indices.numpy()
        np.testing.assert_array_equal(np.array(got["indices"]).reshape(indices.shape), indices)
        np.testing.assert_array_equal(got_mean, mean)  # the codebook vectors themselves
    else:
        assert got["indices"] is None


def test_every_activation_matches_torch(page):
    assert set(page.evaluate("AekitDecoder.activations")) >= set(ACTIVATIONS)
    v = np.concatenate([np.linspace(-12, 12, 4801), [-700.0, -40.0, -1e-9, 0.0, 1e-9, 40.0, 700.0]])
    modules = [cls() for cls in ACTIVATIONS.values()] + [torch.nn.GELU(approximate="tanh")]
    for module in modules:
        spec = export._activation(module)
        got = np.array(page.evaluate("([s, v]) => Array.from(AekitDecoder.activate(s, v))", [spec, v.tolist()]))
        expected = module(torch.from_numpy(v)).numpy()  # float64: the reference, not float32 rounding
        assert np.abs(got - expected).max() <= 1e-13 * (1 + np.abs(expected)).max(), spec


def test_erf_is_accurate(page):
    v = np.concatenate([np.linspace(-7, 7, 28001), [2.4999999999, 2.5, 26.0, 1e-300, -1e-12]])
    got = np.array(page.evaluate("v => v.map(AekitDecoder.erf)", v.tolist()))
    expected = np.array([math.erf(t) for t in v])
    assert np.abs(got - expected).max() <= 1e-14  # 1e-7 is what float32 GELU needs
    assert page.evaluate("[AekitDecoder.erf(Infinity), AekitDecoder.erf(-Infinity), AekitDecoder.erf(0)]") == [1, -1, 0]


def test_spec_is_compact_json(models, tmp_path):
    est, _ = models["tied"]
    spec = model_spec(est)
    assert model_spec(aekit.load(est.save(tmp_path / "model"))) == spec  # a loaded model exports the same
    text = json.dumps(spec, allow_nan=False)
    decoder = spec["decoder"]
    assert decoder["tied"] and all(layer["transpose"] for layer in decoder["mlp"])
    assert [layer["out"] for layer in decoder["mlp"]] == [8, 16, 144]
    # The tied decoder's first matrix is the encoder's last one, bit for bit.
    assert decoder["mlp"][0]["weight"] == spec["encoder"]["mlp"][-1]["weight"]
    n_weights = sum(p.numel() for p in est.model_.parameters())
    assert len(text) < 2 * 6 * n_weights  # base64 float32 is about 5.3 characters a value


def test_bad_codes_and_specs_are_refused_by_name(page, models):
    est, _ = models["vq"]
    errors = page.evaluate(
        """([spec]) => {
            const model = AekitDecoder.fromSpec(spec);
            const attempt = (f) => { try { f(); return null; } catch (e) { return e.message; } };
            return [attempt(() => model.decode([1, 2])), attempt(() => model.decodeBatch([0, 0, 0, NaN], 1)),
                    attempt(() => model.encode([0.5])),
                    attempt(() => AekitDecoder.fromSpec({...spec.decoder, activation: {name: "swish"}})),
                    attempt(() => AekitDecoder.fromSpec({...spec.decoder, version: 2})),
                    attempt(() => AekitDecoder.fromSpec(spec.decoder).encode([0]))];
        }""",
        [model_spec(est)],
    )
    assert errors == [
        "AekitDecoder: a code has 4 values, got 2",
        "AekitDecoder: codes contain NaN or infinite values (value 3)",
        "AekitDecoder: a sample has 144 values, got 1",
        'AekitDecoder: activation "swish" is not one of: relu, gelu, silu, tanh, elu, leaky_relu',
        "AekitDecoder: spec version 2 is not supported (this file reads version 1)",
        "AekitDecoder: this spec has no encoder",
    ]


def test_conv_models_are_refused(data):
    est = aekit.AutoEncoder(code_dim=2, arch="conv", channels=(4,), epochs=1, batch_size=64).fit(data["images"][:64])
    for build in (decoder_spec, encoder_spec, model_spec):
        with pytest.raises(ConfigError, match=r"arch='conv'.*supported: mlp, linear"):
            build(est)


def test_page_refuses_anything_it_would_fetch(tmp_path):
    out = tmp_path / "page.html"
    bad = {
        '<img src="https://example.com/x.png">': "https://example.com/x.png",
        '<link rel="icon" href="favicon.ico">': "favicon.ico",
        '<script src="missing.js"></script>': "missing.js",
        '<link rel="stylesheet" href="s.css">': "fonts/a.woff",
    }
    for html, named in bad.items():
        with pytest.raises(ConfigError, match=named):
            write_standalone_page(html, {}, out, assets={"s.css": "@font-face{src:url(fonts/a.woff)}"})
    assert not out.exists()
    with pytest.raises(ValueError):
        write_standalone_page("<p>", {"x": float("nan")}, out)
    assert not out.exists()


PAGE_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>aekit</title>
<link rel="stylesheet" href="/static/page.css">
<script type="application/json" id="aekit-data"></script>
</head><body><canvas id="c" width="12" height="12"></canvas>
<script src="/static/page.js" defer></script>
</body></html>"""

PAGE_JS = """
const data = JSON.parse(document.getElementById("aekit-data").textContent);
const model = AekitDecoder.fromSpec(data.model);
window.result = {
  decoded: Array.from(model.decodeBatch(data.z, data.z.length / model.codeDim)),
  encoded: Array.from(model.encode(data.x).mean),
  note: data.note,
  html: "</script><!-- a string that must not end this script -->",
};
"""


def test_standalone_page_runs_offline(browser, models, tmp_path):
    est, x = models["plain"]
    z = _codes(est, x, n=256)  # a 16 x 16 manifold grid's worth
    note = "</script><script>window.hacked = 1</script><!--"
    payload = {"model": model_spec(est), "z": z.ravel().tolist(), "x": x[0].ravel().tolist(), "note": note}
    out = write_standalone_page(
        PAGE_HTML,
        payload,
        tmp_path / "page.html",
        assets={"page.css": "body { margin: 0 } /* </style> */", "page.js": PAGE_JS},
    )

    page = browser.new_page()
    requests, blocked, errors = [], [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def route(r):
        if r.request.url.startswith(("file://", "data:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(out.as_uri())
    page.wait_for_function("window.result !== undefined", timeout=10_000)
    result = page.evaluate("window.result")
    hacked = page.evaluate("window.hacked")
    page.close()

    assert requests == [out.as_uri()] and not blocked and not errors
    assert hacked is None and result["note"] == note
    decoded = np.array(result["decoded"]).reshape(len(z), -1)
    assert _relative_error(decoded, est.inverse_transform(z).reshape(len(z), -1), x) <= 1e-5
    assert np.abs(np.array(result["encoded"]) - est.transform(x[:1])[0]).max() <= 1e-5
