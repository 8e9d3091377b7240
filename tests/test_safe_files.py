"""Safe files: loading a model or a data file never executes code from it, and a
tampered or truncated file gives a clear error.

- A pickle whose unpickling would create a marker file is planted where every
  model file should be (weights, config, history, metrics, detector, the training
  checkpoint, and .npy/.npz files dropped into the directory) and where data files
  are read; loading raises aekit's error (or ignores the stray file) and the marker
  never appears.
- A scan of the package source: no pickle, marshal, shelve or joblib loading,
  no ``torch.load`` without ``weights_only=True``, and every ``np.load`` passes
  ``allow_pickle=False`` explicitly.
- Tampering: every model file truncated at each tenth of its length, and bits
  flipped across it. safetensors carries no checksum, so ``config.json`` records
  the SHA-256 of the other files and loading verifies them (see ``aekit.io``);
  a directory saved before that record existed still loads.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import aekit
from aekit.errors import AekitError, DataError, ModelFileError, TrainingError

SRC = Path(aekit.__file__).parent
MODEL_FILES = ["model.safetensors", "config.json", "history.json", "metrics.json"]


class Payload:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def payloads(marker: Path) -> dict[str, bytes]:
    """The same attack in the shapes it takes in the wild."""
    npy = io.BytesIO()
    np.save(npy, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    npz = io.BytesIO()
    np.savez(npz, x=np.array([Payload(marker)], dtype=object))
    torch_file = io.BytesIO()
    torch.save({"weights": Payload(marker)}, torch_file)  # a zip archive with a pickle inside
    return {
        "pickle": pickle.dumps(Payload(marker)),
        "npy": npy.getvalue(),
        "npz": npz.getvalue(),
        "torch": torch_file.getvalue(),
    }


def test_the_payload_really_runs_when_unpickled(tmp_path):
    marker = tmp_path / "ran"
    pickle.loads(payloads(marker)["pickle"])  # noqa: S301 - proving the test's payload is live
    assert marker.exists()


@pytest.fixture(scope="module")
def detector_dir(tmp_path_factory):
    X = np.random.default_rng(0).normal(size=(60, 5)).astype(np.float32)
    det = aekit.AnomalyDetector(epochs=1).fit(X)
    return det.save(tmp_path_factory.mktemp("d") / "detector"), X


@pytest.fixture
def model_copy(detector_dir, tmp_path):
    return shutil.copytree(detector_dir[0], tmp_path / "model")


# -- planted pickles ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["pickle", "npy", "npz", "torch"])
@pytest.mark.parametrize("target", MODEL_FILES + ["detector.json"])
def test_a_pickle_planted_as_a_model_file_is_never_run(model_copy, tmp_path, target, kind):
    marker = tmp_path / "pwned"
    (model_copy / target).write_bytes(payloads(marker)[kind])
    loader = aekit.AnomalyDetector.load if target == "detector.json" else aekit.AutoEncoder.load
    with pytest.raises(ModelFileError) as info:
        loader(model_copy)
    assert target in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["preprocessing.npy", "weights.npz", "model.pt", "model.pkl", "state.pickle"])
def test_stray_pickles_in_the_model_directory_are_never_opened(model_copy, detector_dir, tmp_path, name):
    marker = tmp_path / "pwned"
    kind = {"npy": "npy", "npz": "npz", "pt": "torch"}.get(name.rsplit(".", 1)[1], "pickle")
    (model_copy / name).write_bytes(payloads(marker)[kind])
    det = aekit.AnomalyDetector.load(model_copy)
    assert np.array_equal(
        det.decision_function(detector_dir[1]),
        aekit.AnomalyDetector.load(detector_dir[0]).decision_function(detector_dir[1]),
    )
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["pickle", "npy", "npz", "torch"])
def test_a_pickle_planted_as_the_training_checkpoint_is_never_run(tmp_path, kind):
    marker = tmp_path / "pwned"
    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    (checkpoint / "checkpoint.safetensors").write_bytes(payloads(marker)[kind])
    X = np.random.default_rng(0).random((30, 4)).astype(np.float32)
    with pytest.raises(TrainingError, match="checkpoint .*checkpoint.safetensors is unreadable"):
        aekit.AutoEncoder(code_dim=2, epochs=2, checkpoint_dir=checkpoint, resume=True).fit(X)
    assert not marker.exists()


@pytest.mark.parametrize(
    "kind, name",
    [
        ("npy", "x.npy"),
        ("npz", "x.npz"),
        ("pickle", "x.npy"),
        ("torch", "x.npz"),
        ("pickle", "x-images-idx3-ubyte"),
        ("pickle", "x.csv"),
        ("pickle", "x.parquet"),
    ],
)
def test_a_pickle_planted_as_a_data_file_is_never_run(tmp_path, kind, name):
    marker = tmp_path / "pwned"
    path = tmp_path / name
    path.write_bytes(payloads(marker)[kind])
    with pytest.raises(DataError) as info:
        aekit.data.load(path)
    assert name in str(info.value)
    assert not marker.exists()


def test_an_object_array_inside_an_npz_is_refused_by_name(tmp_path):
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    np.savez(buffer, x=np.zeros((3, 2)), y=np.array([Payload(marker)] * 3, dtype=object))
    (tmp_path / "d.npz").write_bytes(buffer.getvalue())
    with pytest.raises(DataError, match=r"d.npz\[y.npy\] holds Python objects .* never unpickles"):
        aekit.data.load(tmp_path / "d.npz")
    assert not marker.exists()


# -- the source never loads pickles ----------------------------------------------------------------
def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            parts = []
            while isinstance(func, ast.Attribute):
                parts.append(func.attr)
                func = func.value
            if isinstance(func, ast.Name):
                parts.append(func.id)
            yield ".".join(reversed(parts)), node


def _keyword(node: ast.Call, name: str):
    for kw in node.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return "absent"


FORBIDDEN = (
    "pickle.load",
    "pickle.loads",
    "pickle.Unpickler",
    "cPickle.load",
    "marshal.load",
    "marshal.loads",
    "shelve.open",
    "joblib.load",
    "dill.load",
    "dill.loads",
    "pd.read_pickle",
    "pandas.read_pickle",
    "cloudpickle.load",
    "cloudpickle.loads",
)


def test_the_package_source_never_unpickles():
    problems, np_loads = [], 0
    for file in sorted(SRC.rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"), str(file))
        where = file.relative_to(SRC.parent)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                if any(
                    n and n.split(".")[0] in ("pickle", "cPickle", "dill", "shelve", "marshal", "cloudpickle")
                    for n in names
                ):
                    problems.append(f"{where}:{node.lineno} imports a pickle-like module")
        for name, node in _calls(tree):
            line = f"{where}:{node.lineno}: {name}"
            if name in FORBIDDEN or name.endswith((".read_pickle", "Unpickler")):
                problems.append(f"{line} unpickles")
            elif name == "torch.load" and _keyword(node, "weights_only") is not True:
                problems.append(f"{line} without weights_only=True")
            elif name in ("np.load", "numpy.load"):
                np_loads += 1
                if _keyword(node, "allow_pickle") is not False:
                    problems.append(f"{line} without an explicit allow_pickle=False")
            elif name.endswith("format.read_array") and _keyword(node, "allow_pickle") is not False:
                problems.append(f"{line} without an explicit allow_pickle=False")
    assert not problems, "\n".join(problems)
    assert np_loads >= 2  # the scan does see the readers' np.load calls


def test_the_scan_catches_what_it_should(tmp_path):
    bad = ast.parse(
        "import numpy as np, torch\nnp.load(p)\nnp.load(p, allow_pickle=True)\ntorch.load(f)\n"
        "torch.load(f, weights_only=True)\nnp.load(p, allow_pickle=False)\n"
    )
    flagged = [(name, _keyword(node, "allow_pickle"), _keyword(node, "weights_only")) for name, node in _calls(bad)]
    assert flagged == [
        ("np.load", "absent", "absent"),
        ("np.load", True, "absent"),
        ("torch.load", "absent", "absent"),
        ("torch.load", "absent", True),
        ("np.load", False, "absent"),
    ]


# -- tampering --------------------------------------------------------------------------------------
def _load_or_error(path: Path, X) -> str:
    """'error' for a clear aekit error; 'loaded' when it loads and still gives finite codes."""
    try:
        det = aekit.AnomalyDetector.load(path)
    except AekitError as exc:
        assert path.name in str(exc) or any(f in str(exc) for f in MODEL_FILES + ["detector.json"]), str(exc)
        return "error"
    assert np.isfinite(det.autoencoder_.transform(X)).all()
    return "loaded"


@pytest.mark.parametrize("target", MODEL_FILES + ["detector.json"])
def test_a_file_truncated_at_every_tenth_is_a_clear_error(model_copy, detector_dir, target):
    data = (model_copy / target).read_bytes()
    for tenth in range(10):
        (model_copy / target).write_bytes(data[: len(data) * tenth // 10])
        with pytest.raises(ModelFileError, match=target.replace(".", r"\.")):
            aekit.AnomalyDetector.load(model_copy)


def test_with_checksums_any_flipped_bit_in_weights_history_or_metrics_is_caught(model_copy, detector_dir):
    for target in ("model.safetensors", "history.json", "metrics.json"):
        data = (model_copy / target).read_bytes()
        for at in np.linspace(0, len(data) - 1, 25).astype(int):
            flipped = bytearray(data)
            flipped[at] ^= 1 << (at % 8)
            (model_copy / target).write_bytes(bytes(flipped))
            with pytest.raises(ModelFileError, match=target.replace(".", r"\.")):
                aekit.AnomalyDetector.load(model_copy)
        (model_copy / target).write_bytes(data)


def test_without_checksums_a_flip_in_the_float_data_still_loads(model_copy, detector_dir):
    """What safetensors alone guarantees: the structure. A directory saved before the
    SHA-256 record (emulated by deleting it) loads a flip inside the float data."""
    config = json.loads((model_copy / "config.json").read_text())
    del config["sha256"]
    (model_copy / "config.json").write_text(json.dumps(config))
    data = (model_copy / "model.safetensors").read_bytes()
    header_end = 8 + int.from_bytes(data[:8], "little")
    outcomes = []
    for at in np.linspace(0, len(data) - 1, 40).astype(int):
        flipped = bytearray(data)
        flipped[at] ^= 1 << 2  # a low mantissa bit inside float data: a still-valid float
        (model_copy / "model.safetensors").write_bytes(bytes(flipped))
        outcomes.append((at < header_end, _load_or_error(model_copy, detector_dir[1])))
    assert "loaded" in [o for in_header, o in outcomes if not in_header]  # no checksum to catch it
    assert all(o in ("error", "loaded") for _, o in outcomes)


def test_a_flipped_bit_anywhere_in_config_json_is_an_error_or_a_sane_load(model_copy, detector_dir):
    """config.json is not hashed (it is meant to be edited); every value is validated instead."""
    data = (model_copy / "config.json").read_bytes()
    seen = set()
    for at in np.linspace(0, len(data) - 1, 60).astype(int):
        flipped = bytearray(data)
        flipped[at] ^= 1 << (at % 7)
        (model_copy / "config.json").write_bytes(bytes(flipped))
        seen.add(_load_or_error(model_copy, detector_dir[1]))
    assert "error" in seen


def test_the_checksums_recorded_are_those_of_the_files(detector_dir):
    path = detector_dir[0]
    record = json.loads((path / "config.json").read_text())["sha256"]
    assert sorted(record) == ["history.json", "metrics.json", "model.safetensors"]
    for name, digest in record.items():
        assert hashlib.sha256((path / name).read_bytes()).hexdigest() == digest


def test_a_directory_without_checksums_loads_as_before(model_copy, detector_dir):
    config = json.loads((model_copy / "config.json").read_text())
    del config["sha256"]
    (model_copy / "config.json").write_text(json.dumps(config))
    X = detector_dir[1]
    again = aekit.AnomalyDetector.load(model_copy)
    assert np.array_equal(again.decision_function(X), aekit.AnomalyDetector.load(detector_dir[0]).decision_function(X))


def test_a_malformed_checksum_record_is_named(model_copy):
    config = json.loads((model_copy / "config.json").read_text())
    config["sha256"] = {"model.safetensors": 5}
    (model_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="sha256 record must map file names to 64 hex digits"):
        aekit.AutoEncoder.load(model_copy)


def test_safetensors_headers_that_lie_are_clear_errors(model_copy):
    """Header length 2**63 and 2**64 - 1, zero, not JSON, offsets past the end: refused
    before anything is allocated (the checksum record is removed so the structural
    checks themselves are what is tested)."""
    config = json.loads((model_copy / "config.json").read_text())
    del config["sha256"]
    (model_copy / "config.json").write_text(json.dumps(config))
    data = (model_copy / "model.safetensors").read_bytes()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    name = next(k for k in header if k != "__metadata__")
    lies = [
        (2**63).to_bytes(8, "little") + data[8:],
        (2**64 - 1).to_bytes(8, "little") + data[8:],
        bytes(8) + data[8:],
        (4).to_bytes(8, "little") + b"{{{{",
    ]
    for change in ({"data_offsets": [0, 10**12]}, {"shape": [10**9, 10**9]}, {"dtype": "I64"}):
        edited = json.loads(data[8 : 8 + length])
        edited[name].update(change)
        text = json.dumps(edited).encode()
        lies.append(len(text).to_bytes(8, "little") + text + data[8 + length :])
    for raw in lies:
        (model_copy / "model.safetensors").write_bytes(raw)
        with pytest.raises(ModelFileError, match=r"model\.safetensors"):
            aekit.AutoEncoder.load(model_copy)


def test_an_npz_zip_bomb_member_is_refused_before_it_is_inflated(tmp_path):
    # A member declaring 8 GB of float64 but holding a few bytes: refused from its header.
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**9, 1)}
    text = repr(header).encode("latin-1")
    text += b" " * ((-(10 + len(text) + 1)) % 64) + b"\n"
    member = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + bytes(64)
    with zipfile.ZipFile(tmp_path / "b.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", member)
    with pytest.raises(DataError, match=r"b\.npz\[x\.npy\]: truncated \.npy file"):
        aekit.data.load(tmp_path / "b.npz")


@pytest.mark.parametrize("edit", ["deep", "huge-threshold", "nan-precision"])
def test_a_tampered_detector_json_is_a_clear_error(model_copy, detector_dir, edit):
    state = json.loads((model_copy / "detector.json").read_text())
    if edit == "deep":
        text = "[" * 100_000 + "]" * 100_000
    elif edit == "huge-threshold":
        text = json.dumps({**state, "threshold": 10**400})
    else:
        member = state["members"][0]
        k = len(member["code_location"])
        text = json.dumps({**state, "members": [{**member, "code_precision": [[float("nan")] * k] * k}]})
    (model_copy / "detector.json").write_text(text)
    with pytest.raises(ModelFileError, match="detector.json"):
        aekit.AnomalyDetector.load(model_copy)
