"""A fitted model as JSON that ``static/decoder.js`` evaluates, and the single-file page.

``aekit explore MODEL --export page.html`` writes a page that runs from ``file://``
with no server: the MLP decoder (and encoder) is mirrored in JavaScript. This
module describes a fitted :class:`aekit.AutoEncoder` so that mirror is exact:
:func:`decoder_spec` covers the whole path of ``est.inverse_transform(z)`` (the
decoder's layers, the output transform of the reconstruction loss, the
``output_range`` clip, the preprocessing inverse), :func:`encoder_spec` the path of
``est.transform(x)`` (preprocessing, encoder, the bottleneck's deterministic code).
Weights travel as base64 strings of little-endian float32, a third of the size of
JSON number lists and bit-exact. The page itself is written by
:func:`aekit.explorer.page.write_standalone_page` (re-exported here).

Only fully connected models can be mirrored: ``arch='mlp'`` (tied or not) and
``arch='linear'``, with any of the built-in bottlenecks. A conv model (or any
other network, or a bottleneck decoder.js has no mirror of) raises ConfigError;
its explorer needs the server.

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
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from aekit.errors import ConfigError
from aekit.explorer.page import STATIC_DIR, write_standalone_page
from aekit.nn import ACTIVATIONS
from aekit.nn.bottlenecks import DeterministicBottleneck
from aekit.nn.gaussian import LOGVAR_RANGE, GaussianBottleneck
from aekit.nn.losses import BCELoss, MSELoss
from aekit.nn.mlp import MLPDecoder, MLPEncoder, TiedMLPDecoder
from aekit.nn.vq import VQBottleneck
from aekit.registry import own_networks

__all__ = [
    "STATIC_DIR",
    "SPEC_VERSION",
    "decoder_spec",
    "encoder_spec",
    "model_spec",
    "page_payload",
    "write_standalone_page",
]

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
        raise ConfigError(
            f"decoder {type(decoder).__name__} of arch={config.arch!r} cannot be mirrored in "
            "JavaScript; supported: MLPDecoder and TiedMLPDecoder"
        )
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
        raise ConfigError(
            f"encoder {type(model.encoder).__name__} cannot be mirrored in JavaScript; supported: MLPEncoder"
        )
    describe = _BOTTLENECK_MIRRORS.get(type(model.bottleneck))
    if describe is None:
        raise ConfigError(
            f"bottleneck={model.config.bottleneck!r} ({type(model.bottleneck).__name__}) cannot be "
            "mirrored in JavaScript; supported: deterministic, gaussian, vq"
        )
    described = describe(model.bottleneck)
    return {
        **_header(est, "aekit.encoder"),
        **_network(model.encoder),
        "preprocessing": _preprocessing(est),
        "bottleneck": described,
    }


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
    return {
        "format": "aekit.model",
        "version": SPEC_VERSION,
        "decoder": decoder_spec(est),
        "encoder": encoder_spec(est),
    }


def page_payload(session, max_points: int, view: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a page that runs without a server carries: every model's spec, meta, presets and data rows.

    Parameters
    ----------
    session : aekit.explorer.Session
        The models and data the page shows.
    max_points : int
        Data points in the scatter and the hover (the first of the session's seeded
        subsample), clipped to [1, the session's max_points].
    view : dict, optional
        The view the page opens on, e.g. ``{"dims": [0, 2]}``; stored as ``meta["view"]``.

    Returns
    -------
    dict
        ``{"format": "aekit.explorer", "version": 1, "meta", "presets", "models", "points"}``;
        ``points`` holds ``indices``, ``labels`` and ``x``, the rows (m, n_features) as base64
        float32, whose codes the page computes itself.

    Raises
    ------
    ConfigError
        A model with no JavaScript mirror (a conv model), naming the model.

    Examples
    --------
    >>> import aekit
    >>> from aekit.explorer import Session
    >>> ds = aekit.data.load("builtin:shapes12?n=120")
    >>> s = Session({"ae": aekit.AutoEncoder(code_dim=2, epochs=1, hidden=(16,)).fit(ds)}, ds)
    >>> payload = page_payload(s, 50, view={"dims": [0, 1]})
    >>> len(payload["points"]["indices"]), payload["meta"]["view"], list(payload["models"])
    (50, {'dims': [0, 1]}, ['ae'])
    """
    specs = {}
    for name, est in session.models.items():
        try:
            specs[name] = model_spec(est)
        except ConfigError as exc:
            raise ConfigError(f"model {name!r}: {exc}") from None
    meta = session.meta()
    first = next(iter(session.models))
    limit = max(1, min(int(max_points), meta["limits"]["max_points"]))
    points = session.codes(first, limit)  # indices and labels of the seeded subsample
    rows = np.asarray(points["indices"])
    x = session.dataset.x[rows].reshape(len(rows), -1)  # (m, n_features)
    meta["limits"]["max_points"] = limit
    if view is not None:
        meta["view"] = dict(view)
    return {
        "format": "aekit.explorer",
        "version": 1,
        "meta": meta,
        "presets": session.presets(),
        "models": specs,
        "points": {"indices": points["indices"], "labels": points["labels"], "x": _b64(x)},
    }


# -- helpers ---------------------------------------------------------------------------
def _check_supported(est):
    """The fitted model, if decoder.js can evaluate its networks: fully connected (aekit.nn.mlp) modules."""
    check_is_fitted(est, "model_")
    model = est.model_
    if not (isinstance(model.encoder, MLPEncoder) and isinstance(model.decoder, (MLPDecoder, TiedMLPDecoder))):
        own = own_networks(model.config)
        if own:
            raise ConfigError(
                f"your own {' and '.join(f'{k}={v!r}' for k, v in own.items())} cannot be mirrored "
                "in JavaScript for a standalone page; explore the model with the server "
                "(aekit explore MODEL --trust-code MODULE) instead"
            )
        arch = model.config.arch
        raise ConfigError(
            f"arch={arch!r} cannot be mirrored in JavaScript for a standalone page; supported: "
            f"{', '.join(SUPPORTED_ARCHS)} (tied or not); explore a {arch} model with the server "
            "(aekit explore MODEL) instead"
        )
    return model


# What decoder.js does after the encoder, by bottleneck class: the JavaScript mirrors these
# three implementations exactly, so a new bottleneck needs a mirror there before one here.
_BOTTLENECK_MIRRORS: dict[type, Callable[[Any], dict[str, Any]]] = {
    DeterministicBottleneck: lambda b: {"kind": "deterministic"},
    GaussianBottleneck: lambda b: {"kind": "gaussian", "logvar_range": list(LOGVAR_RANGE)},
    VQBottleneck: lambda b: {
        "kind": "vq",
        "token_dim": b.token_dim,
        "n_tokens": b.n_tokens,
        "codebook_size": b.codebook_size,
        "codebook": _b64(b.codebook),
    },
}


def _header(est, format_name: str) -> dict[str, Any]:
    config = est.model_.config
    return {
        "format": format_name,
        "version": SPEC_VERSION,
        "arch": config.arch,
        "kind": getattr(est, "kind_", None),
        "code_dim": int(config.code_dim),
        "input_shape": [int(s) for s in est.input_shape_],
        "n_features": int(config.n_features),
    }


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
    raise ConfigError(
        f"activation {type(module).__name__} cannot be mirrored in JavaScript; supported: {', '.join(ACTIVATIONS)}"
    )


def _network(net: MLPEncoder | MLPDecoder) -> dict[str, Any]:
    """``linear(x) + mlp(x)`` of an untied encoder or decoder (aekit.nn.mlp._LinearPlusMLP)."""
    linears = [m for m in net.mlp if isinstance(m, nn.Linear)]
    acts = [m for m in net.mlp if not isinstance(m, nn.Linear)]
    return {
        "mlp": [_layer(m.weight, m.bias) for m in linears],
        "linear": _layer(net.linear.weight, net.linear.bias) if net.linear is not None else None,
        "activation": _activation(acts[0] if acts else None),
    }


def _tied_network(decoder: TiedMLPDecoder) -> dict[str, Any]:
    """A tied decoder: the encoder's layers in reverse, each matrix used transposed, with its own biases."""
    encoder = decoder._encoder[0]
    layers = [m for m in encoder.mlp if isinstance(m, nn.Linear)][::-1]
    linear = None
    if encoder.linear is not None:
        linear = _layer(encoder.linear.weight, decoder.linear_bias, transpose=True)
    return {
        "mlp": [_layer(m.weight, b, transpose=True) for m, b in zip(layers, decoder.biases)],
        "linear": linear,
        "activation": _activation(decoder.act if len(layers) > 1 else None),
    }


def _preprocessing(est) -> dict[str, Any] | None:
    pre = est.preprocessing_
    if pre.shift is None:
        return None
    return {"method": pre.method, "shift": _b64(pre.shift), "scale": _b64(pre.scale)}
