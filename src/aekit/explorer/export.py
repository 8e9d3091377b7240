"""A fitted model as JSON that ``static/decoder.js`` evaluates, and the single-file page.

``aekit explore MODEL --export page.html`` writes a page that runs from ``file://``
with no server: the MLP decoder (and encoder) is mirrored in JavaScript. This
module describes a fitted :class:`aekit.AutoEncoder` so that mirror is exact:
:func:`decoder_spec` covers the whole path of ``est.inverse_transform(z)`` (the
decoder's layers, the output transform of the reconstruction loss, the
``output_range`` clip, the preprocessing inverse), :func:`encoder_spec` the path of
``est.transform(x)`` (preprocessing, encoder, the bottleneck's deterministic code).
Weights travel as base64 strings of little-endian float32, a third of the size of
JSON number lists and bit-exact.

Only fully connected models can be mirrored: ``arch='mlp'`` (tied or not) and
``arch='linear'``, with any bottleneck. A conv model raises ConfigError; its
explorer needs the server.

The spec, version 1 (``weight`` and ``bias`` are base64 float32 strings)::

    layer    = {"in": n_in, "out": n_out, "transpose": bool, "weight": ..., "bias": ...}
               # y = W h + b; W is stored (out, in), or (in, out) when transpose is true:
               # a tied decoder layer is the encoder's matrix, used transposed.
    network  = {"mlp": [layer, ...], "linear": layer or None,
                "activation": {"name": ..., **params} or None}
               # mlp(x) + linear(x); the activation sits between mlp layers, not after the last
    decoder  = {"format": "aekit.decoder", "version": 1, "arch", "tied", "kind", "code_dim",
                "input_shape", "n_features", **network,
                "to_data": "identity" | "sigmoid", "output_range": [low, high] or None,
                "preprocessing": {"method", "shift", "scale"} or None}
               # x = clip(to_data(network(z))) * scale + shift
    encoder  = {"format": "aekit.encoder", ..., **network, "preprocessing": ...,
                "bottleneck": {"kind": "deterministic"}
                            | {"kind": "gaussian", "logvar_range": [low, high]}
                            | {"kind": "vq", "token_dim", "n_tokens", "codebook_size", "codebook"}}
    model    = {"format": "aekit.model", "version": 1, "decoder": ..., "encoder": ...}
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from aekit._atomic import atomic_write_text
from aekit.errors import ConfigError
from aekit.nn import ACTIVATIONS
from aekit.nn.gaussian import LOGVAR_RANGE
from aekit.nn.losses import BCELoss, MSELoss
from aekit.nn.mlp import MLPDecoder, MLPEncoder, TiedMLPDecoder

#: Where decoder.js and the explorer's page files live.
STATIC_DIR = Path(__file__).resolve().parent / "static"
#: The format version decoder.js reads.
SPEC_VERSION = 1
#: Architectures whose layers decoder.js can evaluate.
SUPPORTED_ARCHS = ("mlp", "linear")
#: How each reconstruction loss maps raw decoder output to data space (``recon_loss.to_data``).
_TO_DATA: dict[type, str] = {MSELoss: "identity", BCELoss: "sigmoid"}
#: Activation parameters that differ from a bare name; the rest have none.
_ACTIVATION_PARAMS = {
    "gelu": lambda m: {"approximate": m.approximate},
    "elu": lambda m: {"alpha": float(m.alpha)},
    "leaky_relu": lambda m: {"negative_slope": float(m.negative_slope)},
}


def decoder_spec(est) -> dict[str, Any]:
    """The decoding path of a fitted model, from a code to data space, as JSON-ready data.

    ``decoder.js`` evaluates it to what ``est.inverse_transform(z)`` computes:
    decoder layers, then ``recon_loss.to_data`` (identity for mse, sigmoid for bce),
    then the ``output_range`` clip, then the preprocessing inverse.

    Parameters
    ----------
    est : aekit.AutoEncoder
        Fitted (or loaded), with ``arch`` 'mlp' or 'linear'.

    Returns
    -------
    dict
        The ``aekit.decoder`` spec described in the module docstring; codes have
        shape (code_dim,), outputs (n_features,) = prod(input_shape).

    Raises
    ------
    ConfigError
        The architecture, activation or loss has no JavaScript mirror (conv models).

    Examples
    --------
    >>> import aekit, numpy as np
    >>> X = np.random.default_rng(0).random((64, 6)).astype(np.float32)
    >>> est = aekit.AutoEncoder(code_dim=2, epochs=1, hidden=(8,)).fit(X)
    >>> spec = decoder_spec(est)
    >>> spec["format"], spec["code_dim"], spec["n_features"], [layer["out"] for layer in spec["mlp"]]
    ('aekit.decoder', 2, 6, [8, 6])
    >>> spec["activation"], spec["to_data"], spec["preprocessing"]["method"]
    ({'name': 'gelu', 'approximate': 'none'}, 'identity', 'standard')
    """
    model = _check_supported(est)
    config = model.config
    decoder = model.decoder
    if isinstance(decoder, TiedMLPDecoder):
        network = _tied_network(decoder)
    elif isinstance(decoder, MLPDecoder):
        network = _network(decoder)
    else:
        raise ConfigError(f"decoder {type(decoder).__name__} of arch={config.arch!r} cannot be mirrored in "
                          "JavaScript; supported: MLPDecoder and TiedMLPDecoder")
    to_data = _TO_DATA.get(type(model.recon_loss))
    if to_data is None:
        raise ConfigError(f"loss={config.loss!r} cannot be mirrored in JavaScript; supported: mse, bce")
    return {
        **_header(est, "aekit.decoder"),
        "tied": isinstance(decoder, TiedMLPDecoder),
        **network,
        "to_data": to_data,
        "output_range": list(config.output_range) if config.output_range is not None else None,
        "preprocessing": _preprocessing(est),
    }


def encoder_spec(est) -> dict[str, Any]:
    """The encoding path of a fitted model, from a sample to its deterministic code.

    ``decoder.js`` evaluates it to what ``est.transform(x)`` computes (the code's
    mean): preprocessing, encoder layers, then the bottleneck: the output itself
    (deterministic), the mean and clamped log-variance heads (gaussian), or the
    nearest codebook vector of each token (vq, with the indices).

    Parameters
    ----------
    est : aekit.AutoEncoder
        Fitted, with ``arch`` 'mlp' or 'linear'.

    Returns
    -------
    dict
        The ``aekit.encoder`` spec; inputs have shape (n_features,) in data units,
        codes (code_dim,).

    Examples
    --------
    >>> import aekit, numpy as np
    >>> X = np.random.default_rng(0).random((64, 8)).astype(np.float32)
    >>> est = aekit.AutoEncoder(code_dim=4, variant="vq", codebook_size=8, epochs=1, hidden=(8,)).fit(X)
    >>> spec = encoder_spec(est)["bottleneck"]
    >>> spec["kind"], spec["token_dim"], spec["n_tokens"], spec["codebook_size"]
    ('vq', 4, 1, 8)
    """
    model = _check_supported(est)
    if not isinstance(model.encoder, MLPEncoder):
        raise ConfigError(f"encoder {type(model.encoder).__name__} cannot be mirrored in JavaScript; "
                          "supported: MLPEncoder")
    bottleneck = model.bottleneck
    kind = model.config.bottleneck
    if kind == "deterministic":
        described: dict[str, Any] = {"kind": kind}
    elif kind == "gaussian":
        described = {"kind": kind, "logvar_range": list(LOGVAR_RANGE)}
    elif kind == "vq":
        described = {"kind": kind, "token_dim": bottleneck.token_dim, "n_tokens": bottleneck.n_tokens,
                     "codebook_size": bottleneck.codebook_size, "codebook": _b64(bottleneck.codebook)}
    else:
        raise ConfigError(f"bottleneck={kind!r} cannot be mirrored in JavaScript; supported: "
                          "deterministic, gaussian, vq")
    return {**_header(est, "aekit.encoder"), **_network(model.encoder), "preprocessing": _preprocessing(est),
            "bottleneck": described}


def model_spec(est) -> dict[str, Any]:
    """Both paths in one spec: what ``AekitDecoder.fromSpec`` takes for decode and encode.

    Examples
    --------
    >>> import aekit, numpy as np
    >>> X = np.random.default_rng(0).random((64, 6)).astype(np.float32)
    >>> spec = model_spec(aekit.AutoEncoder(code_dim=2, epochs=1, variant="tied", hidden=(8,)).fit(X))
    >>> spec["format"], spec["decoder"]["tied"], [layer["transpose"] for layer in spec["decoder"]["mlp"]]
    ('aekit.model', True, [True, True])
    """
    return {"format": "aekit.model", "version": SPEC_VERSION, "decoder": decoder_spec(est),
            "encoder": encoder_spec(est)}


# -- the standalone page ---------------------------------------------------------------
_SCRIPT_SRC = re.compile(r"<script\b([^>]*)>\s*</script\s*>", re.I)
_LINK = re.compile(r"<link\b[^>]*>", re.I)
_DATA_ELEMENT = re.compile(r"<script\b[^>]*\bid\s*=\s*['\"]?aekit-data['\"]?[^>]*>.*?</script\s*>", re.I | re.S)
_ATTR = re.compile(r"([\w:-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))")
# Tags whose src/href/data attribute the browser would fetch on load.
_FETCHING = re.compile(r"<(?:img|iframe|source|audio|video|embed|object|input|track|script|link)\b[^>]*?"
                       r"\b(?:src|href|data|srcset|poster)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.I)
_INLINE_BODY = re.compile(r"(<(script|style)\b[^>]*>).*?(</\2\s*>)", re.I | re.S)
_CSS_URL = re.compile(r"(?:url\(\s*['\"]?|@import\s+['\"])(?!data:|#)([^'\")\s]+)", re.I)


def write_standalone_page(html_template: str, spec: Mapping[str, Any], out_path: str | os.PathLike, *,
                          assets: Mapping[str, str] | None = None,
                          extra_scripts: Sequence[str] = ("decoder.js",)) -> Path:
    """Write one self-contained HTML file: scripts, styles and a JSON payload inlined.

    Every ``<script src=...></script>`` becomes an inline ``<script>`` with that
    file's text (``defer``/``async`` ones move to the end of ``<body>``, where an
    inline script runs at the same point), every ``<link rel="stylesheet">`` a
    ``<style>``. ``spec`` goes into ``<script type="application/json"
    id="aekit-data">``, replacing such an element if the template has one, else
    placed before the first script; the page reads it with
    ``JSON.parse(document.getElementById("aekit-data").textContent)``. Every ``<``
    in the payload is written ``\\u003c`` and ``</script`` in inlined code ``\\x3C/script``,
    so no content can close its element early. The file is written atomically.

    Parameters
    ----------
    html_template : str
        The page's HTML.
    spec : mapping
        The JSON payload, e.g. ``{"model": model_spec(est), ...}``; no NaN or infinity.
    out_path : path
        Where the page goes.
    assets : mapping of str to str, optional
        File contents by the name the template uses in ``src``/``href`` (the full
        reference or its last path segment); anything not given is read from
        ``aekit/explorer/static/``.
    extra_scripts : sequence of str, default ("decoder.js",)
        Scripts the standalone page needs beyond those the template references;
        each one it does not reference is inlined after the payload.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    ConfigError
        The template refers to a file that is neither in ``assets`` nor in the
        static folder, or to anything the browser would fetch (``<img src=...>``, a
        CSS ``url(...)``), since the page must make no requests at all.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> html = '<html><head><link rel="stylesheet" href="p.css"></head><body><script src="p.js"></script></body></html>'
    >>> out = write_standalone_page(html, {"note": "</script>"}, pathlib.Path(tempfile.mkdtemp()) / "page.html",
    ...                             assets={"p.css": "body{margin:0}", "p.js": "var data = 1;"})
    >>> text = out.read_text()
    >>> "body{margin:0}" in text, '"\\\\u003c/script>"' in text, "window.AekitDecoder" in text
    (True, True, True)
    >>> "src=" in text, "href=" in text
    (False, False)
    """
    def read(ref: str) -> str:
        name = _file_name(ref)
        for key in (ref, name):
            if assets is not None and key in assets:
                return assets[key]
        path = STATIC_DIR / name
        if name and path.is_file():
            return path.read_text(encoding="utf-8")
        raise ConfigError(f"the page refers to {ref!r}, which is neither in assets "
                          f"({', '.join(sorted(assets or {})) or 'none given'}) nor a file in {STATIC_DIR}")

    _check_no_fetches(html_template)
    referenced: set[str] = set()
    deferred: list[str] = []

    def script(match: re.Match) -> str:
        attrs = _attrs(match.group(1))
        src = attrs.get("src")
        if src is None or src.startswith("data:"):
            return match.group(0)
        referenced.add(_file_name(src))
        type_attr = f' type="{attrs["type"]}"' if "type" in attrs else ""
        inline = f"<script{type_attr}>\n{_escape_js(read(src))}\n</script>"
        if "defer" in attrs or "async" in attrs:
            deferred.append(inline)
            return ""
        return inline

    def link(match: re.Match) -> str:
        attrs = _attrs(match.group(0))
        href = attrs.get("href", "")
        if not href or href.startswith("data:") or "stylesheet" not in attrs.get("rel", "").lower().split():
            return match.group(0)  # fetches nothing: _check_no_fetches refused the rest
        css = read(href)
        _check_css(css, href)
        return f"<style>\n{_escape_css(css)}\n</style>"

    marker = "\x00aekit-data\x00"
    html, had_data = _DATA_ELEMENT.subn(marker, html_template, count=1)
    html = _SCRIPT_SRC.sub(script, html)
    html = _LINK.sub(link, html)

    payload = json.dumps(spec, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    head = f'<script type="application/json" id="aekit-data">{payload}</script>'
    for name in extra_scripts:
        if name not in referenced:
            head += f"\n<script>\n{_escape_js(read(name))}\n</script>"
    if deferred:
        html = _insert_before(html, re.compile(r"</body\s*>", re.I), "\n".join(deferred) + "\n")
    if had_data:
        html = html.replace(marker, head, 1)
    else:
        html = _insert_before(html, re.compile(r"<script\b|</body\s*>", re.I), head + "\n")
    out_path = Path(out_path)
    atomic_write_text(out_path, html)
    return out_path


# -- helpers ---------------------------------------------------------------------------
def _check_supported(est):
    check_is_fitted(est, "model_")
    arch = est.model_.config.arch
    if arch not in SUPPORTED_ARCHS:
        raise ConfigError(f"arch={arch!r} cannot be mirrored in JavaScript for a standalone page; supported: "
                          f"{', '.join(SUPPORTED_ARCHS)} (tied or not); explore a {arch} model with the server "
                          "(aekit explore MODEL) instead")
    return est.model_


def _header(est, format_name: str) -> dict[str, Any]:
    config = est.model_.config
    return {"format": format_name, "version": SPEC_VERSION, "arch": config.arch,
            "kind": getattr(est, "kind_", None), "code_dim": int(config.code_dim),
            "input_shape": [int(s) for s in est.input_shape_], "n_features": int(config.n_features)}


def _b64(values: torch.Tensor | np.ndarray) -> str:
    """Little-endian float32 bytes of ``values`` (any shape, row-major) as base64."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().to(torch.float32).numpy()
    return base64.b64encode(np.ascontiguousarray(values, dtype="<f4").tobytes()).decode("ascii")


def _layer(weight: torch.Tensor, bias: torch.Tensor | None, transpose: bool = False) -> dict[str, Any]:
    """``y = W h + b`` with ``weight`` (out, in), or (in, out) used transposed."""
    rows, cols = weight.shape
    n_in, n_out = (rows, cols) if transpose else (cols, rows)
    if bias is None:
        bias = torch.zeros(n_out)
    return {"in": int(n_in), "out": int(n_out), "transpose": transpose, "weight": _b64(weight), "bias": _b64(bias)}


def _activation(module: nn.Module | None) -> dict[str, Any] | None:
    if module is None:
        return None
    for name, cls in ACTIVATIONS.items():
        if type(module) is cls:
            params = _ACTIVATION_PARAMS.get(name)
            return {"name": name, **(params(module) if params else {})}
    raise ConfigError(f"activation {type(module).__name__} cannot be mirrored in JavaScript; supported: "
                      f"{', '.join(ACTIVATIONS)}")


def _network(net: MLPEncoder | MLPDecoder) -> dict[str, Any]:
    """``linear(x) + mlp(x)`` of an untied encoder or decoder (aekit.nn.mlp._LinearPlusMLP)."""
    linears = [m for m in net.mlp if isinstance(m, nn.Linear)]
    acts = [m for m in net.mlp if not isinstance(m, nn.Linear)]
    return {"mlp": [_layer(m.weight, m.bias) for m in linears],
            "linear": _layer(net.linear.weight, net.linear.bias) if net.linear is not None else None,
            "activation": _activation(acts[0] if acts else None)}


def _tied_network(decoder: TiedMLPDecoder) -> dict[str, Any]:
    """A tied decoder: the encoder's layers in reverse, each matrix used transposed, with its own biases."""
    encoder = decoder._encoder[0]
    layers = [m for m in encoder.mlp if isinstance(m, nn.Linear)][::-1]
    linear = None
    if encoder.linear is not None:
        linear = _layer(encoder.linear.weight, decoder.linear_bias, transpose=True)
    return {"mlp": [_layer(m.weight, b, transpose=True) for m, b in zip(layers, decoder.biases)],
            "linear": linear, "activation": _activation(decoder.act if len(layers) > 1 else None)}


def _preprocessing(est) -> dict[str, Any] | None:
    pre = est.preprocessing_
    if pre.shift is None:
        return None
    return {"method": pre.method, "shift": _b64(pre.shift), "scale": _b64(pre.scale)}


def _file_name(ref: str) -> str:
    """The last path segment of a URL reference, without query or fragment."""
    return ref.split("#")[0].split("?")[0].rsplit("/", 1)[-1]


def _check_no_fetches(html: str) -> None:
    """Refuse a template that would make the browser fetch anything but what gets inlined."""
    # Inline code may build tags in strings; only the markup itself is checked.
    markup = _INLINE_BODY.sub("", _DATA_ELEMENT.sub("", html))
    for tag in _LINK.findall(markup):
        attrs = _attrs(tag)
        href = attrs.get("href", "")
        if href and not href.startswith("data:") and "stylesheet" not in attrs.get("rel", "").lower().split():
            raise ConfigError(f"the page links {href!r} (rel={attrs.get('rel')!r}), which a file:// page would "
                              "fetch; only stylesheets and scripts can be inlined")
    markup = _LINK.sub("", _SCRIPT_SRC.sub("", markup))
    for found in _FETCHING.finditer(markup):
        url = next(g for g in found.groups() if g is not None)
        if not url.startswith(("data:", "#")):
            raise ConfigError(f"the page refers to {url!r} in {found.group(0)[:60]!r}, which it would fetch; "
                              "a standalone page makes no requests")
    for style in re.findall(r"<style\b[^>]*>(.*?)</style\s*>", html, flags=re.I | re.S):
        _check_css(style, "<style>")


def _check_css(css: str, where: str) -> None:
    found = _CSS_URL.search(css)
    if found is not None:
        raise ConfigError(f"stylesheet {where!r} refers to {found.group(1)!r}, which the page would fetch; "
                          "use a data: URL")


def _attrs(tag: str) -> dict[str, str]:
    """Attributes of an HTML tag (or its attribute text); bare ones (``defer``) map to ''."""
    out = {m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None) for m in _ATTR.finditer(tag)}
    for bare in re.findall(r"\s(defer|async)(?=[\s>/]|$)", tag, flags=re.I):
        out.setdefault(bare.lower(), "")
    return out


def _escape_js(code: str) -> str:
    """Script text that cannot end its ``<script>`` early: ``\\x3C`` is ``<`` in strings and regexes."""
    return re.sub(r"<(?=/script|!--)", r"\\x3C", code, flags=re.I)


def _escape_css(css: str) -> str:
    """Style text that cannot end its ``<style>`` early: ``\\/`` is ``/`` in CSS strings."""
    return re.sub(r"</(?=style)", r"<\\/", css, flags=re.I)


def _insert_before(html: str, pattern: re.Pattern, text: str) -> str:
    """``text`` before the first match of ``pattern``, or at the end."""
    found = pattern.search(html)
    if found is None:
        return html + text
    return html[: found.start()] + text + html[found.start():]
