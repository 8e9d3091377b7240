"""A streamed `aekit score` that is killed continues where it stopped (issue 8).

Each kill trial stops a real `aekit score` process with SIGKILL at a seeded point:
right after a progress record is written (the last one included), right before one
(rows on disk that no record counts), inside one (its temporary file written, not
renamed), half way through a chunk's rows, or from outside at a random row. The
rerun must say it continued from a row > 0, and the CSV must equal an uninterrupted
run's byte for byte, with nothing left beside it. A changed job starts over.
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import aekit.cli.score_resume as rs
from aekit import AnomalyDetector
from aekit.cli import main
from aekit.cli.score_resume import inputs_from, partial_paths
from aekit.data.stream import open_stream

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="the kill trials need SIGKILL (POSIX)")

N, D = 3000, 6
CHUNK = 100  # 30 chunks
SMALL = 10  # 300 chunks (5 ms each with its two fsyncs): slow enough to kill from outside at a chosen row
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

# Runs `aekit score` (argv[3:]) and kills itself with SIGKILL at the argv[2]-th event of kind argv[1].
CHILD = r"""
import os, signal, sys
import aekit.cli.score_resume as rs
from aekit.cli import main

phase, at = sys.argv[1], int(sys.argv[2])
calls = 0

def hit():
    global calls
    calls += 1
    return calls == at

def die():
    os.kill(os.getpid(), signal.SIGKILL)

real_record, real_replace, real_write = rs.atomic_write_text, os.replace, rs.ResumableCSV.write

def record(path, text, **kwargs):
    if phase == "before" and hit():
        die()
    real_record(path, text, **kwargs)
    if phase == "after" and hit():
        die()

def replace(src, dst):
    if phase == "inside" and str(dst).endswith(".partial.json") and hit():
        die()
    real_replace(src, dst)

def write(self, text, rows, flagged):
    if phase == "half" and hit():
        self._fh.write(text.encode()[: len(text) // 2])
        self._fh.flush()
        os.fsync(self._fh.fileno())
        die()
    real_write(self, text, rows, flagged)

rs.atomic_write_text, os.replace, rs.ResumableCSV.write = record, replace, write
main(sys.argv[3:], prog_name="aekit")
"""


def run(*args, ok=True) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result.output


def low_rank(n=N, d=D, seed=0) -> np.ndarray:
    """Rows near a 3-D subspace in mixed units, a few far off it, (n, d) float32."""
    rng = np.random.default_rng(seed)
    x = np.tanh(rng.normal(size=(n, 3)) @ rng.normal(size=(3, d))) + 0.02 * rng.normal(size=(n, d))
    x[::97] += 5.0
    return (x * np.arange(1, d + 1)).astype(np.float32)


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """x.npy, a detector fitted on it and the uninterrupted scores at both chunk sizes."""
    work = tmp_path_factory.mktemp("score_resume")
    np.save(work / "x.npy", low_rank())
    AnomalyDetector(epochs=2, contamination=0.05).fit(low_rank(n=500, seed=1)).save(work / "det")
    ref = {}
    for chunk in (CHUNK, SMALL):
        run("score", work / "det", work / "x.npy", "-o", work / f"ref{chunk}.csv", "--chunk-rows", chunk)
        ref[chunk] = (work / f"ref{chunk}.csv").read_bytes()
    assert ref[CHUNK].count(b"\n") == N + 1 and b",1," in ref[CHUNK]  # every row, some flagged
    return work, ref


def recorded(out: Path) -> dict | None:
    try:
        return json.loads(partial_paths(out)[1].read_text())
    except (OSError, ValueError):
        return None


def start_killed(work: Path, out: Path, phase: str, at: int) -> subprocess.Popen:
    """`aekit score` with CHUNK rows per chunk that kills itself at the ``at``-th event ``phase``; not waited for."""
    argv = ["score", work / "det", work / "x.npy", "-o", out, "--chunk-rows", CHUNK]
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, phase, str(at), *map(str, argv)],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_outside(work: Path, out: Path, target: int) -> None:
    """`python -m aekit score` with SMALL rows per chunk, killed once the record counts ``target`` rows."""
    argv = ["score", work / "det", work / "x.npy", "-o", out, "--chunk-rows", SMALL]
    proc = subprocess.Popen(
        [sys.executable, "-m", "aekit", *map(str, argv)], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        state = recorded(out)
        if state is not None and state["rows"] >= target:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.001)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"the run ended ({proc.returncode}) before row {target}"


def test_sigkill_at_seeded_points_then_rerun_equals_uninterrupted(job, tmp_path):
    work, ref = job
    rng, n_chunks = random.Random(8), N // CHUNK
    trials = [
        ("after", rng.randint(1, n_chunks - 1)),
        ("after", n_chunks),
        ("before", rng.randint(2, n_chunks)),
        ("inside", rng.randint(2, n_chunks)),
        ("half", rng.randint(2, n_chunks)),
        ("outside", rng.randint(N // 6, N // 2)),
    ]
    # The self-killing runs go at once (they spend most of their time importing); the timed kill alone, after.
    children = [
        start_killed(work, tmp_path / str(i) / "s.csv", phase, at)
        for i, (phase, at) in enumerate(trials)
        if phase != "outside"
    ]
    for proc in children:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, err
    for i, (phase, at) in enumerate(trials):
        out = tmp_path / str(i) / "s.csv"
        partial, record = partial_paths(out)
        if phase == "outside":
            kill_outside(work, out, at)
        state = recorded(out)
        assert not out.exists() and state is not None, (phase, at)
        if phase == "after":
            assert state["rows"] == at * CHUNK and partial.stat().st_size == state["bytes"]
        elif phase in ("before", "inside", "half"):  # rows on disk beyond the record: cut off on resume
            assert state["rows"] == (at - 1) * CHUNK and partial.stat().st_size > state["bytes"]
        if phase == "inside":
            assert any(p.name.startswith(f".{record.name}.tmp-") for p in out.parent.iterdir())

        chunk = SMALL if phase == "outside" else CHUNK
        said = run("score", work / "det", work / "x.npy", "-o", out, "--chunk-rows", chunk)
        assert f"continuing from row {state['rows']} of {N}" in said and state["rows"] > 0, (phase, at, said)
        assert out.read_bytes() == ref[chunk], (phase, at)
        assert [p.name for p in out.parent.iterdir()] == ["s.csv"], (phase, at)  # no partial, record or temp


def interrupt_at(monkeypatch, chunk: int) -> None:
    """Ctrl-C while the ``chunk``-th chunk's rows are scored (after chunk - 1 are recorded)."""
    real, calls = rs.ResumableCSV.write, []

    def write(self, text, rows, flagged):
        calls.append(rows)
        if len(calls) == chunk:
            raise KeyboardInterrupt
        real(self, text, rows, flagged)

    monkeypatch.setattr(rs.ResumableCSV, "write", write)


def stop_part_way(monkeypatch, work: Path, out: Path, chunk: int = 4) -> None:
    with monkeypatch.context() as patch:
        interrupt_at(patch, chunk)
        run("score", work / "det", work / "x.npy", "-o", out, "--chunk-rows", CHUNK, ok=False)
    assert recorded(out)["rows"] == (chunk - 1) * CHUNK


def test_ctrl_c_keeps_the_progress_and_a_changed_job_starts_over(job, tmp_path, monkeypatch):
    work, ref = job
    out = tmp_path / "s.csv"
    stop_part_way(monkeypatch, work, out)
    said = run("score", work / "det", work / "x.npy", "-o", out, "--chunk-rows", CHUNK)
    assert f"continuing from row {3 * CHUNK} of {N}" in said and out.read_bytes() == ref[CHUNK]

    # --top, the chunk size or the data changed: the saved rows are not reused.
    run("score", work / "det", work / "x.npy", "-o", tmp_path / "top2.csv", "--chunk-rows", CHUNK, "--top", 2)
    stop_part_way(monkeypatch, work, out)
    said = run("score", work / "det", work / "x.npy", "-o", out, "--chunk-rows", CHUNK, "--top", 2)
    assert "starting over: --top changed" in said and "continuing" not in said
    assert out.read_bytes() == (tmp_path / "top2.csv").read_bytes()

    stop_part_way(monkeypatch, work, out)
    said = run("score", work / "det", work / "x.npy", "-o", out, "--chunk-rows", SMALL)
    assert "starting over: the chunk size (--chunk-rows) changed" in said and out.read_bytes() == ref[SMALL]

    data = tmp_path / "x.npy"
    np.save(data, low_rank())
    with monkeypatch.context() as patch:
        interrupt_at(patch, 4)
        run("score", work / "det", data, "-o", out, "--chunk-rows", CHUNK, ok=False)
    changed = low_rank()
    changed[10] += 100.0  # a row the interrupted run had scored
    np.save(data, changed)
    said = run("score", work / "det", data, "-o", out, "--chunk-rows", CHUNK)
    assert "starting over: DATA" in said
    run("score", work / "det", data, "-o", tmp_path / "fresh.csv", "--chunk-rows", CHUNK)
    assert out.read_bytes() == (tmp_path / "fresh.csv").read_bytes() != ref[CHUNK]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.csv", "s.csv", "top2.csv", "x.npy"]


def test_a_full_disk_keeps_the_progress_and_the_rerun_continues(job, tmp_path, monkeypatch):
    work, ref = job
    out = tmp_path / "s.csv"
    real, calls = os.fsync, []

    def fsync(fd):  # two a chunk: its rows, then its record; the 7th is chunk 4's rows
        calls.append(fd)
        if len(calls) == 7:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", fsync)
        said = run("score", work / "det", work / "x.npy", "-o", out, "--chunk-rows", CHUNK, ok=False)
    assert f"cannot write {partial_paths(out)[0]}: No space left on device" in said
    assert "Traceback" not in said and recorded(out)["rows"] == 3 * CHUNK
    said = run("score", work / "det", work / "x.npy", "-o", out, "--chunk-rows", CHUNK)
    assert f"continuing from row {3 * CHUNK} of {N}" in said and out.read_bytes() == ref[CHUNK]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="flock is POSIX")
def test_a_second_run_of_the_same_job_refuses_while_the_first_writes(job, tmp_path, monkeypatch):
    import fcntl

    work, ref = job
    out = tmp_path / "s.csv"
    stop_part_way(monkeypatch, work, out)
    partial, record = partial_paths(out)
    before = partial.read_bytes(), record.read_bytes()
    with open(partial, "rb") as held:  # what a running `aekit score` holds
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        said = run("score", work / "det", work / "x.npy", "-o", out, "--chunk-rows", CHUNK, ok=False)
    assert "is being written by another running `aekit score`" in said
    assert (partial.read_bytes(), record.read_bytes()) == before and not out.exists()
    said = run("score", work / "det", work / "x.npy", "-o", out, "--chunk-rows", CHUNK)
    assert "continuing from row" in said and out.read_bytes() == ref[CHUNK]


def test_bad_data_part_way_leaves_nothing(job, tmp_path):
    work, _ = job
    x = low_rank()
    x[2500, 1] = np.nan  # refused when its chunk is read: the job cannot be continued
    np.save(tmp_path / "x.npy", x)
    said = run(
        "score", work / "det", tmp_path / "x.npy", "-o", tmp_path / "out" / "s.csv", "--chunk-rows", CHUNK, ok=False
    )
    assert "row 2500" in said and list((tmp_path / "out").iterdir()) == []


def test_chunk_rows_must_be_positive(job, tmp_path):
    work, _ = job
    said = run("score", work / "det", work / "x.npy", "-o", tmp_path / "s.csv", "--chunk-rows", 0, ok=False)
    assert "--chunk-rows=0 must be a positive integer" in said and not any(tmp_path.iterdir())


def test_a_table_model_resumes_a_parquet_file(tmp_path, monkeypatch):
    """Parquet row groups of 70 read 32 rows at a time: chunks of 32, 32, 6 per group."""
    rng = np.random.default_rng(0)
    t = rng.normal(size=500)
    frame = pd.DataFrame({"a": t, "b": 2 * t + 0.1 * rng.normal(size=500), "sign": np.where(t > 0, "pos", "neg")})
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=70)
    AnomalyDetector(epochs=2).fit(frame).save(tmp_path / "det")
    argv = ["score", tmp_path / "det", tmp_path / "t.parquet", "--chunk-rows", 32, "--top", 2]
    run(*argv, "-o", tmp_path / "ref.csv")
    with monkeypatch.context() as patch:
        interrupt_at(patch, 8)  # 7 chunks recorded: rows 0-69, 70-139, 140-171
        run(*argv, "-o", tmp_path / "s.csv", ok=False)
    said = run(*argv, "-o", tmp_path / "s.csv")
    assert "continuing from row 172 of 500" in said
    assert (tmp_path / "s.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()


@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_inputs_from_starts_at_any_row(tmp_path, suffix):
    x = low_rank(n=300, d=3)
    path = tmp_path / f"x{suffix}"
    if suffix == ".npy":
        np.save(path, x)
    else:
        pd.DataFrame(x, columns=["a", "b", "c"]).to_parquet(path, row_group_size=70)
    stream = open_stream(path, chunk_rows=32)
    models = {"arrays": AnomalyDetector(epochs=1).fit(x).autoencoder_}
    if suffix == ".parquet":  # a table model reads DataFrames (ParquetStream.frames)
        models["table"] = AnomalyDetector(epochs=1).fit(pd.read_parquet(path)).autoencoder_
    for name, ae in models.items():
        for start in (0, 1, 32, 69, 70, 150, 299):
            parts = list(inputs_from(ae, stream, start))
            rows = np.concatenate([r for r, _ in parts])
            assert rows.tolist() == list(range(start, 300)), (name, start)
            got = [d.to_numpy() if name == "table" else d.x for _, d in parts]
            np.testing.assert_array_equal(np.concatenate(got), x[start:])
