"""`aekit detect-series`, `aekit score` and `aekit report` on a series detector, end to end
on small TimeEval CSV files the test writes."""

from __future__ import annotations

import csv

import numpy as np
from click.testing import CliRunner

from aekit.cli import main


def run(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result.output


def write_series(path, seed: int, anomaly: bool, stamps: str = "int") -> np.ndarray:
    """A two-channel periodic series (period 20) of 2,000 steps; with ``anomaly``, channel 1 stuck at 700-780."""
    t = np.arange(2000)
    rng = np.random.default_rng(seed)
    x = np.stack([np.sin(2 * np.pi * t / 20), np.cos(2 * np.pi * t / 20) ** 3], 1) + 0.05 * rng.normal(size=(2000, 2))
    y = np.zeros(2000, int)
    if anomaly:
        x[700:780, 1] = 0.2
        y[700:780] = 1
    stamp = [f"2024-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}" for i in t] if stamps == "date" else list(map(str, t))
    lines = ["timestamp,a,b,is_anomaly"] + [f"{s},{a:.6f},{b:.6f},{v}" for s, (a, b), v in zip(stamp, x, y)]
    path.write_text("\n".join(lines) + "\n")
    return y


def test_detect_series_then_score_writes_a_score_and_a_flag_per_step(tmp_path):
    write_series(tmp_path / "train.csv", 0, anomaly=False)
    y = write_series(tmp_path / "test.csv", 1, anomaly=True, stamps="date")
    out = run(
        "detect-series", tmp_path / "train.csv", "-o", tmp_path / "det", "--steps", "300",
        "--test", tmp_path / "test.csv", "--report", tmp_path / "r.html", "-q",
    )  # fmt: skip
    assert "period 20, window 60" in out and "per-step ROC-AUC against is_anomaly" in out
    auc = float(out.split("ROC-AUC against is_anomaly")[1].split()[0])
    assert auc > 0.95
    page = (tmp_path / "r.html").read_text()
    assert '<section id="series">' in page and "data:image/png;base64," in page and "http:" not in page

    out = run("score", tmp_path / "det", tmp_path / "test.csv", "-o", tmp_path / "scores.csv")
    assert "scored 2,000 steps" in out
    with open(tmp_path / "scores.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["step", "timestamp", "score", "anomaly"] and len(rows) == 2000
    assert rows[61]["timestamp"] == "2024-01-01T00:01:01.000000000"
    flags = np.array([int(r["anomaly"]) for r in rows])
    assert flags[700:780].mean() > 0.9 and flags[y == 0].mean() < 0.2
    scores = np.array([float(r["score"]) for r in rows])
    assert scores[700:780].min() > np.median(scores)

    out = run("report", tmp_path / "det", tmp_path / "test.csv", "-o", tmp_path / "again.html")
    assert "wrote" in out and '<section id="spans">' in (tmp_path / "again.html").read_text()


def test_a_npy_series_and_a_given_window(tmp_path):
    t = np.arange(1500)
    np.save(tmp_path / "train.npy", np.sin(t / 4.0).astype(np.float32))
    out = run("detect-series", tmp_path / "train.npy", "-o", tmp_path / "det", "--window", "40", "--steps", "50", "-q")
    assert "window 40" in out and "period" not in out.split("(")[1]
    run("score", tmp_path / "det", tmp_path / "train.npy", "-o", tmp_path / "s.csv")
    header = (tmp_path / "s.csv").read_text().splitlines()[0]
    assert header == "step,score,anomaly" and len((tmp_path / "s.csv").read_text().splitlines()) == 1501


def test_bad_series_options_and_outputs_are_named(tmp_path):
    write_series(tmp_path / "train.csv", 0, anomaly=False)
    out = run("detect-series", tmp_path / "train.csv", "-o", tmp_path / "d", "--window", "long", ok=False)
    assert "'long' is not 'auto' or a whole number of steps" in out
    out = run("detect-series", tmp_path / "train.csv", "-o", tmp_path / "d", "--window", "1500", ok=False)
    assert "fewer than 2 windows of window=1500" in out
    (tmp_path / "nan.csv").write_text("timestamp,a\n0,1.0\n1,nan\n")
    out = run("detect-series", tmp_path / "nan.csv", "-o", tmp_path / "d", ok=False)
    assert "nan.csv, line 3: column 'a' is NaN" in out
    run("detect-series", tmp_path / "train.csv", "-o", tmp_path / "det", "--steps", "20", "-q")
    out = run("score", tmp_path / "det", tmp_path / "train.csv", "-o", tmp_path / "s.npy", ok=False)
    assert "must end in .csv" in out
    (tmp_path / "short.csv").write_text("timestamp,a,b\n" + "".join(f"{i},0.1,0.2\n" for i in range(10)))
    out = run("score", tmp_path / "det", tmp_path / "short.csv", "-o", tmp_path / "s.csv", ok=False)
    assert "the series has 10 steps, fewer than one window of 60" in out


def test_help_has_an_example():
    for command in ("detect-series", "score"):
        out = run(command, "--help")
        assert "Example:" in out and "series" in out
