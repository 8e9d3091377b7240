"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Write to a temporary file in the same directory, flush it to disk, then
``os.replace`` it over the target (atomic on POSIX and Windows).

What a crash leaves behind. An exception (Ctrl-C included) removes the temporary
file. SIGKILL, an out-of-memory kill or a power cut cannot: the dying process runs
no more code. Its temporary file keeps the target intact and is named
``.TARGET.tmp-HOST-PID.XXXXXXXX<suffix>``: a dot file, never opened by aekit's
readers (they open files by name). The next atomic write into the same folder
removes every such file whose process, on this host, is gone (:func:`remove_stale_temps`),
so kills do not pile files up. A file of a process that is still running, or of
another host on a shared file system, is left alone. (The folder is not flushed
after the rename: after a power cut a reader may find the previous file, never half
of one.)

Errors. An ``OSError`` while writing (no permission, no space left, the folder
deleted meanwhile) becomes :class:`WriteError`: an :class:`aekit.errors.AekitError`
(the CLI prints it as one line) that is still an ``OSError`` with the same
``errno``, and whose message names the file, the cause and what to do.

The written file gets the permissions a plain ``open(path, "w")`` would give it
(``0o666`` less the umask), or keeps those of the file it replaces.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from aekit.errors import AekitError

# ".checkpoint.safetensors.tmp-1a2b3c4d-4242.k2j_x9q1.safetensors": mkstemp's random part is 8 of [a-z0-9_].
_TEMP = re.compile(r"^\..+\.tmp-(?P<host>[0-9a-f]{8})-(?P<pid>\d+)\.[a-z0-9_]{8}")

_HINTS = {
    errno.ENOSPC: "free some space or write to another disk",
    errno.EDQUOT: "the disk quota is used up; free some space or write elsewhere",
    errno.EACCES: "check the folder's permissions or choose another output",
    errno.EPERM: "check the folder's permissions or choose another output",
    errno.EROFS: "the file system is read-only; choose another output",
    errno.EFBIG: "the file exceeds the file-size limit (ulimit -f) or the file system's",
}


class WriteError(AekitError, OSError):
    """A file aekit could not write: its path, the system's reason and what to do.

    ``WriteError(path, cause)`` from the ``OSError`` that stopped the write; still
    an ``OSError`` with the system's ``errno`` and ``strerror`` and ``filename=path``,
    so code that catches ``OSError`` around a save keeps working. ``WriteError(message)``
    alone works too, for code that re-raises an AekitError as ``type(exc)(more words)``.
    """

    def __init__(self, path: str | os.PathLike, cause: OSError | None = None):
        if cause is None:
            super().__init__(str(path))
            self.message = str(path)
            return
        reason = cause.strerror or str(cause)
        super().__init__(cause.errno, reason)
        self.filename = str(path)
        if cause.errno == errno.ENOENT:
            hint = f"the folder {Path(path).parent} does not exist; was it deleted while the command ran?"
        else:
            hint = _HINTS.get(cause.errno, "")
        self.message = f"cannot write {path}: {reason}" + (f" ({hint})" if hint else "")

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # picklable across processes (torchrun ranks, multiprocessing) despite __init__
        return _restore, (self.message, self.errno, self.strerror, self.filename)


def _restore(message: str, code: int | None, reason: str | None, filename: str | None) -> WriteError:
    error = WriteError(message)
    error.errno, error.strerror, error.filename = code, reason, filename
    return error


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None, *, parents: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``.

    On any exception the temporary file is removed and ``path`` is untouched; an
    ``OSError`` comes out as :class:`WriteError` naming ``path``. ``suffix``
    defaults to the target's, for writers that choose a format by it.
    ``parents=True`` creates missing parent folders first (their errors become a
    WriteError too).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.npy"
    >>> with atomic_path(target) as tmp:
    ...     np.save(tmp, np.zeros(3))
    >>> np.load(target).shape
    (3,)
    >>> sorted(p.name for p in target.parent.iterdir())  # no temporary file left
    ['a.npy']
    """
    path = Path(path)
    try:
        if parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(path.parent)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{path.name}.tmp-{_host()}-{os.getpid()}.",
            suffix=suffix if suffix is not None else path.suffix,
            dir=path.parent,
        )
    except OSError as exc:
        raise WriteError(path, exc) from exc
    tmp = Path(tmp_name)
    try:
        try:
            if hasattr(os, "fchmod"):  # mkstemp makes it 0o600; a model should read like any file the user writes
                os.fchmod(fd, _mode_for(path))
        finally:
            os.close(fd)
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and not isinstance(exc, AekitError):
            raise WriteError(path, exc) from exc
        raise


def make_dir(path: str | os.PathLike) -> Path:
    """Create the folder ``path`` and any missing parents; an ``OSError`` comes out as
    :class:`WriteError` naming it (an unwritable parent, a full disk).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> make_dir(pathlib.Path(tempfile.mkdtemp()) / "a" / "b").is_dir()
    True
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(path, exc) from exc
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, parents: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path, parents=parents) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str, *, parents: bool = False) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"), parents=parents)


def remove_stale_temps(directory: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that killed writers left in ``directory``; returns them.

    Only files named as :func:`atomic_path` names them, written on this host by a
    process that no longer runs. Never raises: a folder that cannot be listed, or
    a file that cannot be removed, is left as it is.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> dead = 2**22 + 1  # above Linux's largest pid: no such process
    >>> _ = (d / f".a.npy.tmp-{_host()}-{dead}.abcd1234.npy").write_bytes(b"half")
    >>> [p.name[:5] for p in remove_stale_temps(d)], list(d.iterdir())
    (['.a.np'], [])
    """
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there: never probe
        return []
    removed: list[Path] = []
    host = _host()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP.match(entry.name)
        if match is None or match["host"] != host or _alive(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


@functools.cache
def _host() -> str:
    """Eight hex digits naming this machine, so a shared folder's files are judged by their own host."""
    return hashlib.blake2s(socket.gethostname().encode(), digest_size=4).hexdigest()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):  # EPERM: another user's process, alive
        return True
    return True


@functools.cache
def _umask() -> int:
    try:  # Linux shows it; os.umask can only read it by setting it, for every thread at once
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()
