"""A real Ctrl-C (SIGINT) during `aekit fit` in a separate process: it exits with a
message saying how to resume, and `--resume` ends with the same weights as a run
that was never interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np

import aekit


def _fit(data, out, *extra):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "aekit",
        "fit",
        str(data),
        "-o",
        str(out),
        "--code-dim",
        "3",
        "--epochs",
        "12",
        "--batch-size",
        "16",
        "--quiet",
        *extra,
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigint_then_resume_matches_uninterrupted(tmp_path):
    rng = np.random.default_rng(0)
    x = np.tanh(rng.normal(size=(4000, 4)) @ rng.normal(size=(4, 24))).astype(np.float32)
    np.save(tmp_path / "x.npy", x)

    proc = _fit(tmp_path / "x.npy", tmp_path / "m")
    checkpoint = tmp_path / "m" / "checkpoint" / "checkpoint.safetensors"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "training finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "training interrupted during epoch" in err and "--resume" in err and "saved in" in err
    assert checkpoint.exists() and not (tmp_path / "m" / "model.safetensors").exists()

    resumed = _fit(tmp_path / "x.npy", tmp_path / "m", "--resume")
    reference = _fit(tmp_path / "x.npy", tmp_path / "ref")
    for p in (resumed, reference):
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    a, b = aekit.load(tmp_path / "m"), aekit.load(tmp_path / "ref")
    assert np.array_equal(a.transform(x), b.transform(x))
    assert len(a.history_) == len(b.history_) == 12
    assert not checkpoint.exists()  # removed once the model directory is complete
