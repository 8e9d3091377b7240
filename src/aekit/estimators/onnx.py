"""Export a fitted autoencoder as ONNX graphs, for ONNX Runtime and other runtimes.

``export_onnx(model, out_dir)`` writes three graphs and a description of them:

==============  ======================================  =======================================
file            input                                   output
==============  ======================================  =======================================
encoder.onnx    ``x`` (batch, *input_shape) float32     ``code`` (batch, code_dim) float32;
                                                        VQ also ``indices`` (batch, n_tokens) int64
decoder.onnx    ``code`` (batch, code_dim) float32      ``x_hat`` (batch, *input_shape) float32
scorer.onnx     ``x`` (batch, *input_shape) float32     ``error`` (batch,) float32
export.json     what the table above says, for this model, plus variant, code_dim, opset, units
==============  ======================================  =======================================

The batch axis is dynamic (any size, 1 included); the other axes are fixed.

Units: the graphs take and return data in the user's units, the same arrays that
:meth:`~aekit.AutoEncoder.transform`, :meth:`~aekit.AutoEncoder.inverse_transform`
and :meth:`~aekit.AutoEncoder.reconstruction_error` take and return. The model's
input scaling is per-feature affine (``(x - shift) / scale``, identity for images),
so it is baked into the graphs at the cost of two elementwise ops, rather than left
for every deployment to reimplement from ``config.json``. ``error`` is, as
``reconstruction_error``, the mean squared error per sample in the scaled space
the model sees (the reconstruction term of an :class:`~aekit.AnomalyDetector`, not
its full score). A model fitted on a named table takes its encoded columns (numbers,
categories one-hot, missing cells NaN: ``est.schema_.encode(frame)``), not raw text;
``export.json`` lists them.

The code is deterministic, as ``transform``'s: a VAE's posterior mean, a VQ model's
quantised vector (with the codebook indices as a second output). The decoder
clips to the data's range where ``model.decode`` does (images in [0, 1]).

Graphs are written by ``torch.onnx.export(dynamo=True)``, the exporter PyTorch
supports (it needs ``onnxscript``); the TorchScript exporter is deprecated and warns
that it will be removed. Each graph wraps the model in a small module without side
effects (the VQ bottleneck's forward records its last batch for the loss terms,
which ``torch.export`` refuses). Every file is written atomically, and
``export.json`` last: when it is there, the graphs beside it are complete.
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from aekit._atomic import atomic_write_bytes, atomic_write_text
from aekit._version import __version__
from aekit.errors import ConfigError
from aekit.nn.vq import _nearest

FORMATS = ("onnx",)
#: The lowest opset the dynamo exporter writes (it converts down only with losses).
MIN_OPSET = 18
GRAPHS = ("encoder", "decoder", "scorer")
METADATA = "export.json"
INSTALL_HINT = "pip install aekit[onnx]"


def check_format(format: str) -> str:
    """Validate an export format name; only ``"onnx"`` exists.

    Examples
    --------
    >>> check_format("onnx")
    'onnx'
    >>> check_format("tflite")
    Traceback (most recent call last):
    ...
    aekit.errors.ConfigError: format='tflite' is not one of: onnx
    """
    if format not in FORMATS:
        raise ConfigError(f"format={format!r} is not one of: {', '.join(FORMATS)}")
    return format


class _Graph(nn.Module):
    """The model between the user's units and its code; ``forward`` is set by the subclasses.

    Side-effect free (no bottleneck state written), so ``torch.export`` can trace it.
    """

    def __init__(self, model: nn.Module, preprocessing: Any):
        super().__init__()
        self.model = model
        cfg = model.config
        shape = (1, *cfg.input_shape)
        identity = preprocessing is None or preprocessing.shift is None
        shift = np.zeros(cfg.n_features, np.float32) if identity else preprocessing.shift
        scale = np.ones(cfg.n_features, np.float32) if identity else preprocessing.scale
        self.scaled = not identity
        self.register_buffer("shift", torch.as_tensor(shift, dtype=torch.float32).reshape(shape))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32).reshape(shape))

    def to_model(self, x: torch.Tensor) -> torch.Tensor:
        """User units -> the model's input, as ``Preprocessing.transform``."""
        return (x - self.shift) / self.scale if self.scaled else x

    def to_user(self, x_hat: torch.Tensor) -> torch.Tensor:
        """The model's output -> user units, as ``Preprocessing.inverse_transform``."""
        return x_hat * self.scale + self.shift if self.scaled else x_hat

    def code(self, xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The deterministic code (batch, code_dim) of scaled input, and VQ indices (batch, n_tokens)."""
        model = self.model
        if not model.capabilities.has_indices:
            return model.encode(xs, sample=False).mean, None
        if model.config.missing:
            xs = torch.nan_to_num(xs, nan=0.0)
        vq = model.bottleneck
        h = model.encoder(xs).float()  # (batch, code_dim)
        flat = _nearest(h.reshape(-1, vq.token_dim), vq.codebook)[1]  # (batch * n_tokens,)
        q = vq.codebook[flat].reshape(h.shape[0], vq.code_dim)
        return q, flat.reshape(h.shape[0], vq.n_tokens)


class _Encoder(_Graph):
    def forward(self, x):
        code, indices = self.code(self.to_model(x))
        return code if indices is None else (code, indices)


class _Decoder(_Graph):
    def forward(self, code):
        return self.to_user(self.model.decode(code))


class _Scorer(_Graph):
    def forward(self, x):
        """As ``Autoencoder.reconstruction_error`` on scaled input, missing cells (NaN) skipped."""
        xs = self.to_model(x)
        x_hat = self.model.decode(self.code(xs)[0])
        if not self.model.config.missing:
            return (x_hat - xs).pow(2).flatten(1).mean(1)
        observed = ~torch.isnan(xs)
        squared = (x_hat - torch.nan_to_num(xs, nan=0.0)).pow(2) * observed
        return squared.flatten(1).sum(1) / observed.flatten(1).sum(1).clamp_min(1)


def _require_exporter() -> None:
    for name in ("onnx", "onnxscript"):
        try:
            __import__(name)
        except ImportError as exc:
            raise ConfigError(f"exporting to ONNX needs the {name} package ({exc}): {INSTALL_HINT}") from None


def _as_estimator(model_or_path: Any, trust_code: Any = None):
    """An AutoEncoder from a model directory (loaded without unpickling), an
    AutoEncoder, or an AnomalyDetector (its autoencoder)."""
    if isinstance(model_or_path, (str, os.PathLike)):
        from aekit.estimators.autoencoder import AutoEncoder

        return AutoEncoder.load(model_or_path, trust_code=trust_code)
    est = getattr(model_or_path, "autoencoder_", model_or_path)
    if getattr(est, "model_", None) is None:
        raise ConfigError(f"export needs a fitted AutoEncoder or a model directory, got {type(model_or_path).__name__}")
    return est


def _export(
    graph: _Graph, example: torch.Tensor, in_name: str, out_names: list[str], opset: int | None, props: dict[str, str]
) -> bytes:
    """One graph as serialised ONNX bytes, batch axis dynamic."""
    import onnx

    batch = torch.export.Dim("batch", min=1)
    registry_log = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registry_log.level
    registry_log.setLevel(logging.ERROR)  # "torchvision is not installed": aekit exports none of its ops
    try:
        with warnings.catch_warnings():
            # torch.export's own deprecation notices are for PyTorch's developers, not aekit's users.
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            program = torch.onnx.export(
                graph.eval(),
                (example,),
                dynamo=True,
                input_names=[in_name],
                output_names=out_names,
                dynamic_shapes=({0: batch},),
                opset_version=opset,
                optimize=True,
                verbose=False,
            )
    finally:
        registry_log.setLevel(level)
    proto = program.model_proto
    proto.doc_string = props.pop("aekit.doc")
    onnx.helper.set_model_props(proto, props)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def _io(name: str, shape: tuple, dtype: str) -> dict[str, Any]:
    return {"name": name, "shape": ["batch", *shape], "dtype": dtype}


def export_onnx(
    model_or_path: Any, out_dir: str | os.PathLike, *, opset: int | None = None, trust_code: Any = None
) -> dict[str, Path]:
    """Write ``encoder.onnx``, ``decoder.onnx``, ``scorer.onnx`` and ``export.json`` to ``out_dir``.

    Parameters
    ----------
    model_or_path : AutoEncoder, AnomalyDetector or path
        A fitted estimator or a model directory (read by ``AutoEncoder.load``: nothing
        is unpickled).
    out_dir : path
        Created if needed; files already there with the same names are replaced.
    opset : int, optional
        ONNX opset, at least 18; default the exporter's.
    trust_code : list of str, optional
        For a model directory with its own networks: the modules they may be imported
        from (see ``aekit.load``).

    Returns
    -------
    dict
        ``{"encoder", "decoder", "scorer", "metadata"}`` -> paths written.

    Shapes (batch any size): encoder ``x`` (batch, *input_shape) -> ``code``
    (batch, code_dim) [+ ``indices`` (batch, n_tokens) int64 for VQ]; decoder
    ``code`` -> ``x_hat`` (batch, *input_shape); scorer ``x`` -> ``error`` (batch,).
    Inputs and outputs are in the user's units (scaling is inside the graphs), so
    they equal ``transform``, ``inverse_transform`` and ``reconstruction_error``.

    Examples
    --------
    >>> import tempfile, onnxruntime as ort, aekit
    >>> X = np.random.default_rng(0).random((64, 6)).astype(np.float32)
    >>> ae = aekit.AutoEncoder(code_dim=2, epochs=1).fit(X)
    >>> paths = export_onnx(ae, tempfile.mkdtemp())
    >>> encoder = ort.InferenceSession(str(paths["encoder"]))
    >>> code = encoder.run(None, {"x": X[:5]})[0]           # (5, 2)
    >>> bool(np.allclose(code, ae.transform(X[:5]), atol=1e-5))
    True
    """
    est = _as_estimator(model_or_path, trust_code)
    _require_exporter()
    if opset is not None:
        import onnx.defs

        newest = onnx.defs.onnx_opset_version()
        if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
            raise ConfigError(f"opset={opset!r} must be an integer from {MIN_OPSET} to {newest}")
    model, prep = est.model_, est.preprocessing_
    cfg = model.config
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)

    vq = model.capabilities.has_indices
    shape = tuple(cfg.input_shape)
    units = (
        "the user's units: (x - shift) / scale from config.json is inside the graphs"
        if prep.shift is not None
        else "the user's units (this model does not rescale its input)"
    )
    encoder_out = [_io("code", (cfg.code_dim,), "float32")]
    if vq:
        encoder_out.append(_io("indices", (model.bottleneck.n_tokens,), "int64"))
    spec = {
        "encoder": (
            [_io("x", shape, "float32")],
            encoder_out,
            _Encoder,
            "x (batch, *input_shape) -> deterministic code (VAE mean, VQ quantised vector)",
        ),
        "decoder": (
            [_io("code", (cfg.code_dim,), "float32")],
            [_io("x_hat", shape, "float32")],
            _Decoder,
            "code (batch, code_dim) -> x_hat (batch, *input_shape), as inverse_transform",
        ),
        "scorer": (
            [_io("x", shape, "float32")],
            [_io("error", (), "float32")],
            _Scorer,
            "x -> mean squared reconstruction error per sample in the scaled space, as reconstruction_error",
        ),
    }
    was_training = model.training
    paths: dict[str, Path] = {}
    try:
        model.eval()
        gen = torch.Generator().manual_seed(0)
        for name, (inputs, outputs, cls, doc) in spec.items():
            example = torch.rand(2, *inputs[0]["shape"][1:], generator=gen)
            props = {
                "aekit.graph": name,
                "aekit.variant": cfg.variant,
                "aekit.code_dim": str(cfg.code_dim),
                "aekit.input_shape": json.dumps(list(shape)),
                "aekit.units": units,
                "aekit.version": __version__,
                "aekit.doc": f"aekit {cfg.variant} {cfg.arch} {name}: {doc}",
            }
            data = _export(cls(model, prep), example, inputs[0]["name"], [o["name"] for o in outputs], opset, props)
            paths[name] = out / f"{name}.onnx"
            atomic_write_bytes(paths[name], data)
    finally:
        model.train(was_training)

    import onnx

    written_opset = max(o.version for o in onnx.load(paths["encoder"]).opset_import if o.domain in ("", "ai.onnx"))
    columns = est.data_.get("columns") if isinstance(getattr(est, "data_", None), dict) else None
    schema = getattr(est, "schema_", None)
    meta = {
        "format": "onnx",
        "aekit_version": __version__,
        "torch_version": torch.__version__,
        "exporter": "torch.onnx.export(dynamo=True)",
        "opset": written_opset,
        "variant": cfg.variant,
        "arch": cfg.arch,
        "bottleneck": cfg.bottleneck,
        "code_dim": cfg.code_dim,
        "input_shape": list(shape),
        "n_features": math.prod(shape),
        "output_range": list(cfg.output_range) if cfg.output_range is not None else None,
        "units": units,
        "preprocessing": prep.to_dict(),
        "missing_values": (
            "NaN cells are read as missing (encoded as the column mean, not scored)"
            if cfg.missing
            else "inputs must be finite"
        ),
        # One name per input feature: a named table's encoded columns ("colour=red" one-hot).
        "columns": schema.feature_names() if schema is not None else columns,
        "graphs": {
            name: {"file": paths[name].name, "inputs": spec[name][0], "outputs": spec[name][1], "what": spec[name][3]}
            for name in GRAPHS
        },
    }
    paths["metadata"] = out / METADATA
    atomic_write_text(paths["metadata"], json.dumps(meta, indent=1) + "\n")
    return paths


def check_onnx(
    model_or_path: Any, paths: dict[str, Path], x: np.ndarray | None = None, seed: int = 0, trust_code: Any = None
) -> dict[str, float]:
    """Run the exported graphs in ONNX Runtime and return the largest absolute
    difference to PyTorch's ``transform`` / ``inverse_transform`` /
    ``reconstruction_error`` for each graph (and the share of VQ indices that differ).

    ``x`` (n, *input_shape) defaults to 16 random samples spread like the training
    data (uniform in the images' range, shift + scale * N(0, 1) for scaled columns).
    """
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ConfigError(f"checking the export needs onnxruntime ({exc}): {INSTALL_HINT}") from None
    est = _as_estimator(model_or_path, trust_code)
    cfg, prep = est.model_.config, est.preprocessing_
    if x is None:
        rng = np.random.default_rng(seed)
        if prep.shift is not None:
            x = prep.shift + prep.scale * rng.normal(size=(16, cfg.n_features))
        else:
            low, high = cfg.output_range or (0.0, 1.0)
            x = rng.uniform(low, high, size=(16, cfg.n_features))
    x = np.asarray(x, dtype=np.float32).reshape(-1, *cfg.input_shape)

    def run(name: str, feed: np.ndarray) -> list[np.ndarray]:
        session = ort.InferenceSession(str(paths[name]), providers=["CPUExecutionProvider"])
        return session.run(None, {session.get_inputs()[0].name: feed})

    encoded = run("encoder", x)
    code = est.transform(x)
    diffs = {"encoder": float(np.abs(encoded[0] - code).max())}
    if len(encoded) > 1:
        diffs["indices_mismatch"] = float((encoded[1] != est.encode_indices(x)).mean())
    diffs["decoder"] = float(np.abs(run("decoder", code)[0] - est.inverse_transform(code).reshape(x.shape)).max())
    diffs["scorer"] = float(np.abs(run("scorer", x)[0] - est.reconstruction_error(x)).max())
    return diffs
