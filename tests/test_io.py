"""The model directory: identical outputs after a round trip, and a clear error
naming the file for every missing, truncated, tampered or mismatched piece.
Nothing is ever unpickled."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

import aekit
from aekit.errors import ModelFileError
from aekit.io import model_dir as io


@pytest.fixture
def saved(images, tmp_path):
    est = aekit.AutoEncoder(code_dim=3, epochs=2, batch_size=32).fit(images)
    path = est.save(tmp_path / "model", metrics={"mse": 1.0})
    return est, path


def test_round_trip_gives_identical_outputs(saved, images):
    est, path = saved
    again = aekit.load(path)
    assert np.array_equal(again.transform(images), est.transform(images))
    assert np.array_equal(again.reconstruct(images), est.reconstruct(images))
    assert np.array_equal(again.pca_.components_, est.pca_.components_)
    assert again.history_ == est.history_ and again.metrics_ == {"mse": 1.0}
    assert again.get_params()["code_dim"] == 3
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json",
        "history.json",
        "metrics.json",
        "model.safetensors",
    ]


def test_round_trip_of_a_table_model_keeps_its_scaling(table, tmp_path):
    est = aekit.AutoEncoder(code_dim=3, epochs=2).fit(table)
    again = aekit.load(est.save(tmp_path / "t"))
    assert np.array_equal(again.reconstruct(table), est.reconstruct(table))
    assert again.preprocessing_.method == "standard"


def test_missing_directory(tmp_path):
    with pytest.raises(ModelFileError, match=r"model directory .*nowhere does not exist"):
        aekit.load(tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["config.json", "model.safetensors"])
def test_missing_file_is_named(saved, name):
    _, path = saved
    (path / name).unlink()
    with pytest.raises(ModelFileError, match=rf"{name} is missing"):
        aekit.load(path)


def test_truncated_weights_are_named(saved):
    _, path = saved
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"model.safetensors is truncated or not a safetensors file"):
        aekit.load(path)


def test_truncated_config_is_named(saved):
    _, path = saved
    text = (path / "config.json").read_text()
    (path / "config.json").write_text(text[: len(text) // 2])
    with pytest.raises(ModelFileError, match=r"config.json is not valid JSON"):
        aekit.load(path)


def test_config_that_does_not_match_the_weights(saved):
    _, path = saved
    config = json.loads((path / "config.json").read_text())
    config["model"]["code_dim"] = 5
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=r"model.safetensors: tensor '.*' has shape .* config.json implies"):
        aekit.load(path)


def test_unknown_config_option_is_named(saved):
    _, path = saved
    config = json.loads((path / "config.json").read_text())
    config["model"]["depth"] = 3
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=r"unknown ModelConfig option\(s\) \['depth'\]"):
        aekit.load(path)


class _Payload:
    """Unpickling this runs os.system: proof that a file was (or was not) unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("target", ["model.safetensors", "config.json", "history.json"])
def test_planted_pickle_is_never_run(saved, tmp_path, target):
    _, path = saved
    marker = tmp_path / "pwned"
    (path / target).write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ModelFileError):
        aekit.load(path)
    assert not marker.exists()


def test_failed_save_leaves_no_partial_file(saved, monkeypatch):
    est, path = saved
    before = {p.name: p.read_bytes() for p in path.iterdir()}

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io, "atomic_write_text", broken)
    with pytest.raises(ModelFileError, match="cannot write the model directory .*No space left on device"):
        est.save(path)
    after = {p.name: p.read_bytes() for p in path.iterdir()}
    assert set(after) == set(before) - {"config.json"}  # no temporary files left behind
    # config.json is the commit mark, removed first and written last: the directory now says it is
    # incomplete instead of pairing the old config with whatever new files were written.
    with pytest.raises(ModelFileError, match="config.json is missing.*a save that was interrupted"):
        aekit.AutoEncoder.load(path)
