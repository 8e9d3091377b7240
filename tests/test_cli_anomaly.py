"""`aekit detect` and `aekit score` end to end on a small labelled table."""

from __future__ import annotations

import csv

import numpy as np
from click.testing import CliRunner

from aekit.cli import main


def run(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result.output


def labelled_table(path):
    """300 normal rows near a line in 4-D and 30 anomalies off it; label 1 = anomaly."""
    rng = np.random.default_rng(0)
    t = rng.normal(size=(330, 1))
    x = t @ np.array([[1.0, 2.0, -1.0, 0.5]]) + 0.05 * rng.normal(size=(330, 4))
    y = np.zeros(330, int)
    x[300:, 2] += rng.choice([-4.0, 4.0], 30)  # column x2 breaks for the anomalies
    y[300:] = 1
    np.savez(path, X=x.astype(np.float32), y=y)
    return x, y


def test_detect_reports_auc_beside_isolation_forest_and_pca_then_score_writes_flags(tmp_path):
    labelled_table(tmp_path / "t.npz")
    out = run(
        "detect",
        tmp_path / "t.npz",
        "-o",
        tmp_path / "det",
        "--epochs",
        "30",
        "--contamination",
        "0.1",
        "--code-dim",
        "1",
        "-q",
    )
    aucs = {
        line.split()[0]: float(line.split()[1])
        for line in out.splitlines()
        if line.strip().split()[0] in ("aekit", "IsolationForest", "PCA")
    }
    assert set(aucs) == {"aekit", "IsolationForest", "PCA"}
    assert aucs["aekit"] > 0.95
    run("score", tmp_path / "det", tmp_path / "t.npz", "-o", tmp_path / "scores.csv", "--top", "2")
    with open(tmp_path / "scores.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["index", "score", "anomaly", "feature_1", "feature_2"]
    assert len(rows) == 330
    flagged = np.array([int(r["anomaly"]) for r in rows])
    assert flagged[300:].mean() > 0.9 and flagged[:300].mean() < 0.15
    # The broken column is named first for the anomalies (a 1-D code: the normal rows lie on a line).
    assert np.mean([r["feature_1"] == "x2" for r in rows[300:]]) > 0.9


def test_score_needs_a_detector_and_a_csv(tmp_path):
    labelled_table(tmp_path / "t.npz")
    run("fit", tmp_path / "t.npz", "-o", tmp_path / "ae", "--epochs", "1", "--code-dim", "2", "-q")
    out = run("score", tmp_path / "ae", tmp_path / "t.npz", "-o", tmp_path / "s.csv", ok=False)
    assert "without an anomaly threshold" in out
    run("detect", tmp_path / "t.npz", "-o", tmp_path / "det", "--epochs", "1", "-q")
    out = run("score", tmp_path / "det", tmp_path / "t.npz", "-o", tmp_path / "s.npy", ok=False)
    assert "must end in .csv" in out


def test_detect_and_score_a_csv_table_with_text_columns_and_gaps(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(0)
    size = rng.normal(size=400)
    frame = pd.DataFrame(
        {"size": size, "height": 2 * size + 0.1 * rng.normal(size=400), "kind": np.where(size > 0, "large", "small")}
    )
    frame.loc[::10, "height"] = np.nan
    frame.to_csv(tmp_path / "t.csv", index=False)
    run("detect", tmp_path / "t.csv", "-o", tmp_path / "det", "--epochs", "20", "-q")
    run("score", tmp_path / "det", tmp_path / "t.csv", "-o", tmp_path / "s.csv", "--top", "1")
    scores = pd.read_csv(tmp_path / "s.csv")
    assert len(scores) == 400 and np.isfinite(scores["score"]).all()
    assert set(scores["feature_1"]) <= {"size", "height", "kind"}
    # A row whose height is missing never names height as its top contributor.
    assert (scores["feature_1"][::10] != "height").all()
