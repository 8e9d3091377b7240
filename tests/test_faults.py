"""Faults (issue 8, "Trust it"): SIGKILL at random points, a full disk, an unwritable
folder, a model folder deleted under a running command. Each ends in one clear line
(no traceback), with nothing half-written left behind, and training or a sweep
continues where it stopped.

The kill trials themselves live in benchmarks/kill_trials.py (forked `aekit fit` and
`aekit sweep` children killed by SIGKILL, then resumed; every file checked after every
kill); this file runs 20 + 2 of them. Many more::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/kill_trials.py --trials 100
"""

from __future__ import annotations

import errno
import importlib.util
import os
import random
import shutil
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the kill trials fork (POSIX only)")


def _harness():
    """benchmarks/kill_trials.py, imported by path (benchmarks/ is no package)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "kill_trials.py"
    spec = importlib.util.spec_from_file_location("kill_trials", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


kt = _harness()
EPOCHS, FIT, MODEL_FILES, CHECKPOINT = kt.EPOCHS, kt.FIT, kt.MODEL_FILES, kt.CHECKPOINT
run_aekit, temp_files = kt.run_aekit, kt.temp_files


# -- the tests ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    work = tmp_path_factory.mktemp("faults")
    kt.warm_up(work)
    return kt.reference_fit(work)


def test_sigkill_at_random_points_then_resume_equals_uninterrupted(ref, tmp_path):
    rng, stats = random.Random(8), Counter()
    # Each trial's first kill is inside a write, so it surely lands: fifteen in each phase of the second
    # checkpoint's write and of each write of the model directory, five in a random phase of a random write.
    # Every later kill of a chain is random: at a random time, or in a random phase of a random write.
    firsts = [("write", 2, phase) for phase in kt.PHASES]
    firsts += [("write", EPOCHS + k, phase) for k in range(1, len(MODEL_FILES) + 1) for phase in kt.PHASES]
    firsts += [("write", rng.randint(1, EPOCHS + len(MODEL_FILES)), rng.choice(kt.PHASES)) for _ in range(5)]
    for i, first in enumerate(firsts):
        kt.kill_trial(tmp_path / f"trial-{i}", ref, rng, stats, first)
    print(dict(stats))  # pytest -rP shows where the kills landed
    assert stats["trials"] == 20 and stats["kills"] >= 20
    assert stats["kills landed: during training"] >= 3
    assert stats["kills landed: during the save (some model files)"] >= 6
    assert stats["kills that left a temporary file"] >= 6  # the cleanup had something to clean


def test_sigkill_during_a_sweep_then_rerun_gives_the_same_table(ref, tmp_path):
    sweep_ref = kt.reference_sweep(tmp_path)
    rng, stats = random.Random(9), Counter()
    for i in range(2):
        kt.sweep_kill_trial(tmp_path / f"sweep-{i}", sweep_ref, rng, stats)
    print(dict(stats))
    assert stats["sweep trials"] == 2 and stats["sweep kills"] >= 2


def test_sweep_killed_just_after_a_model_finished_leaves_no_checkpoint(ref, tmp_path):
    out = tmp_path / "sweep"
    assert run_aekit(kt.SWEEP + ["-o", str(out)], tmp_path / "log", ("write", "plain-k2.json", "after-replace")) == -9
    assert (out / "runs" / "plain-k2.json").exists() and (out / "checkpoints" / "plain-k2").exists()
    assert run_aekit(kt.SWEEP + ["-o", str(out)], tmp_path / "log") == 0
    assert not (out / "checkpoints").exists(), sorted((out / "checkpoints").rglob("*"))


def test_temporary_files_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    from aekit._atomic import _host, atomic_write_text

    dead = tmp_path / f".a.json.tmp-{_host()}-{2**22 + 7}.abcd_123.json"  # no such pid on Linux
    alive = tmp_path / f".a.json.tmp-{_host()}-{os.getppid()}.abcd_123.json"
    elsewhere = tmp_path / f".a.json.tmp-00000000-{2**22 + 7}.abcd_123.json"  # another host's
    for p in (dead, alive, elsewhere):
        p.write_text("{half")
    atomic_write_text(tmp_path / "b.json", "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, elsewhere.name, "b.json"])
    assert oct((tmp_path / "b.json").stat().st_mode & 0o777) == oct(0o666 & ~_umask())  # as open() would
    (tmp_path / "b.json").chmod(0o640)
    atomic_write_text(tmp_path / "b.json", "[]")
    assert oct((tmp_path / "b.json").stat().st_mode & 0o777) == oct(0o640)  # a replaced file keeps its mode


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- full disk, unwritable folder, deleted folder: one clean line, nothing half-written -------
def _cli(*args):
    from aekit.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def _clean_error(result, *words: str) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"a traceback instead of a message: {result.exception!r}"
    )
    assert result.exit_code == 1, result.output
    assert "aekit: error:" in result.output, result.output
    for word in words:
        assert word in result.output, result.output
    return result.output


def _fail_writes(monkeypatch, target: str, nth: int = 1, code: int = errno.ENOSPC):
    """The nth write of ``target`` writes half its bytes, then fails with ``code`` (a full disk)."""
    real, seen = Path.write_bytes, [0]

    def write_bytes(self, data):
        if self.name.startswith(f".{target}.tmp-"):
            seen[0] += 1
            if seen[0] == nth:
                real(self, bytes(data)[: len(data) // 2])
                raise OSError(code, os.strerror(code), str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


@pytest.mark.parametrize(
    "target, nth",
    [
        ("checkpoint.safetensors", 1),
        ("checkpoint.safetensors", 4),
        ("model.safetensors", 1),
        ("history.json", 1),
        ("config.json", 1),
    ],
)
def test_full_disk_during_fit_is_one_clear_error_and_resume_finishes(ref, tmp_path, monkeypatch, target, nth):
    model = tmp_path / "m"
    _fail_writes(monkeypatch, target, nth)
    out = _clean_error(_cli(*FIT, "-o", model), "No space left on device", str(model))
    if target.startswith("checkpoint"):  # io.save names the folder only (see the report of issue 8)
        assert target in out
    assert temp_files(tmp_path) == []
    # What finished is kept: the checkpoint of the last epoch before the failure.
    assert ref.check_checkpoint(model / CHECKPOINT) == (nth - 1 if target.startswith("checkpoint") else EPOCHS), out
    stats = Counter()
    ref.check_model_dir(model, stats)  # files already written are whole; a partial directory refuses to load
    monkeypatch.undo()  # space freed
    assert _cli(*FIT, "-o", model, "--resume").exit_code == 0
    ref.check_model_dir(model, stats)
    assert temp_files(tmp_path) == [] and not (model / CHECKPOINT).exists()


def test_full_disk_during_a_sweep_is_one_clear_error_and_the_rerun_finishes(ref, tmp_path, monkeypatch):
    out = tmp_path / "sweep"
    _fail_writes(monkeypatch, "checkpoint.safetensors", 5)  # the second model's second epoch
    _clean_error(_cli(*kt.SWEEP, "-o", out), "No space left on device", "checkpoint.safetensors", "code size 3")
    assert temp_files(tmp_path) == [] and (out / "runs" / "plain-k2.json").exists()
    monkeypatch.undo()
    assert _cli(*kt.SWEEP, "-o", out).exit_code == 0
    assert temp_files(tmp_path) == [] and not (out / "checkpoints").exists()


def test_full_disk_at_fsync_of_an_output_is_one_clear_error(ref, tmp_path, monkeypatch):
    """Some file systems (NFS, ext4's delayed allocation) report a full disk only when the data is flushed."""
    if not Path("/proc/self/fd").exists():
        pytest.skip("needs /proc")
    real = os.fsync

    def fsync(fd):
        if ".tmp-" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    _clean_error(
        _cli("encode", ref.model, "builtin:digits", "-o", tmp_path / "codes.npy"),
        "No space left on device",
        "codes.npy",
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["fit", "encode"])
def test_file_size_limit_of_the_kernel_is_one_clear_error(ref, tmp_path, command):
    """A real failing write(2), no mocks: RLIMIT_FSIZE makes the kernel refuse bytes past 4 KiB (EFBIG)."""
    import resource

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the writer
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    argv = (
        FIT + ["-o", str(tmp_path / "m")]
        if command == "fit"
        else ["encode", str(ref.model), "builtin:digits", "-o", str(tmp_path / "out" / "codes.csv")]
    )
    log = tmp_path / "log"
    code = run_aekit(argv, log, setup=limit)
    err = log.read_text()
    assert code == 1 and "aekit: error: cannot write" in err and "File too large" in err, err
    assert "Traceback" not in err
    assert [p for p in tmp_path.rglob("*") if p.is_file() and p != log] == []


@pytest.fixture
def read_only(tmp_path, monkeypatch):
    """A folder this process may not write in. Root ignores its mode, so there the system calls
    that create files and folders in it are made to refuse, as the kernel would for a user."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    probe = folder / "probe"
    try:
        probe.touch()
        probe.unlink()
        writable = True
    except PermissionError:
        writable = False
    if writable:
        real_open, real_mkdir = os.open, os.mkdir

        def inside(path) -> bool:
            return os.path.abspath(os.fsdecode(path)).startswith(str(folder) + os.sep)

        def refuse(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))

        def fake_open(path, flags, *args, **kwargs):
            if flags & os.O_CREAT and inside(path) and not os.path.exists(path):
                refuse(path)
            return real_open(path, flags, *args, **kwargs)

        def fake_mkdir(path, *args, **kwargs):
            if inside(path) and not os.path.exists(path):
                refuse(path)
            return real_mkdir(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", fake_open)
        monkeypatch.setattr(os, "mkdir", fake_mkdir)
    yield folder
    folder.chmod(0o700)


def test_unwritable_output_folder_for_encode_is_one_clear_error(ref, read_only):
    _clean_error(
        _cli("encode", ref.model, "builtin:digits", "-o", read_only / "codes.csv"),
        "Permission denied",
        str(read_only / "codes.csv"),
        "permissions",
    )
    assert list(read_only.iterdir()) == []


def test_unwritable_parent_of_a_new_output_folder_is_one_clear_error(ref, read_only):
    _clean_error(
        _cli("encode", ref.model, "builtin:digits", "-o", read_only / "new" / "codes.csv"), "Permission denied", "new"
    )


def test_unwritable_output_folder_for_fit_is_one_clear_error(read_only):
    _clean_error(_cli(*FIT, "-o", read_only / "m"), "Permission denied", "m")
    assert list(read_only.iterdir()) == []


def test_model_folder_deleted_between_epochs_fit_writes_it_again(ref, tmp_path, monkeypatch):
    """Training holds everything in memory: the next checkpoint and the save recreate the folder, whole."""
    import aekit.train

    model, original, count = tmp_path / "m", aekit.train.loop.atomic_write_bytes, [0]

    def write(path, data, *args, **kwargs):
        original(path, data, *args, **kwargs)
        count[0] += 1
        if count[0] == 3:
            shutil.rmtree(model)

    monkeypatch.setattr(aekit.train.loop, "atomic_write_bytes", write)
    assert _cli(*FIT, "-o", model).exit_code == 0
    stats = Counter()
    ref.check_model_dir(model, stats)
    assert all((model / name).exists() for name in MODEL_FILES) and temp_files(tmp_path) == []


def test_model_folder_deleted_while_fit_saves_it_is_one_clear_error(tmp_path, monkeypatch):
    import aekit.io

    model, original = tmp_path / "m", aekit.io.model_dir.atomic_write_text

    def write(path, text, *args, **kwargs):
        shutil.rmtree(model, ignore_errors=True)  # after model.safetensors, before history.json
        original(path, text, *args, **kwargs)

    monkeypatch.setattr(aekit.io.model_dir, "atomic_write_text", write)
    _clean_error(_cli(*FIT, "-o", model), "No such file or directory", str(model))
    assert list(tmp_path.iterdir()) == []  # nothing half-written: nothing at all


def test_model_folder_deleted_before_encode_is_one_clear_error(ref, tmp_path):
    model = tmp_path / "m"
    shutil.copytree(ref.model, model)
    shutil.rmtree(model)
    _clean_error(_cli("encode", model, "builtin:digits", "-o", tmp_path / "codes.npy"), "does not exist", str(model))
    assert list(tmp_path.iterdir()) == []


def test_model_folder_deleted_while_encode_loads_it_is_one_clear_error(ref, tmp_path, monkeypatch):
    import aekit.io

    model, original = tmp_path / "m", aekit.io.model_dir._read_json
    shutil.copytree(ref.model, model)

    def read_json(*args, **kwargs):
        value = original(*args, **kwargs)
        shutil.rmtree(model, ignore_errors=True)  # config.json read, the weights not yet
        return value

    monkeypatch.setattr(aekit.io.model_dir, "_read_json", read_json)
    _clean_error(_cli("encode", model, "builtin:digits", "-o", tmp_path / "codes.npy"), "missing", str(model))
    assert list(tmp_path.iterdir()) == []
