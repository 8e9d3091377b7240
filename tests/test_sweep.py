"""`aekit sweep` and run_sweep: a table with PCA beside every model, a plot, and a sweep
that continues where it stopped instead of retraining what is done."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.decomposition import PCA

import aekit
from aekit.analysis import run_sweep
from aekit.cli import main
from aekit.errors import ConfigError, TrainingInterrupted
from aekit.report.sweep_plot import error_vs_code_size
from aekit.train import Trainer

DIMS = [2, 8, 32]
SMALL = dict(epochs=3, batch_size=64, limit=400, progress=False)  # the interruption tests' sweep


@pytest.fixture(scope="module")
def digits_sweep(tmp_path_factory):
    """The acceptance sweep: 2, 8 and 32 on builtin:digits, 3 epochs each."""
    out = tmp_path_factory.mktemp("sweep") / "digits"
    rows = run_sweep("builtin:digits", DIMS, out, epochs=3, batch_size=64, progress=False)
    return out, rows


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted small sweep to compare interrupted ones with."""
    return run_sweep("builtin:digits", DIMS, tmp_path_factory.mktemp("sweep") / "ref", **SMALL)


def _count_fits(monkeypatch, fail_on: int | None = None) -> list[int]:
    """Count AutoEncoder.fit calls; the ``fail_on``-th raises KeyboardInterrupt (Ctrl-C) instead."""
    calls: list[int] = []
    real_fit = aekit.AutoEncoder.fit

    def fit(self, X, y=None):
        calls.append(self.code_dim)
        if len(calls) == fail_on:
            raise KeyboardInterrupt
        return real_fit(self, X, y)

    monkeypatch.setattr(aekit.AutoEncoder, "fit", fit)
    return calls


def test_table_has_pca_beside_every_row(digits_sweep):
    out, rows = digits_sweep
    assert [(r["variant"], r["code_dim"]) for r in rows] == [("plain", k) for k in DIMS]
    with open(out / "sweep.csv") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == [
        "variant",
        "code_dim",
        "compression_ratio",
        "test_mse",
        "pca_test_mse",
        "gain_vs_pca",
        "train_seconds",
    ]
    assert [int(r["code_dim"]) for r in table] == DIMS
    assert [float(r["compression_ratio"]) for r in table] == [32.0, 8.0, 2.0]
    for line, row in zip(table, rows):
        assert float(line["pca_test_mse"]) == pytest.approx(row["pca_mse"], rel=1e-6) and row["pca_mse"] > 0
        assert float(line["gain_vs_pca"]) == pytest.approx(1 - row["mse"] / row["pca_mse"], rel=1e-5)
    pca_errors = [r["pca_mse"] for r in rows]
    assert pca_errors == sorted(pca_errors, reverse=True)  # more components, less error
    markdown = (out / "sweep.md").read_text()
    assert "| PCA test MSE |" in markdown and "builtin:digits" in markdown
    body = [line for line in markdown.splitlines() if line.startswith("| plain |")]
    assert len(body) == 3 and all(f"{r['pca_mse']:.4g}" in line for line, r in zip(body, rows))
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert not (out / "checkpoints").exists()  # removed once every model is done


def test_numbers_are_evaluates_and_pca_is_pca(digits_sweep):
    out, rows = digits_sweep
    train, test = aekit.data.load("builtin:digits").split(test_size=0.2, seed=0)
    for row in rows:
        model = aekit.load(out / "models" / f"plain-k{row['code_dim']}")
        metrics = model.evaluate(test)
        assert metrics["mse"] == pytest.approx(row["mse"], rel=1e-9)
        assert metrics["pca_mse"] == pytest.approx(row["pca_mse"], rel=1e-9)
        a, b = train.x.reshape(len(train), -1), test.x.reshape(len(test), -1)
        pca = PCA(row["code_dim"]).fit(a)
        closed_form = float(((pca.inverse_transform(pca.transform(b)) - b) ** 2).mean())
        assert row["pca_mse"] == pytest.approx(closed_form, rel=1e-3)


def test_second_run_trains_nothing(digits_sweep, monkeypatch):
    out, rows = digits_sweep
    calls = _count_fits(monkeypatch)
    again = run_sweep("builtin:digits", DIMS, out, epochs=3, batch_size=64, progress=False)
    assert calls == [] and again == rows


def test_interrupted_sweep_trains_only_what_is_missing(tmp_path, monkeypatch, reference):
    out = tmp_path / "sweep"
    _count_fits(monkeypatch, fail_on=2)  # Ctrl-C as the second model starts
    with pytest.raises(TrainingInterrupted, match="1 of 3 models are finished"):
        run_sweep("builtin:digits", DIMS, out, **SMALL)
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["plain-k2.json"]
    assert not (out / "sweep.md").exists()

    calls = _count_fits(monkeypatch)
    rows = run_sweep("builtin:digits", DIMS, out, **SMALL)
    assert calls == [8, 32]
    assert [r["mse"] for r in rows] == [r["mse"] for r in reference]


def test_model_interrupted_mid_training_resumes_from_its_checkpoint(tmp_path, monkeypatch, reference):
    out = tmp_path / "sweep"
    epochs: list[int] = []  # the index of every epoch started
    ctrl_c = [5]  # during the 5th epoch started: epoch 2 of the second model (3 epochs each)
    real_epoch = Trainer._train_epoch

    def train_epoch(self, *args):
        epochs.append(args[-1])
        if len(epochs) in ctrl_c:
            ctrl_c.clear()
            raise KeyboardInterrupt
        return real_epoch(self, *args)

    monkeypatch.setattr(Trainer, "_train_epoch", train_epoch)
    with pytest.raises(TrainingInterrupted, match="run the same sweep again"):
        run_sweep("builtin:digits", DIMS, out, **SMALL)
    assert (out / "checkpoints" / "plain-k8" / "checkpoint.safetensors").exists()

    epochs.clear()
    rows = run_sweep("builtin:digits", DIMS, out, **SMALL)
    assert epochs == [1, 2, 0, 1, 2]  # the second model's last two epochs, then the third model
    assert [r["mse"] for r in rows] == [r["mse"] for r in reference]  # the same weights as never interrupted
    assert [r["epochs_run"] for r in rows] == [3, 3, 3] and rows[1]["train_seconds"] > 0


def test_changed_settings_are_refused_by_name(digits_sweep):
    out, _ = digits_sweep
    with pytest.raises(ConfigError, match=r"epochs: was 3, now 4") as info:
        run_sweep("builtin:digits", DIMS, out, epochs=4, batch_size=64, progress=False)
    assert "batch_size" not in str(info.value)
    with pytest.raises(ConfigError, match=r"data\.n: was 1797, now 500"):
        run_sweep("builtin:digits", DIMS, out, epochs=3, batch_size=64, limit=500, progress=False)
    with pytest.raises(ConfigError, match=r"seed: was 0, now 1"):
        run_sweep("builtin:digits", DIMS, out, epochs=3, batch_size=64, seed=1, progress=False)


def test_more_code_sizes_extend_a_finished_sweep(digits_sweep, tmp_path, monkeypatch):
    out, rows = digits_sweep
    calls = _count_fits(monkeypatch)
    more = run_sweep("builtin:digits", [2, 4], out, epochs=3, batch_size=64, progress=False, save_models=False)
    assert calls == [4] and more[0] == rows[0] and [r["code_dim"] for r in more] == [2, 4]
    assert not (out / "models" / "plain-k4").exists()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(code_dims=[0, 8]), "code size 0 in code_dims must be a positive integer"),
        (dict(code_dims=[]), "code_dims is empty"),
        (dict(variants=["plain", "nope"]), "variant 'nope' is not one of: plain, "),
        (dict(code_dim=4), "code_dim= is set by the sweep"),
        (dict(depth=3), "unknown AutoEncoder option"),
        (dict(variants=["vq"], arch="conv"), "variant 'vq' with code size 2: code_dim=2 with arch='conv'"),
    ],
)
def test_bad_settings_are_named_before_training(tmp_path, monkeypatch, kwargs, message):
    calls = _count_fits(monkeypatch)
    kwargs = {"code_dims": [2, 8], **kwargs}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        run_sweep("builtin:digits", out_dir=tmp_path / "s", progress=False, **kwargs)
    assert calls == [] and not (tmp_path / "s").exists()


def test_a_second_sweep_in_a_running_sweeps_folder_is_refused(digits_sweep):
    fcntl = pytest.importorskip("fcntl")  # POSIX: where the sweep takes its lock
    out, _ = digits_sweep
    with open(out / ".lock") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running sweep holds it
        with pytest.raises(ConfigError, match="another sweep is running in"):
            run_sweep("builtin:digits", DIMS, out, epochs=3, batch_size=64, progress=False)


def test_plot_has_a_line_per_variant_and_pca(digits_sweep):
    _, rows = digits_sweep
    twin = [{**r, "variant": "vae", "mse": r["mse"] * 2} for r in rows]
    ax = error_vs_code_size(rows + twin, title="digits").axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["plain", "vae", "PCA"]
    assert all(list(line.get_xdata()) == DIMS for line in lines)
    assert list(lines[2].get_ydata()) == [r["pca_mse"] for r in rows] and lines[2].get_linestyle() == "--"
    assert list(lines[1].get_ydata()) == [2 * r["mse"] for r in rows]
    assert ax.get_xscale() == "log" and "code size" in ax.get_xlabel() and "MSE" in ax.get_ylabel()


def test_cli_end_to_end(tmp_path):
    out = tmp_path / "cli-sweep"
    args = [
        "sweep",
        "builtin:digits",
        "--code-dims",
        "2",
        "4",
        "--variants",
        "plain",
        "tied",
        "-o",
        str(out),
        "--epochs",
        "2",
        "--batch-size",
        "64",
        "--limit",
        "300",
        "-q",
    ]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "| variant | code size | compression | test MSE | PCA test MSE | gain vs PCA | train s |" in result.output
    assert sum(line.startswith(("| plain |", "| tied |")) for line in result.output.splitlines()) == 4
    assert json.loads((out / "sweep.json").read_text())["variants"] == ["plain", "tied"]
    assert (out / "sweep.png").exists() and (out / "models" / "tied-k4" / "model.safetensors").exists()

    again = CliRunner().invoke(main, args, catch_exceptions=False)  # continues: nothing left to train
    assert again.exit_code == 0 and again.output == result.output
    changed = CliRunner().invoke(main, [a if a != "2" else "3" for a in args])
    assert changed.exit_code == 1 and "epochs: was 2, now 3" in changed.output


def test_cli_sweep_rows_load_as_models_that_evaluate_finds_the_held_out_rows(tmp_path):
    out = tmp_path / "s"
    args = ["sweep", "builtin:digits", "--code-dims", "3", "-o", str(out), "--epochs", "1", "-q"]
    assert CliRunner().invoke(main, args, catch_exceptions=False).exit_code == 0
    shown = (
        CliRunner()
        .invoke(main, ["evaluate", str(out / "models" / "plain-k3"), "builtin:digits"], catch_exceptions=False)
        .output
    )
    row = next(csv.DictReader(open(out / "sweep.csv")))
    assert "the 359 rows aekit fit held out" in shown and f"{float(row['test_mse']):.5f}" in shown  # evaluate's format
    assert np.isfinite(float(row["gain_vs_pca"]))


def test_plot_puts_an_exact_pca_on_the_floor_and_the_table_says_so():
    from aekit.analysis.sweep import markdown_table

    rows = [
        {
            "variant": "plain",
            "code_dim": k,
            "compression_ratio": 64 / k,
            "mse": 0.1 / k,
            "pca_mse": p,
            "gain_vs_pca": 1 - 0.1 / k / p,
            "train_seconds": 1.0,
        }
        for k, p in ((8, 0.02), (64, 4e-15))
    ]
    ax = error_vs_code_size(rows).axes[0]
    assert ax.get_ylim()[0] > 1e-4  # not stretched down to 1e-15
    assert "exact" in [text.get_text() for text in ax.texts]
    assert markdown_table(rows).splitlines()[-1].count("n/a (PCA exact)") == 1
