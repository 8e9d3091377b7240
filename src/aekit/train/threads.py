"""How many threads a fit gives torch: a fair share of the CPU, not all of it.

Why: torch starts with one intra-op thread per core and keeps them all even when
another process is busy on one of those cores. Its parallel regions end in a
barrier, so the thread that shares a core with the other process holds up every
other thread at every operation: a small fit (benchmarks/busy_core.py, 2 cores)
took 3.5x its idle time with one other process spinning on one core (issue 16
measured 3.0x). With one thread fewer it took 0.94x its idle time (see
BENCHMARKS.md, "A fair share of the CPU").

The policy, :func:`choose_threads`, first match wins:

1. An explicit request (``Trainer(..., threads=n)``) is used as given.
2. The ``AEKIT_NUM_THREADS`` environment variable, a positive integer, likewise.
3. If ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` is set, the thread count was pinned
   by the user or a launcher (``torchrun`` sets ``OMP_NUM_THREADS=1`` when it starts
   several processes): torch's current count, which it read from them, is kept.
4. Otherwise the fair share: the cores this process may use (``os.sched_getaffinity``,
   else ``os.cpu_count()``; a cgroup CPU quota in ``/sys/fs/cgroup/cpu.max`` lowers
   it), divided by ``LOCAL_WORLD_SIZE`` under torchrun so the ranks on one machine
   split them; in a single process, less the cores busy with other work right now
   (:func:`busy_cores`, rounded); never more than torch's current count (its default
   is one per physical core, so hyper-threads stay unused, and a user's own
   ``torch.set_num_threads(k)`` is a ceiling), and at least 1. Under torchrun the
   load is not measured: the busy cores would be the sibling ranks, already counted
   by the division, and every rank gets the same number.

:func:`thread_budget` (and the decorator :func:`with_thread_budget` on ``Trainer.fit``)
applies the number for the duration of a fit and restores
torch's previous count afterwards, also when the fit raises. torch's BLAS (MKL in the
PyPI build) and oneDNN follow ``torch.set_num_threads``, so one setting covers the
training loop's matrix products. numpy's own BLAS (OpenBLAS) keeps its pool, but the
loop does not call it: the PCA warm start that uses it runs before training, not
beside it. Data loading adds no pool to oversubscribe: the batch sources slice
tensors in the training thread and the streamed parquet reader runs with
``use_threads=False``. torch's inter-op pool is left alone (aekit runs nothing on
it, and it can be sized only once per process).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

import torch

from aekit.errors import ConfigError

P = ParamSpec("P")
R = TypeVar("R")

#: The environment variable that sets a fit's thread count outright.
ENV_VAR = "AEKIT_NUM_THREADS"
#: Variables that pin torch's thread count at start-up; when set, the count is left as it is.
PINNING_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
PROC_STAT = Path("/proc/stat")
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
_own_cpu, _wall = time.process_time, time.perf_counter  # this process's CPU seconds (all threads), wall seconds


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def read_proc_stat() -> str | None:
    """The text of ``/proc/stat``, or None where there is none (macOS, Windows)."""
    return _read(PROC_STAT)


def cpu_times(text: str) -> dict[int, tuple[int, int]]:
    """Per-CPU ``(busy, total)`` clock ticks from ``/proc/stat`` text.

    Busy is everything but idle and iowait; guest time is already inside user time.

    >>> cpu_times("cpu  9 0 3 80 2 0 0 0 0 0\\ncpu0 5 0 1 40 1 0 0 0 0 0\\ncpu1 4 0 2 40 1 0 0 0 0 0\\n")
    {0: (6, 47), 1: (6, 47)}
    """
    times: dict[int, tuple[int, int]] = {}
    for line in text.splitlines():
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu" or not name[3:].isdigit():
            continue
        ticks = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
        total = sum(ticks)
        times[int(name[3:])] = (total - sum(ticks[3:5]), total)
    return times


def allowed_cpus() -> set[int] | None:
    """The CPUs this process may run on, or None where the platform cannot say."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def available_cores(cpu_max: str | None = None) -> int:
    """Cores this process may use: its CPU affinity (else ``os.cpu_count()``), capped by a
    cgroup v2 CPU quota (``cpu.max``, e.g. ``"200000 100000"`` is 2 cores); at least 1."""
    cpus = allowed_cpus()
    cores = len(cpus) if cpus is not None else (os.cpu_count() or 1)
    quota = (cpu_max if cpu_max is not None else _read(CGROUP_CPU_MAX) or "max").split()
    if len(quota) == 2 and quota[0] != "max":
        with contextlib.suppress(ValueError, ZeroDivisionError):
            cores = min(cores, math.ceil(int(quota[0]) / int(quota[1])))
    return max(1, cores)


def busy_cores(interval: float = 0.05, read: Callable[[], str | None] = read_proc_stat) -> float:
    """How many of this process's cores other work keeps busy, measured over ``interval`` seconds.

    ``/proc/stat`` is read twice; each allowed CPU's busy share of the interval is summed
    and this process's own CPU time over it is taken off. Where there is no ``/proc/stat``,
    the 1-minute load average scaled to the allowed CPUs stands in (it counts this process
    too, so it errs towards fewer threads); where there is none of that either, 0.
    """
    first, own, wall = read(), _own_cpu(), _wall()
    cpus = allowed_cpus()
    if first is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            return 0.0
        share = len(cpus) / (os.cpu_count() or len(cpus)) if cpus else 1.0
        return max(0.0, load * share)
    time.sleep(interval)
    second, own, wall = read(), _own_cpu() - own, _wall() - wall
    if second is None:
        return 0.0
    before, after = cpu_times(first), cpu_times(second)
    busy = 0.0
    for cpu in after.keys() & before.keys():
        if cpus is not None and cpu not in cpus:
            continue
        ticks, total = (a - b for a, b in zip(after[cpu], before[cpu]))
        busy += ticks / total if total > 0 else 0.0
    return max(0.0, busy - own / max(wall, 1e-9))


def _positive(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{what}={value!r} must be a positive integer (or unset for a fair share of the CPU)")
    return value


def check_threads(threads: object) -> int | None:
    """``threads`` if it is None or a positive integer, else a ConfigError."""
    return None if threads is None else _positive(threads, "threads")


def local_world_size() -> int:
    """Processes torchrun started on this machine (``LOCAL_WORLD_SIZE``), 1 outside torchrun."""
    value = os.environ.get("LOCAL_WORLD_SIZE", "").strip() or "1"
    try:
        return max(1, int(value))
    except ValueError:
        raise ConfigError(f"LOCAL_WORLD_SIZE={value!r} must be an integer") from None


def choose_threads(requested: int | None = None, busy: Callable[[], float] = busy_cores) -> int:
    """The intra-op thread count for a fit, by the policy in this module's docstring.

    >>> choose_threads(3)
    3
    >>> choose_threads() >= 1
    True
    """
    if requested is not None:
        return _positive(requested, "threads")
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return _positive(int(env) if env.isdigit() else env, ENV_VAR)
    if any(os.environ.get(name, "").strip() for name in PINNING_VARS):
        return torch.get_num_threads()
    ranks = local_world_size()
    cores = max(1, available_cores() // ranks)
    ceiling = max(1, torch.get_num_threads())
    if min(cores, ceiling) == 1:
        return 1  # nothing to decide: no need to measure the load
    if ranks > 1:
        return min(cores, ceiling)
    return max(1, min(cores - math.floor(busy() + 0.5), ceiling))


@contextlib.contextmanager
def thread_budget(threads: int) -> Iterator[int]:
    """Run the body with ``torch.set_num_threads(threads)``; restore the previous count after.

    >>> before = torch.get_num_threads()
    >>> with thread_budget(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    previous = torch.get_num_threads()
    if threads != previous:
        torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def with_thread_budget(method: Callable[P, R]) -> Callable[P, R]:
    """Run a method under ``thread_budget(choose_threads(self.threads))`` (``Trainer.fit``).

    >>> class Fit:
    ...     threads = 1
    ...     @with_thread_budget
    ...     def run(self):
    ...         return torch.get_num_threads()
    >>> Fit().run()
    1
    """

    @functools.wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with thread_budget(choose_threads(getattr(args[0], "threads", None))):  # args[0]: self
            return method(*args, **kwargs)

    return run
