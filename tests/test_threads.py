"""The thread policy: a fair share of the CPU for a fit (aekit.train.threads).

No timings here: benchmarks/busy_core.py measures what the policy buys."""

from __future__ import annotations

import os

import pytest
import torch

from aekit.config import ModelConfig, TrainConfig
from aekit.errors import ConfigError
from aekit.model import Autoencoder
from aekit.train import Trainer
from aekit.train import threads as th

IDLE = "cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 100 0 0 900 0 0 0 0 0 0\ncpu1 100 0 0 900 0 0 0 0 0 0\n"
#: 10 ticks later: cpu0 spent all of them busy (user), cpu1 all idle.
ONE_BUSY = "cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 110 0 0 900 0 0 0 0 0 0\ncpu1 100 0 0 910 0 0 0 0 0 0\n"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No thread variables, no cgroup quota, two allowed CPUs, torch at 8 threads (the ceiling)."""
    for name in (th.ENV_VAR, *th.PINNING_VARS, "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(th, "CGROUP_CPU_MAX", tmp_path / "no-cpu.max")
    monkeypatch.setattr(th, "allowed_cpus", lambda: {0, 1})
    with th.thread_budget(8):
        yield


def _reader(*texts):
    it = iter(texts)
    return lambda: next(it)


def _no_measuring():
    raise AssertionError("the load was measured where nothing was left to decide")


def test_cpu_times_counts_idle_and_iowait_as_not_busy():
    assert th.cpu_times("cpu  1 2 3 4 5 6 7 8 9 9\ncpu3 1 2 3 4 5 6 7 8 9 9\nintr 5 5\n") == {3: (27, 36)}


def test_busy_cores_from_a_faked_proc_stat(monkeypatch):
    monkeypatch.setattr(th, "_own_cpu", lambda: 0.0)
    assert th.busy_cores(0, _reader(IDLE, ONE_BUSY)) == pytest.approx(1.0)
    assert th.busy_cores(0, _reader(IDLE, IDLE)) == 0.0  # no ticks passed: nothing to count
    monkeypatch.setattr(th, "allowed_cpus", lambda: {1})  # only the CPUs this process may use count
    assert th.busy_cores(0, _reader(IDLE, ONE_BUSY)) == 0.0


def test_busy_cores_takes_off_this_process_own_work(monkeypatch):
    """Both CPUs fully busy, half a core of it this process's own: 1.5 cores of other work."""
    both = IDLE.replace("cpu1 100 0 0 900", "cpu1 110 0 0 900").replace("cpu0 100", "cpu0 110")
    monkeypatch.setattr(th, "_own_cpu", iter([1.0, 1.5]).__next__)
    monkeypatch.setattr(th, "_wall", iter([10.0, 11.0]).__next__)
    assert th.busy_cores(0, _reader(IDLE, both)) == pytest.approx(1.5)


def test_without_proc_stat_the_load_average_stands_in(monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (1.0, 0.5, 0.2))
    monkeypatch.setattr(os, "cpu_count", lambda: 4)  # two of the machine's four CPUs are ours
    assert th.busy_cores(0, lambda: None) == pytest.approx(0.5)
    monkeypatch.delattr(os, "getloadavg")
    assert th.busy_cores(0, lambda: None) == 0.0


def test_fair_share_is_the_cores_less_the_busy_ones(monkeypatch):
    assert th.choose_threads(busy=lambda: 0.1) == 2
    assert th.choose_threads(busy=lambda: 1.0) == 1
    assert th.choose_threads(busy=lambda: 3.0) == 1  # at least one
    monkeypatch.setattr(th, "allowed_cpus", lambda: set(range(6)))
    assert th.choose_threads(busy=lambda: 1.4) == 5
    assert th.choose_threads(busy=lambda: 1.6) == 4


def test_the_measured_load_feeds_the_choice(monkeypatch):
    monkeypatch.setattr(th, "_own_cpu", lambda: 0.0)
    monkeypatch.setattr(th, "read_proc_stat", _reader(IDLE, ONE_BUSY))
    assert th.choose_threads(busy=lambda: th.busy_cores(0, th.read_proc_stat)) == 1


def test_one_allowed_core_means_one_thread_without_measuring(monkeypatch):
    monkeypatch.setattr(th, "allowed_cpus", lambda: {3})
    assert th.available_cores() == 1
    assert th.choose_threads(busy=_no_measuring) == 1


def test_without_affinity_the_cpu_count_is_used(monkeypatch):
    monkeypatch.setattr(th, "allowed_cpus", lambda: None)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    assert th.available_cores() == 3


def test_a_cgroup_quota_caps_the_cores(monkeypatch):
    monkeypatch.setattr(th, "allowed_cpus", lambda: set(range(8)))
    assert th.available_cores("150000 100000\n") == 2
    assert th.available_cores("max 100000\n") == 8
    assert th.available_cores("garbage") == 8


def test_torch_current_count_is_a_ceiling(monkeypatch):
    monkeypatch.setattr(th, "allowed_cpus", lambda: set(range(8)))
    with th.thread_budget(3):  # the user's own torch.set_num_threads(3), or a physical-core default
        assert th.choose_threads(busy=lambda: 0.0) == 3
    with th.thread_budget(1):
        assert th.choose_threads(busy=_no_measuring) == 1


def test_an_explicit_request_wins():
    assert th.choose_threads(5, busy=_no_measuring) == 5
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="threads="):
            th.choose_threads(bad)  # type: ignore[arg-type]


def test_aekit_num_threads_overrides_the_policy(monkeypatch):
    monkeypatch.setenv(th.ENV_VAR, "3")
    assert th.choose_threads(busy=_no_measuring) == 3
    assert th.choose_threads(1) == 1  # an explicit request beats the environment
    for bad in ("0", "two", "-2"):
        monkeypatch.setenv(th.ENV_VAR, bad)
        with pytest.raises(ConfigError, match=th.ENV_VAR):
            th.choose_threads()


@pytest.mark.parametrize("name", th.PINNING_VARS)
def test_omp_or_mkl_num_threads_keep_torch_count(monkeypatch, name):
    monkeypatch.setenv(name, "8")
    assert th.choose_threads(busy=_no_measuring) == torch.get_num_threads() == 8


def test_torchrun_ranks_split_the_cores(monkeypatch):
    monkeypatch.setattr(th, "allowed_cpus", lambda: set(range(8)))
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert th.choose_threads(busy=_no_measuring) == 4  # the siblings are the load: not measured
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "16")
    assert th.choose_threads(busy=_no_measuring) == 1
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "many")
    with pytest.raises(ConfigError, match="LOCAL_WORLD_SIZE"):
        th.choose_threads()


def test_thread_budget_restores_the_count():
    before = torch.get_num_threads()
    with th.thread_budget(2) as n:
        assert n == torch.get_num_threads() == 2
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError, match="boom"), th.thread_budget(3):
        assert torch.get_num_threads() == 3
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


CFG = TrainConfig(epochs=2, batch_size=16, patience=None, val_fraction=0.0, precision="fp32")


def _model() -> Autoencoder:
    torch.manual_seed(0)
    return Autoencoder(ModelConfig(input_shape=(6,), code_dim=2))


def test_a_fit_runs_with_its_budget_and_leaves_torch_as_it_was():
    seen: list[int] = []
    before = torch.get_num_threads()
    trainer = Trainer(
        _model(), CFG, progress=False, threads=2, on_epoch_end=lambda r, m: seen.append(torch.get_num_threads())
    )
    trainer.fit(torch.rand(40, 6))
    assert seen == [2, 2]
    assert torch.get_num_threads() == before
    with th.thread_budget(1):
        Trainer(_model(), CFG, progress=False).fit(torch.rand(40, 6))  # the policy's own choice
        assert torch.get_num_threads() == 1


def test_a_failed_fit_leaves_torch_as_it_was():
    before = torch.get_num_threads()

    def fail(record, model):
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        Trainer(_model(), CFG, progress=False, threads=3, on_epoch_end=fail).fit(torch.rand(40, 6))
    assert torch.get_num_threads() == before


def test_the_trainer_checks_its_threads_at_once():
    with pytest.raises(ConfigError, match="threads=0"):
        Trainer(_model(), CFG, threads=0)
    assert Trainer(_model(), CFG).threads is None
