"""Training under torchrun: two CPU processes (gloo on 127.0.0.1) against one.

The processes run this file as a script (``python -m torch.distributed.run ...
tests/test_distributed.py OUT``), through the real torchrun rendezvous. One launch
(about 30 s on two busy cores, most of it starting three Pythons) does every
distributed job and writes what it learned to OUT; the tests compare:

- two processes with a global batch B end with one process's weights (plain, sparse,
  contractive and conv models), including shards of unequal size and a last batch of
  a single row, where the second rank has nothing but a stand-in row;
- every rank ends holding the same model, for every variant (VQ-EMA and VAE included);
- only rank 0 writes the checkpoint;
- a two-process run interrupted after epoch 2 and resumed on two processes ends
  with the uninterrupted run's weights (denoising: each rank's noise stream resumes);
- ranks that see different checkpoints refuse to resume, all of them, with a reason;
- ``aekit fit`` under torchrun writes one model directory and prints once (the
  command's code in the torchrun processes; ``python -m aekit`` itself is tested elsewhere).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

#: 251 rows, 10 % held out: 226 train rows, so with a global batch of 25 (odd: shards of
#: 13 and 12) the epoch's last batch has one row and rank 1 gets only a stand-in row.
N_ROWS, BATCH, EPOCHS = 251, 25, 3
#: Models whose two-process weights must match one process's (no randomness in the loss).
EXACT = {
    "plain": {},
    "sparse": {"penalty": "l1", "penalty_weight": 1e-2},
    "contractive": {"penalty": "contractive", "penalty_weight": 1e-3},
    "conv": {"arch": "conv"},
}


def _data() -> torch.Tensor:
    """(N_ROWS, 1, 8, 8) smooth images on a 3-D manifold."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:8, 0:8] / 7.0
    cx, cy, s = rng.uniform(0.2, 0.8, (3, N_ROWS, 1, 1))
    blobs = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (0.05 + 0.1 * s))
    return torch.from_numpy(blobs[:, None].astype(np.float32))


def _train(overrides: dict, checkpoint_dir=None, resume=False, on_epoch_end=None, distributed=None):
    """A seeded model trained EPOCHS epochs; returns it."""
    from aekit.config import ModelConfig, TrainConfig
    from aekit.model import Autoencoder
    from aekit.train import Trainer

    torch.manual_seed(0)
    model = Autoencoder(ModelConfig(input_shape=(1, 8, 8), code_dim=3, **overrides))
    cfg = TrainConfig(epochs=EPOCHS, batch_size=BATCH, lr=5e-3, patience=None, seed=4, precision="fp32", device="cpu")
    Trainer(
        model, cfg, checkpoint_dir=checkpoint_dir, progress=False, on_epoch_end=on_epoch_end, distributed=distributed
    ).fit(_data(), resume=resume)
    return model


def _state(model) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def _worker(out: Path) -> None:
    """Run by every torchrun process: the distributed jobs the tests read back."""
    import aekit.train
    from aekit.cli import main
    from aekit.errors import TrainingError, TrainingInterrupted
    from aekit.registry import VARIANTS
    from aekit.train import distributed

    assert distributed.setup() and distributed.world_size() == 2
    rank = distributed.rank()
    for name, overrides in EXACT.items():
        model = _train(overrides)
        if rank == 0:
            np.savez(out / f"exact-{name}.npz", **_state(model))
    for name in VARIANTS.names():  # every rank saves: the ranks must hold one model
        np.savez(out / f"variant-{name}-rank{rank}.npz", **_state(_train(dict(VARIANTS.get(name).model))))

    writes = []
    original = aekit.train.loop.atomic_write_bytes

    def recording_write(path, data):
        writes.append(str(path))
        original(path, data)

    aekit.train.loop.atomic_write_bytes = recording_write
    denoising = dict(VARIANTS.get("denoising").model)
    np.savez(out / "full.npz", **_state(_train(denoising, checkpoint_dir=out / "ckpt-full")))
    (out / f"writes-rank{rank}.txt").write_text("\n".join(writes))
    aekit.train.loop.atomic_write_bytes = original

    def stop_after_two(record, model):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    try:
        _train(denoising, checkpoint_dir=out / "ckpt-cut", on_epoch_end=stop_after_two)
        raise AssertionError("the run was not interrupted")
    except TrainingInterrupted:
        pass
    resumed = _train(denoising, checkpoint_dir=out / "ckpt-cut", resume=True)
    if rank == 0:
        np.savez(out / "resumed.npz", **_state(resumed))
    try:  # as if rank 1's machine could not see rank 0's files
        _train(denoising, checkpoint_dir=out / ("ckpt-cut" if rank == 0 else f"not-shared-{rank}"), resume=True)
        raise AssertionError("resumed from different checkpoints")
    except TrainingError as exc:
        (out / f"refused-rank{rank}.txt").write_text(str(exc))

    # The command, in this process group; rank 1 returns after training, and the group is destroyed.
    main(
        [
            "fit",
            "builtin:digits",
            "-o",
            str(out / "cli-model"),
            "--epochs",
            "2",
            "--limit",
            "300",
            "--code-dim",
            "4",
            "--batch-size",
            "32",
        ],
        standalone_mode=False,
    )
    assert not distributed.is_active()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """``torchrun --nproc_per_node 2`` on 127.0.0.1; the whole process group is killed on timeout."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        *args,
    ]
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"torchrun did not finish in {timeout} s:\n{err[-3000:]}")
    assert proc.returncode == 0, f"torchrun failed ({proc.returncode}):\n{out[-2000:]}\n{err[-5000:]}"
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ddp")
    result = _torchrun(__file__, str(out), cwd=out)
    (out / "stdout.txt").write_text(result.stdout)
    return out


@pytest.mark.parametrize("name", list(EXACT))
def test_two_processes_match_one_with_the_same_global_batch(two_process_run, name):
    two = np.load(two_process_run / f"exact-{name}.npz")
    one = _state(_train(EXACT[name], distributed=False))
    assert sorted(two) == sorted(one)
    worst = max(float(np.abs(two[k] - one[k]).max()) for k in one)
    assert worst < 1e-5, f"{name}: max abs weight difference {worst:.3g}"


def test_every_rank_holds_the_same_model_for_every_variant(two_process_run):
    from aekit.registry import VARIANTS

    for name in VARIANTS.names():
        ranks = [np.load(two_process_run / f"variant-{name}-rank{r}.npz") for r in (0, 1)]
        assert sorted(ranks[0]) == sorted(ranks[1])
        for key in ranks[0]:
            assert np.array_equal(ranks[0][key], ranks[1][key], equal_nan=True), f"{name}: {key} differs by rank"


def test_only_rank_zero_writes_the_checkpoint(two_process_run):
    rank0 = (two_process_run / "writes-rank0.txt").read_text().splitlines()
    rank1 = (two_process_run / "writes-rank1.txt").read_text().splitlines()
    assert len(rank0) == EPOCHS and rank1 == []
    assert all(Path(p).name == "checkpoint.safetensors" for p in rank0)
    from safetensors import safe_open

    with safe_open(str(two_process_run / "ckpt-full" / "checkpoint.safetensors"), framework="pt") as fh:
        keys = set(fh.keys())
    assert {"rng/torch", "rng/torch/1", "rng/shuffle"} <= keys  # both ranks' noise streams


def test_interrupted_two_process_run_resumes_exactly(two_process_run):
    full, resumed = np.load(two_process_run / "full.npz"), np.load(two_process_run / "resumed.npz")
    for key in full:
        assert np.array_equal(full[key], resumed[key]), key


def test_ranks_that_see_different_checkpoints_refuse_to_resume(two_process_run):
    for r in (0, 1):
        message = (two_process_run / f"refused-rank{r}.txt").read_text()
        assert "the ranks disagree on the epoch to resume from" in message and "{0: 3, 1: None}" in message
        assert "a filesystem all machines share" in message


def test_cli_fit_under_torchrun_writes_one_model_directory(two_process_run):
    import aekit

    stdout = (two_process_run / "stdout.txt").read_text()
    assert stdout.count("model saved to") == 1 and stdout.count("training on") == 1, stdout
    model_dir = two_process_run / "cli-model"
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "config.json",
        "history.json",
        "metrics.json",
        "model.safetensors",
    ]
    est = aekit.load(model_dir)
    assert len(est.history_) == 2 and est.history_[-1]["train"]["loss"] < est.history_[0]["train"]["loss"]


def test_outside_torchrun_nothing_is_distributed():
    from aekit.train import TensorBatches, distributed

    assert not distributed.setup() and distributed.world_size() == 1 and distributed.is_main()
    source = TensorBatches(torch.arange(11.0)[:, None])  # a last batch of 1 row for 3 ranks
    shards = [
        list(distributed.ShardedBatches(source, r, 3).shards(torch.Generator().manual_seed(0), 5, "cpu"))
        for r in range(3)
    ]
    assert [[(s.rows, s.batch_rows) for s in per_rank] for per_rank in shards] == [
        [(2, 5), (2, 5), (1, 1)],
        [(2, 5), (2, 5), (0, 1)],
        [(1, 5), (1, 5), (0, 1)],
    ]
    seen = torch.cat([s.x for per_rank in shards for s in per_rank if s.rows])
    assert sorted(seen.flatten().tolist()) == list(range(11))


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
