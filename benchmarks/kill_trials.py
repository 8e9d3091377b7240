"""Kill trials: SIGKILL `aekit fit` and `aekit sweep` at random points, resume, check every file.

Issue 8 ("Trust it"). A trial runs ``aekit fit`` on a tiny model (builtin:digits,
200 rows, 6 epochs) in a forked child of this process: the console script's code
path, with the imports already paid, so one run costs about a tenth of a second.
The child dies by SIGKILL one to four times, then runs to the end with ``--resume``.
A kill comes either from here at a random time, or by the child's own hand at a
chosen phase of its n-th atomic write: half the bytes written, written but not yet
renamed, just renamed. That lands kills inside checkpoint and model writes as
often as anywhere else.

After every kill: the checkpoint, if there is one, parses and equals, tensor for
tensor, the uninterrupted run's checkpoint of the same epoch; every model file
present equals the uninterrupted run's; a model directory missing files refuses
to load with a ModelFileError; the next run starts at the epoch after the
checkpoint's and trains each epoch once. After the last run: the uninterrupted
run's weights bit for bit, its history, no checkpoint folder, no temporary file.
A sweep trial kills ``aekit sweep`` (2 code sizes, 3 epochs) and runs it again
until it finishes with the uninterrupted sweep's table.

tests/test_faults.py runs 20 fit trials and 2 sweep trials with this module; run
many more with::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/kill_trials.py --trials 100 --sweep-trials 10

It prints where the kills landed; any failed check stops it with the trial's name.
POSIX only (fork).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open

EPOCHS = 6
FIT = ["fit", "builtin:digits", "--limit", "200", "--code-dim", "3", "--epochs", str(EPOCHS), "--batch-size", "32",
       "--precision", "fp32", "--device", "cpu", "--set", "hidden=[16]", "--quiet"]
SWEEP = ["sweep", "builtin:digits", "--code-dims", "2", "3", "--epochs", "3", "--limit", "200", "--batch-size", "32",
         "--set", "hidden=[16]", "--set", "precision=fp32", "--set", "device=cpu", "--quiet"]
MODEL_FILES = ("model.safetensors", "history.json", "metrics.json", "config.json")
CHECKPOINT = Path("checkpoint") / "checkpoint.safetensors"
PHASES = ("mid-write", "before-replace", "after-replace")
# What may differ between two runs: wall-clock numbers, and config.json's digests of files holding them.
VOLATILE = {"seconds", "samples_per_s", "train_seconds", "sha256"}


# -- forked children ------------------------------------------------------------------
def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)  # not reached


def _arm(which: int | str, phase: str) -> None:
    """In a child: SIGKILL itself at ``phase`` of an atomic write (aekit._atomic.atomic_write_bytes):
    its n-th, or its first of the file named ``which``."""
    import pathlib

    real_write, real_replace = pathlib.Path.write_bytes, os.replace
    count, fire_at = [0], [which if isinstance(which, int) else None]

    def write_bytes(self, data):
        if ".tmp-" in self.name:  # a temporary file of aekit._atomic
            count[0] += 1
            if fire_at[0] is None and self.name.startswith(f".{which}.tmp-"):
                fire_at[0] = count[0]
            if count[0] == fire_at[0] and phase == "mid-write":
                real_write(self, bytes(data)[: len(data) // 2])
                _die()
        return real_write(self, data)

    def replace(src, dst, *args, **kwargs):
        ours = count[0] == fire_at[0] and ".tmp-" in os.path.basename(src)
        if ours and phase == "before-replace":
            _die()
        real_replace(src, dst, *args, **kwargs)
        if ours and phase == "after-replace":
            _die()

    pathlib.Path.write_bytes, os.replace = write_bytes, replace


def _log_epoch_starts(path: Path) -> None:
    """In a child: append each epoch's number and the monotonic clock to ``path`` as training starts it."""
    from aekit.model import Autoencoder

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    original = Autoencoder.on_epoch_start

    def on_epoch_start(self, epoch):
        os.write(fd, f"{epoch + 1} {time.monotonic()}\n".encode())
        original(self, epoch)

    Autoencoder.on_epoch_start = on_epoch_start


def _keep_checkpoints(folder: Path) -> None:
    """In a child: also copy every checkpoint it writes to ``folder/<epoch>.safetensors``."""
    import aekit.train

    folder.mkdir(parents=True, exist_ok=True)
    original, count = aekit.train.loop.atomic_write_bytes, [0]

    def write(path, data, *args, **kwargs):
        original(path, data, *args, **kwargs)
        if Path(path).name == CHECKPOINT.name:
            count[0] += 1
            (folder / f"{count[0]}.safetensors").write_bytes(data)

    aekit.train.loop.atomic_write_bytes = write


def run_aekit(argv: list[str], log: Path, kill: tuple | None = None, setup=None) -> int:
    """``aekit ARGV`` in a forked child; its exit code, -9 when killed.

    ``kill``: ("time", seconds) from here, or ("write", n, phase) by its own hand.
    ``setup()`` runs in the child first (patches that must not touch this process).
    """
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            out = open(log, "a", buffering=1)
            os.dup2(out.fileno(), 1)
            os.dup2(out.fileno(), 2)
            sys.stdout = sys.stderr = out
            if setup is not None:
                setup()
            if kill is not None and kill[0] == "write":
                _arm(*kill[1:])
            from aekit.cli import main

            main(argv, standalone_mode=False)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
            finally:
                os._exit(code)
    if kill is not None and kill[0] == "time":
        deadline = time.monotonic() + kill[1]
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.002)
        os.kill(pid, signal.SIGKILL)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


# -- what a run writes, compared with the uninterrupted run's ----------------------------
def _strip(value):
    """``value`` without what may differ between two runs."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    with safe_open(str(path), "pt") as fh:  # raises on a truncated or corrupt file
        return {k: fh.get_tensor(k) for k in fh.keys()}, fh.metadata()


def _same_tensors(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _starts(path: Path) -> list[tuple[int, float]]:
    """(epoch, monotonic time) of each epoch a child started, from :func:`_log_epoch_starts`."""
    lines = path.read_text().splitlines() if path.exists() else []
    return [(int(epoch), float(at)) for epoch, at in (line.split() for line in lines)]


@dataclass
class Reference:
    """An uninterrupted run: its model directory, its checkpoint after every epoch, its timing."""

    model: Path
    seconds: float
    startup: float = 0.0  # fork to the first epoch
    per_epoch: float = 0.0
    checkpoints: dict[int, tuple[dict, dict]] = field(default_factory=dict)  # epoch -> (tensors, meta)

    def expected_seconds(self, done: int) -> float:
        """How long a run resuming after epoch ``done`` should take (what a random kill time spans)."""
        tail = max(self.seconds - self.startup - EPOCHS * self.per_epoch, 0.0)
        return self.startup + (EPOCHS - done) * self.per_epoch + tail

    def __post_init__(self):
        self.files = {name: self._read(self.model / name) for name in MODEL_FILES}

    @staticmethod
    def _read(path: Path):
        return _tensors(path)[0] if path.suffix == ".safetensors" else _strip(json.loads(path.read_text()))

    def check_model_dir(self, model: Path, stats: Counter) -> None:
        """Every model file present equals the reference's; a partial directory refuses to load, clearly."""
        import aekit
        from aekit.errors import ModelFileError

        present = [name for name in MODEL_FILES if (model / name).exists()]
        for name in present:
            value = self._read(model / name)
            same = _same_tensors(value, self.files[name]) if isinstance(value, dict) and name.endswith(
                ".safetensors") else value == self.files[name]
            assert same, f"{model / name} differs from the uninterrupted run's"
        if present and len(present) < len(MODEL_FILES):
            stats["partial model directory seen"] += 1
            try:
                aekit.load(model)
            except ModelFileError as exc:
                assert "missing" in str(exc), exc
            else:
                raise AssertionError(f"{model} loads with only {present}")
        elif present:
            try:
                aekit.load(model)
            except ModelFileError as exc:  # a save over an earlier one, killed before config.json: old digests
                assert "SHA-256" in str(exc), exc
                stats["complete-looking directory refused (digest of a half-overwritten save)"] += 1

    def check_checkpoint(self, path: Path) -> int:
        """The epoch a checkpoint holds (0: none); it must equal the reference's after that epoch."""
        if not path.exists():
            return 0
        tensors, header = _tensors(path)
        meta = json.loads(header["meta"])
        epoch = meta["state"]["epoch"]
        assert [r["epoch"] for r in meta["history"]] == list(range(1, epoch + 1)), f"{path}: history {meta}"
        ref_tensors, ref_meta = self.checkpoints[epoch]
        assert _same_tensors(tensors, ref_tensors), f"{path} (epoch {epoch}) differs from the uninterrupted run's"
        assert _strip(meta) == _strip(ref_meta), f"{path} (epoch {epoch}): metadata differs"
        return epoch


def temp_files(root: Path) -> list[Path]:
    """Dot files under ``root`` (temporary files of atomic writes), the sweep's lock aside."""
    return sorted(p for p in root.rglob(".*") if p.name != ".lock")


def warm_up(work: Path) -> None:
    """Import and run everything once here, so forked children start warm."""
    from aekit.cli import main

    torch.set_num_threads(1)
    with open(os.devnull, "w") as null:
        old, sys.stdout = sys.stdout, null
        try:
            main(FIT + ["-o", str(work / "warm-up")], standalone_mode=False)
        finally:
            sys.stdout = old


def reference_fit(work: Path) -> Reference:
    model, kept, starts_log = work / "reference", work / "reference-checkpoints", work / "reference-starts"

    def setup():
        _keep_checkpoints(kept)
        _log_epoch_starts(starts_log)

    t0 = time.monotonic()
    code = run_aekit(FIT + ["-o", str(model)], work / "reference.log", setup=setup)
    assert code == 0, (work / "reference.log").read_text()
    timings = [_timing(t0, time.monotonic(), starts_log)]
    # A second run for the timing alone: the first child after the warm-up is slower than the rest.
    t0 = time.monotonic()
    run_aekit(FIT + ["-o", str(work / "timing")], work / "timing.log", setup=lambda: _log_epoch_starts(work / "t"))
    timings.append(_timing(t0, time.monotonic(), work / "t"))
    ref = Reference(model, *min(timings))
    for path in kept.iterdir():
        tensors, header = _tensors(path)
        ref.checkpoints[int(path.stem)] = (tensors, json.loads(header["meta"]))
    assert sorted(ref.checkpoints) == list(range(1, len(ref.files["history.json"]) + 1))
    return ref


def _timing(t0: float, end: float, starts_log: Path) -> tuple[float, float, float]:
    """(seconds, startup, per_epoch) of one run."""
    starts = [at for _, at in _starts(starts_log)]
    return end - t0, starts[0] - t0, (starts[-1] - starts[0]) / max(len(starts) - 1, 1)


# -- one kill trial of `aekit fit` -------------------------------------------------------
def _plan(rng: random.Random, ref: Reference, done: int) -> tuple:
    if rng.random() < 0.5:
        return ("time", rng.uniform(0.0, ref.expected_seconds(done)))
    writes = (EPOCHS - done) + len(MODEL_FILES)  # this run's checkpoints, then the model directory
    return ("write", rng.randint(1, writes), rng.choice(PHASES))


def kill_trial(work: Path, ref: Reference, rng: random.Random, stats: Counter, first: tuple | None = None) -> None:
    """Kill `aekit fit` one to four times, resume after each, check everything at every step."""
    work.mkdir(parents=True)
    model = work / "model"
    kills = rng.randint(1, 4)
    for run in range(kills + 1):
        before = ref.check_checkpoint(model / CHECKPOINT)
        plan = None if run == kills else first if run == 0 and first else _plan(rng, ref, before)
        starts_log = work / f"starts-{run}"
        code = run_aekit(FIT + ["-o", str(model)] + (["--resume"] if run else []), work / "log", plan,
                         setup=lambda: _log_epoch_starts(starts_log))
        stats["runs"] += 1
        starts = [epoch for epoch, _ in _starts(starts_log)]
        # A resume starts at the epoch after its checkpoint's, and trains each epoch once.
        assert starts == list(range(before + 1, before + 1 + len(starts))), (before, starts)
        after = ref.check_checkpoint(model / CHECKPOINT)
        ref.check_model_dir(model, stats)
        if code == 0:
            assert before + len(starts) == EPOCHS, (before, starts)
            if plan is not None:
                stats["kill came after the run had finished"] += 1
            break
        assert code == -signal.SIGKILL, (work / "log").read_text()
        stats["kills"] += 1
        stats[f"kills by plan: {plan[0] if plan[0] == 'time' else plan[2]}"] += 1
        trained_to, files = before + len(starts), [n for n in MODEL_FILES if (model / n).exists()]
        if after == 0 and trained_to == EPOCHS and len(files) == len(MODEL_FILES):
            where = "after the save (checkpoint removed)"
        else:  # the epoch under way was lost, or checkpointed just before the kill: never more, never less
            assert after in ((trained_to, trained_to - 1) if starts else (before,)), (before, starts, after)
            where = ("before the first checkpoint" if after == 0 else "during training" if after < EPOCHS else
                     "after training, no model file yet" if not files else
                     "during the save (some model files)" if len(files) < len(MODEL_FILES) else
                     "after the last model file, checkpoint not yet removed")
        stats[f"kills landed: {where}"] += 1
        if temp_files(model.parent):
            stats["kills that left a temporary file"] += 1
    assert code == 0, f"the last run of trial {work.name} did not finish: {(work / 'log').read_text()}"
    ref.check_model_dir(model, stats)  # the uninterrupted run's weights, bit for bit
    assert all((model / name).exists() for name in MODEL_FILES)
    assert [r["epoch"] for r in json.loads((model / "history.json").read_text())] == list(range(1, EPOCHS + 1))
    assert not (model / CHECKPOINT).parent.exists(), "the checkpoint folder outlived a finished fit"
    assert temp_files(work) == [], "temporary files of killed writes were never cleaned up"
    stats["trials"] += 1


# -- one kill trial of `aekit sweep` -----------------------------------------------------
@dataclass
class SweepReference:
    out: Path
    seconds: float

    def __post_init__(self):
        self.table = self.table_of(self.out)
        self.runs = {p.name: _strip(json.loads(p.read_text())) for p in (self.out / "runs").glob("*.json")}
        self.models = {d.name: Reference(d, 0.0) for d in (self.out / "models").iterdir()}

    @staticmethod
    def table_of(out: Path) -> list[list[str]]:
        """sweep.csv without its train-time column."""
        rows = [line.split(",") for line in (out / "sweep.csv").read_text().splitlines()]
        drop = rows[0].index("train_seconds")
        return [row[:drop] + row[drop + 1 :] for row in rows]

    def check(self, out: Path, stats: Counter) -> None:
        for path in sorted((out / "runs").glob("[!.]*.json")):  # not the temporary files beside them
            assert _strip(json.loads(path.read_text())) == self.runs[path.name], f"{path} differs"
        for model in sorted((out / "models").iterdir()) if (out / "models").exists() else []:
            self.models[model.name].check_model_dir(model, stats)
        for ckpt in sorted((out / "checkpoints").glob("*/checkpoint.safetensors")):
            tensors, header = _tensors(ckpt)  # whole; its epochs each once
            meta = json.loads(header["meta"])
            assert [r["epoch"] for r in meta["history"]] == list(range(1, meta["state"]["epoch"] + 1))
            reference_history = self.models[ckpt.parent.name].files["history.json"]
            assert _strip(meta["history"]) == reference_history[: meta["state"]["epoch"]]


def reference_sweep(work: Path) -> SweepReference:
    out = work / "sweep-reference"
    t0 = time.perf_counter()
    code = run_aekit(SWEEP + ["-o", str(out)], work / "sweep-reference.log")
    assert code == 0, (work / "sweep-reference.log").read_text()
    return SweepReference(out, time.perf_counter() - t0)


def sweep_kill_trial(work: Path, ref: SweepReference, rng: random.Random, stats: Counter) -> None:
    """Kill `aekit sweep` one to three times, run it again after each; the same table at the end."""
    work.mkdir(parents=True)
    out = work / "sweep"
    kills = rng.randint(1, 3)
    for run in range(kills + 1):
        plan = None
        if run < kills:  # 2 models x (3 checkpoints + 4 model files + its run record) + sweep.json, .md, .csv
            plan = ("time", rng.uniform(0, 1.1 * ref.seconds)) if rng.random() < 0.5 else (
                "write", rng.randint(1, 19), rng.choice(PHASES))
        code = run_aekit(SWEEP + ["-o", str(out)], work / "log", plan)
        stats["sweep runs"] += 1
        ref.check(out, stats)
        if code == 0:
            break
        assert code == -signal.SIGKILL, (work / "log").read_text()
        stats["sweep kills"] += 1
        finished = len(list((out / "runs").glob("[!.]*.json")))
        stats[f"sweep kills landed: {finished} of {len(ref.runs)} models finished"] += 1
    assert code == 0, (work / "log").read_text()
    assert SweepReference.table_of(out) == ref.table
    assert sorted(p.name for p in (out / "models").iterdir()) == sorted(ref.models)
    assert all((model / name).exists() for model in (out / "models").iterdir() for name in MODEL_FILES)
    assert temp_files(out) == []
    if (out / "checkpoints").exists():
        # aekit.analysis.sweep reads a finished model back without removing the checkpoint that a kill
        # between its run record and remove_checkpoint left (tests/test_faults.py has the xfail test).
        stale = sorted(p.name for p in (out / "checkpoints").iterdir())
        assert stale and all((out / "runs" / f"{name}.json").exists() for name in stale), stale
        stats["finished sweeps that kept a stale checkpoint (sweep.py bug)"] += 1
    stats["sweep trials"] += 1


# -- many more trials ------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100, help="kill trials of `aekit fit` (default 100)")
    parser.add_argument("--sweep-trials", type=int, default=10, help="kill trials of `aekit sweep` (default 10)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    stats, t0 = Counter(), time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="aekit-kill-trials-"))
    warm_up(work)
    ref = reference_fit(work)
    rng = random.Random(args.seed)
    trials = [(f"trial-{i}", kill_trial, ref) for i in range(args.trials)]
    trials += [(f"sweep-{i}", sweep_kill_trial, None) for i in range(args.sweep_trials)]
    sweep_ref = None
    for name, trial, reference in trials:
        if reference is None:
            sweep_ref = reference = sweep_ref or reference_sweep(work)
        try:
            trial(work / name, reference, rng, stats)
        except AssertionError:
            print(f"{name} failed; its files are kept in {work / name}", file=sys.stderr)
            raise
        shutil.rmtree(work / name)
    shutil.rmtree(work)
    print(f"all checks passed in {time.perf_counter() - t0:.0f} s (uninterrupted fit: {ref.seconds:.2f} s, "
          f"{ref.startup:.2f} s to the first epoch, {ref.per_epoch * 1000:.0f} ms per epoch; "
          f"sweep: {sweep_ref.seconds if sweep_ref else 0:.2f} s)")
    for key in sorted(stats):
        print(f"  {key:55s} {stats[key]}")


if __name__ == "__main__":
    main()
