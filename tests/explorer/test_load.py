"""A short run of benchmarks/explorer_load.py: the real `aekit explore` process under a few hundred
decodes, malformed requests and drags from loopback answers every one as documented and does not grow.

No timing is asserted (this machine's timings are noisy); errors and memory are."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import aekit

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "explorer_load.py"


@pytest.fixture(scope="module")
def load():
    spec = importlib.util.spec_from_file_location("explorer_load", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_short_load_has_no_errors_and_flat_memory(load, tmp_path):
    data = "builtin:shapes12?n=300"
    aekit.AutoEncoder(code_dim=2, epochs=1, batch_size=64, random_state=0).fit(aekit.data.load(data)).save(
        tmp_path / "tiny"
    )
    args = load.parser().parse_args(
        [
            "--model",
            str(tmp_path / "tiny"),
            "--data",
            data,
            "--requests",
            "600",
            "--warmup",
            "100",
            "--clients",
            "3",
            "--bad",
            "120",
            "--drags",
            "120",
            "--max-seconds",
            "120",
            "--out",
            str(tmp_path / "load.json"),
        ]
    )
    result = load.load_test(args)
    assert not result["timed_out"]
    decode, bad, drag = result["rows"]
    assert [r["requests"] for r in result["rows"]] == [600, 120, 120]
    for row in result["rows"]:
        assert row["errors"] == 0, (row["phase"], row["first_errors"])
        assert row["p50_ms"] > 0 and len(row["rss_samples"]) >= 2
    # Flat memory, loosely: after the warm-up, 600 decodes add less than 25 MiB (RSS moves by a few MiB as
    # the allocator and the thread pool settle). It catches gross leaks, such as request bodies or
    # tensors kept per request; benchmarks/explorer_load.py's 10,000 requests are the finer check.
    assert decode["rss_end_mb"] - decode["rss_start_mb"] < 25, decode["rss_samples"]
    assert result["rss_end_mb"] - result["rss_ready_mb"] < 50
