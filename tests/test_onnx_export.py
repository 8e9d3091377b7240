"""``aekit export --format onnx``: ONNX Runtime gives what PyTorch gives, for any batch size.

Each case trains a tiny model, saves it, exports the directory (with unpickling
made impossible) and runs the graphs in ONNX Runtime beside the estimator's own
``transform``, ``inverse_transform`` and ``reconstruction_error``. Without onnx,
onnxscript or onnxruntime the tests skip on a developer machine and fail when
``CI`` is set (the dev extra installs them).
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import sys
from unittest import mock

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import aekit
from aekit.cli import main
from aekit.errors import ConfigError
from aekit.estimators import onnx as onnx_export

PACKAGES = ("onnx", "onnxscript", "onnxruntime")

# name -> (data, estimator options): every bottleneck, both architectures, scaled and unscaled input.
CASES = {
    "mlp": ("digits", dict(code_dim=6)),
    "conv": ("digits", dict(code_dim=6, arch="conv", channels=(8, 16))),
    "vae": ("digits", dict(code_dim=4, variant="vae")),
    "vq": ("digits", dict(code_dim=8, variant="vq", arch="conv", channels=(8, 16), codebook_size=16)),
    "table": ("table", dict(code_dim=2)),  # standardised columns, a category, missing cells
}


def _require():
    for name in PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError:
            if os.environ.get("CI"):
                pytest.fail(f"{name} is required in CI for the ONNX export tests (pip install -e '.[dev]')")
            pytest.skip(f"{name} is not installed (pip install aekit[onnx])")
    return importlib.import_module("onnxruntime")


def _data(kind):
    if kind == "digits":
        return aekit.data.load("builtin:digits", limit=240).x  # (240, 1, 8, 8) in [0, 1]
    import pandas as pd

    rng = np.random.default_rng(0)
    t = rng.normal(size=200)
    frame = pd.DataFrame(
        {
            "size": 40 + 10 * t + rng.normal(size=200),
            "weight": 3 * t + 100,
            "colour": np.where(t > 0.5, "red", np.where(t < -0.5, "blue", "green")),
        }
    )
    frame.loc[::9, "size"] = np.nan
    return frame


def _refuse(*args, **kwargs):
    raise AssertionError("the export unpickled something")


@pytest.fixture(scope="module", params=list(CASES))
def exported(request, tmp_path_factory):
    """(estimator as loaded, export paths, samples in the user's units, the frame or None)."""
    ort = _require()
    kind, options = CASES[request.param]
    data = _data(kind)
    torch.manual_seed(0)
    est = aekit.AutoEncoder(epochs=3, batch_size=64, **options).fit(data)
    model_dir = est.save(tmp_path_factory.mktemp(request.param) / "model")
    # From the directory, as the CLI does: AutoEncoder.load reads JSON and safetensors only.
    with (
        mock.patch.object(pickle, "load", _refuse),
        mock.patch.object(pickle, "loads", _refuse),
        mock.patch.object(torch, "load", _refuse),
    ):
        paths = onnx_export.export_onnx(model_dir, model_dir / "onnx")
    loaded = aekit.AutoEncoder.load(model_dir)
    frame = data if kind == "table" else None
    x = loaded.schema_.encode(frame) if frame is not None else data  # the graphs' input
    sessions = {
        name: ort.InferenceSession(str(paths[name]), providers=["CPUExecutionProvider"]) for name in onnx_export.GRAPHS
    }
    return loaded, paths, sessions, x, frame


def _assert_close(actual, expected):
    """Within 1e-5 of the reference's range: float32 kernels differ in summation order only."""
    tol = 1e-5 * max(float(np.ptp(expected)), 1e-3)
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= tol, (np.abs(actual - expected).max(), tol)


@pytest.mark.parametrize("batch", [1, 7])
def test_onnx_runtime_matches_pytorch_for_any_batch_size(exported, batch):
    est, _, sessions, x, frame = exported
    rows = slice(3, 3 + batch)
    xb = x[rows]
    reference = frame.iloc[rows] if frame is not None else xb  # what a user passes the estimator

    outputs = sessions["encoder"].run(None, {"x": xb})
    code = est.transform(reference)  # (batch, code_dim): the VAE's mean, the VQ's quantised vector
    _assert_close(outputs[0], code)
    if est.model_.config.bottleneck == "vq":
        assert np.array_equal(outputs[1], est.encode_indices(reference))
    else:
        assert len(outputs) == 1

    (x_hat,) = sessions["decoder"].run(None, {"code": code})
    _assert_close(x_hat, est.inverse_transform(code).reshape(x_hat.shape))
    (error,) = sessions["scorer"].run(None, {"x": xb})
    _assert_close(error, est.reconstruction_error(reference).astype(np.float32))


def test_export_json_and_onnx_metadata_describe_the_graphs(exported):
    import onnx

    est, paths, sessions, x, _ = exported
    cfg = est.model_.config
    meta = json.loads(paths["metadata"].read_text())
    assert meta["format"] == "onnx" and meta["variant"] == cfg.variant and meta["code_dim"] == cfg.code_dim
    assert meta["input_shape"] == list(cfg.input_shape) and meta["opset"] >= onnx_export.MIN_OPSET
    graphs = meta["graphs"]
    assert graphs["encoder"]["inputs"] == [{"name": "x", "shape": ["batch", *cfg.input_shape], "dtype": "float32"}]
    assert graphs["decoder"]["outputs"][0]["shape"] == ["batch", *cfg.input_shape]
    assert [o["name"] for o in graphs["encoder"]["outputs"]] == (
        ["code", "indices"] if cfg.bottleneck == "vq" else ["code"]
    )
    for name in onnx_export.GRAPHS:
        assert (paths["metadata"].parent / graphs[name]["file"]).is_file()
        # The declared names and shapes are the session's, batch axis symbolic.
        got = [(i.name, i.shape) for i in sessions[name].get_inputs() + sessions[name].get_outputs()]
        want = [(i["name"], i["shape"]) for i in graphs[name]["inputs"] + graphs[name]["outputs"]]
        assert got == want
        props = {p.key: p.value for p in onnx.load(paths[name]).metadata_props}
        assert props["aekit.graph"] == name and props["aekit.code_dim"] == str(cfg.code_dim)
    if est.preprocessing_.shift is not None:  # the table: scaling is inside the graphs
        assert "inside the graphs" in meta["units"]
        assert meta["columns"] == ["size", "weight", "colour=blue", "colour=green", "colour=red"]
        assert meta["missing_values"].startswith("NaN cells")
    assert sorted(p.name for p in paths["metadata"].parent.iterdir()) == [
        "decoder.onnx",
        "encoder.onnx",
        "export.json",
        "scorer.onnx",
    ]  # no temporary files left


def _cli(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result.output


def test_cli_writes_the_graphs_into_the_model_directory_and_checks_them(tmp_path):
    _require()
    x = np.random.default_rng(0).random((80, 5)).astype(np.float32)
    model_dir = aekit.AutoEncoder(code_dim=2, epochs=1).fit(x).save(tmp_path / "m")
    out = _cli("export", model_dir, "--format", "onnx")
    for name in ("encoder.onnx", "decoder.onnx", "scorer.onnx", "export.json"):
        assert (model_dir / "onnx" / name).is_file() and f"wrote {model_dir / 'onnx' / name}" in out
    assert "ONNX Runtime vs PyTorch on 16 random inputs" in out
    worst = max(float(part.split()[1]) for part in out.rsplit(": ", 1)[1].split(", "))
    assert worst < 1e-5


def test_cli_help_has_an_example():
    out = _cli("export", "--help")
    assert "Example:" in out and "aekit export digits-model --format onnx" in out


def test_unknown_format_is_refused_before_anything_is_written(tmp_path):
    out = _cli("export", tmp_path / "no-model", "--format", "tflite", ok=False)
    assert "format='tflite' is not one of: onnx" in out
    assert not (tmp_path / "no-model").exists()


def test_bad_opset_and_missing_model_name_the_value(tmp_path):
    _require()
    est = aekit.AutoEncoder(code_dim=2, epochs=1).fit(np.random.default_rng(0).random((40, 4)))
    with pytest.raises(ConfigError, match=r"opset=7 must be an integer from 18 to \d+"):
        onnx_export.export_onnx(est, tmp_path / "out", opset=7)
    out = _cli("export", tmp_path / "nowhere", ok=False)
    assert "nowhere" in out and "aekit: error:" in out


def test_missing_exporter_package_says_how_to_install_it(tmp_path, monkeypatch):
    est = aekit.AutoEncoder(code_dim=2, epochs=1).fit(np.random.default_rng(0).random((40, 4)))
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now fails, installed or not
    with pytest.raises(ConfigError, match=r"needs the onnx package .*pip install aekit\[onnx\]"):
        onnx_export.export_onnx(est, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_failed_export_leaves_no_partial_files(tmp_path, monkeypatch):
    _require()
    est = aekit.AutoEncoder(code_dim=2, epochs=1).fit(np.random.default_rng(0).random((40, 4)))
    calls = []

    def fail_on_the_decoder(graph, *args, **kwargs):
        calls.append(type(graph).__name__)
        if len(calls) == 2:
            raise RuntimeError("exporter crashed")
        return b"encoder bytes"

    monkeypatch.setattr(onnx_export, "_export", fail_on_the_decoder)
    with pytest.raises(RuntimeError, match="exporter crashed"):
        onnx_export.export_onnx(est, tmp_path / "out")
    # The encoder was complete when written; nothing else is there, export.json least of all.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["encoder.onnx"]
    assert est.model_.training is False
