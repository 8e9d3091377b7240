"""Every CLI command end to end on tiny data, --help with an example, and bad input
that leaves no partial output behind."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from aekit.cli import main

COMMANDS = sorted(main.commands)  # every registered command, so a new one cannot miss the checks below


def run(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "model"
    run("fit", "builtin:digits", "-o", path, "--code-dim", "4", "--epochs", "2", "--quiet", "--limit", "400")
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_an_example(command):
    out = run(command, "--help").output
    assert "Example:" in out and f"aekit {command}" in out


def test_fit_writes_a_model_directory_and_prints_pca(tmp_path):
    out = run(
        "fit", "builtin:digits", "-o", tmp_path / "m", "--code-dim", "4", "--epochs", "2", "--quiet", "--limit", "300"
    ).output
    assert "autoencoder MSE" in out and "PCA-4 MSE" in out
    names = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert names == ["config.json", "history.json", "metrics.json", "model.safetensors"]  # checkpoint removed
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["n_samples"] == 60 and metrics["pca_mse"] > 0


def test_fit_reads_a_toml_config(tmp_path):
    cfg = tmp_path / "f.toml"
    cfg.write_text("[model]\ncode_dim = 3\nhidden = [16]\n[train]\nepochs = 1\nbatch_size = 50\n")
    run("fit", "builtin:digits", "-o", tmp_path / "m", "--config", cfg, "--quiet", "--limit", "100")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["model"]["code_dim"] == 3 and config["model"]["hidden"] == [16]
    assert config["train"]["batch_size"] == 50


def test_fit_unknown_toml_option_is_named(tmp_path):
    cfg = tmp_path / "f.toml"
    cfg.write_text("[model]\ndepth = 3\n")
    result = run("fit", "builtin:digits", "-o", tmp_path / "m", "--config", cfg, ok=False)
    assert result.exit_code == 1 and "depth" in result.output


def test_fit_resume_continues_from_the_checkpoint(tmp_path, monkeypatch):
    from aekit import train as train_module

    calls = {"n": 0}
    original = train_module.Trainer._train_epoch

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(train_module.Trainer, "_train_epoch", flaky)
    args = [
        "fit",
        "builtin:digits",
        "-o",
        tmp_path / "m",
        "--code-dim",
        "4",
        "--epochs",
        "4",
        "--quiet",
        "--limit",
        "200",
    ]
    result = run(*args, ok=False)
    assert result.exit_code == 130
    assert "finished epochs (1-2) are saved" in result.output and "--resume" in result.output
    assert (tmp_path / "m" / "checkpoint" / "checkpoint.safetensors").exists()
    monkeypatch.setattr(train_module.Trainer, "_train_epoch", original)
    run(*args, "--resume")
    history = json.loads((tmp_path / "m" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    reference = list(args)
    reference[3] = tmp_path / "ref"  # same options, never interrupted
    run(*reference)
    from aekit import load
    from aekit.data import load as load_data

    x = load_data("builtin:digits", limit=50).x
    assert np.array_equal(load(tmp_path / "m").transform(x), load(tmp_path / "ref").transform(x))


def test_encode_decode_reconstruct_evaluate(model_dir, tmp_path):
    run("encode", model_dir, "builtin:digits", "-o", tmp_path / "codes.npy")
    codes = np.load(tmp_path / "codes.npy")
    assert codes.shape == (1797, 4)
    run("encode", model_dir, "builtin:digits", "-o", tmp_path / "codes.csv")
    header = (tmp_path / "codes.csv").read_text().splitlines()[0]
    assert header == "z0,z1,z2,z3"
    np.testing.assert_allclose(np.loadtxt(tmp_path / "codes.csv", delimiter=",", skiprows=1), codes, rtol=1e-5)

    run("decode", model_dir, tmp_path / "codes.npy", "-o", tmp_path / "decoded.npy")
    assert np.load(tmp_path / "decoded.npy").shape == (1797, 1, 8, 8)
    run("decode", model_dir, tmp_path / "codes.csv", "-o", tmp_path / "decoded.png")
    assert Image.open(tmp_path / "decoded.png").size[0] > 100

    out = run("reconstruct", model_dir, "builtin:digits", "-o", tmp_path / "recon.png", "--limit", "8").output
    assert "mean squared error" in out
    with Image.open(tmp_path / "recon.png") as img:
        assert img.size[1] > img.size[0] / 8  # two bands: inputs above reconstructions
    run("reconstruct", model_dir, "builtin:digits", "-o", tmp_path / "recon.npy")
    assert np.load(tmp_path / "recon.npy").shape == (1797, 1, 8, 8)

    report = json.loads(run("evaluate", model_dir, "builtin:digits", "--json").output)
    assert report["rows"] == "all 1797 rows"  # the model was fit on --limit 400 rows, DATA here is all 1797
    assert report["n_samples"] == 1797 and report["mse"] > 0 and report["pca_mse"] > 0
    text = run("evaluate", model_dir, "builtin:digits").output
    assert "PCA-4 MSE" in text


def test_evaluate_reuses_the_rows_fit_held_out(tmp_path):
    path = tmp_path / "m"
    run("fit", "builtin:digits", "-o", path, "--code-dim", "4", "--epochs", "1", "--quiet")
    report = json.loads(run("evaluate", path, "builtin:digits", "--json").output)
    assert report["n_samples"] == 359 and "held out" in report["rows"]
    saved = json.loads((path / "metrics.json").read_text())
    assert report["mse"] == pytest.approx(saved["mse"])


def test_demo_runs_end_to_end(tmp_path):
    out = run("demo", "-o", tmp_path / "d", "--epochs", "3", "--quiet").output
    assert "PCA-8 MSE" in out and "autoencoder MSE" in out
    assert (tmp_path / "d" / "model" / "model.safetensors").exists()
    assert (tmp_path / "d" / "reconstructions.png").exists()
    report = (tmp_path / "d" / "report.html").read_text()
    assert 'id="metrics"' in report and "aekit explore" in out


# -- bad input -----------------------------------------------------------------------------
def test_missing_model_is_named(tmp_path):
    result = run("encode", tmp_path / "nope", "builtin:digits", "-o", tmp_path / "c.npy", ok=False)
    assert result.exit_code == 1 and "does not exist" in result.output
    assert not (tmp_path / "c.npy").exists()


def test_nan_data_names_the_file_and_row(tmp_path):
    x = np.random.default_rng(0).random((20, 4)).astype(np.float32)
    x[7, 2] = np.nan
    np.save(tmp_path / "bad.npy", x)
    result = run("fit", tmp_path / "bad.npy", "-o", tmp_path / "m", "--epochs", "1", ok=False)
    assert result.exit_code == 1 and "bad.npy" in result.output and "row 7, column 2" in result.output
    assert not (tmp_path / "m").exists()


def test_wrong_shape_leaves_no_partial_output(model_dir, tmp_path):
    np.save(tmp_path / "other.npy", np.random.default_rng(0).random((5, 1, 12, 12)).astype(np.float32))
    result = run("encode", model_dir, tmp_path / "other.npy", "-o", tmp_path / "c.npy", ok=False)
    assert result.exit_code == 1 and "expecting 64 features" in result.output
    assert list(tmp_path.glob("c.npy*")) == []


def test_png_for_a_table_is_refused(tmp_path):
    np.save(tmp_path / "t.npy", np.random.default_rng(0).random((40, 5)).astype(np.float32))
    run("fit", tmp_path / "t.npy", "-o", tmp_path / "m", "--code-dim", "2", "--epochs", "1", "--quiet")
    result = run("reconstruct", tmp_path / "m", tmp_path / "t.npy", "-o", tmp_path / "r.png", ok=False)
    assert result.exit_code == 1 and "PNG grid needs image samples" in result.output
    assert not list(tmp_path.glob("r.png*"))


def test_unknown_suffix_is_refused(model_dir, tmp_path):
    result = run("encode", model_dir, "builtin:digits", "-o", tmp_path / "c.txt", ok=False)
    assert result.exit_code == 1 and "must end in .npy or .csv" in result.output


def test_bad_option_value_is_named(tmp_path):
    result = run("fit", "builtin:digits", "-o", tmp_path / "m", "--code-dim", "0", ok=False)
    assert result.exit_code == 1 and "code_dim=0 must be a positive integer" in result.output
