"""A streamed ``aekit score`` that is killed continues where it stopped.

Rows go to ``OUT.partial`` beside the output ``OUT``. After each chunk the rows are
flushed and fsynced, and only then ``OUT.partial.json`` is written atomically: the
rows done, the partial file's length at that point, the count above the threshold,
and a fingerprint of the job (:func:`fingerprint`). The record never counts bytes
that are not on disk, so after a kill the partial file is at least as long as the
record says; what lies beyond (a chunk written but not yet recorded) is cut off.

A rerun whose fingerprint equals the record's truncates the partial file to the
recorded length and reads DATA from the recorded row on; any difference, a missing
or damaged record, or a partial file shorter than recorded starts over, and
:attr:`ResumableCSV.restart_reason` says why. At the end the partial file is
fsynced and renamed over ``OUT``, then the record is removed. Chunks are the same
on every run (a file's chunking depends only on the file and the chunk size, both
in the fingerprint), so the finished file is byte for byte the uninterrupted one.

While a run writes ``OUT.partial`` it holds a lock on it (POSIX ``flock``): the
same command started twice refuses to start the second time rather than mix rows.

What a failure leaves: a kill, Ctrl-C or a write error (a full disk) keeps both
files, for the rerun to continue; an aekit error about the job itself (bad data in
row 5,000) removes them, since its rerun cannot continue the same job.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from aekit._atomic import WriteError, atomic_write_text, remove_stale_temps
from aekit._version import __version__
from aekit.data import Dataset
from aekit.data.stream import ParquetStream, RowStream
from aekit.errors import AekitError, ConfigError
from aekit.estimators.anomaly import DETECTOR_FILE
from aekit.io import CONFIG, WEIGHTS

FORMAT = "aekit-score-progress-1"
OUTPUT_VERSION = 1  # the CSV layout `aekit score` writes; bump it when that changes, so no rerun mixes two
MODEL_FILES = (CONFIG, WEIGHTS, DETECTOR_FILE)  # what AnomalyDetector.load reads (and member-*/ CONFIG, WEIGHTS)
_NAMES = {
    "output_version": "aekit's output format",
    "aekit": "the aekit version",
    "torch": "the torch version",
    "model": "the detector's files",
    "data": "DATA (its path, size or modification time)",
    "chunk_rows": "the chunk size (--chunk-rows)",
    "top": "--top",
}


def partial_paths(out: str | os.PathLike) -> tuple[Path, Path]:
    """The partial file and its progress record beside ``out``: ``OUT.partial``, ``OUT.partial.json``."""
    out = Path(out)
    return out.with_name(out.name + ".partial"), out.with_name(out.name + ".partial.json")


def fingerprint(model: str | os.PathLike, data: str | os.PathLike, stream: RowStream, **options: Any) -> dict:
    """What decides the rows of one score job, as JSON values: equal fingerprints write equal files.

    The SHA-256 of the detector's files, DATA's resolved path, size and mtime (in
    ns), the stream's chunk size, the output format and the aekit and torch
    versions (a new version may score differently), plus ``options`` (``top``).
    """
    import torch

    model_dir = Path(model)
    names = [*MODEL_FILES, *(f"{d.name}/{n}" for d in sorted(model_dir.glob("member-*")) for n in MODEL_FILES[:2])]
    files = {name: _sha256(model_dir / name) for name in names if (model_dir / name).is_file()}
    path = Path(data).expanduser().resolve()
    stat = path.stat()
    return {
        "output_version": OUTPUT_VERSION,
        "aekit": __version__,
        "torch": torch.__version__,
        "model": files,
        "data": {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns},
        "chunk_rows": stream.chunk_rows,
        **options,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for piece in iter(lambda: fh.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


def inputs_from(est: Any, stream: RowStream, start: int) -> Iterator[tuple[np.ndarray, Any]]:
    """:func:`aekit.estimators.streaming.model_inputs` from file row ``start`` on: (row numbers (k,), chunk).

    Blocks that end at or before ``start`` (a ``.npy`` file's chunks, a Parquet
    file's row groups) are never read; the block holding ``start`` is read and cut
    there. A table model's Parquet frames have no block order to skip by: the rows
    before ``start`` are read and dropped unscored.
    """
    if getattr(est, "schema_", None) is not None and isinstance(stream, ParquetStream):
        for rows, frame in stream.frames():
            if rows[-1] < start:
                continue
            if rows[0] < start:
                keep = rows >= start
                rows, frame = rows[keep], frame[keep].reset_index(drop=True)
            yield rows, frame
        return
    order = [i for i, (_, end) in enumerate(stream.blocks()) if end > start]
    for rows, x in stream.chunks(order):
        if rows[0] < start:
            keep = rows >= start
            rows, x = rows[keep], x[keep]
        if len(rows):
            yield rows, Dataset(x=x, y=None, kind=stream.kind, name=stream.name)


class ResumableCSV:
    """The rows of one score job, written to ``OUT.partial`` and recorded per chunk (module docstring).

    Use through :func:`resumable_csv`. After opening, ``rows`` and ``flagged`` are
    what earlier runs already wrote (0 on a fresh start) and ``restart_reason``
    says in a few words why saved progress was not used (None when there was none
    or it was used).
    """

    def __init__(self, out: str | os.PathLike, job: dict, header: str):
        self.out = Path(out)
        self.partial, self.record = partial_paths(self.out)
        self.job, self.header = job, header
        self.rows = self.flagged = 0
        self.restart_reason: str | None = None
        self._fh = None

    def open(self, n_rows: int) -> None:
        """Continue the saved job if it is this one, else start ``OUT.partial`` afresh; ``n_rows`` in DATA.

        The partial file is locked while this writer has it open: a second run of
        the same command refuses to start instead of writing into the first one's rows.
        """
        remove_stale_temps(self.out.parent)  # a record's temporary file from a killed write
        with _naming(self.partial):
            existed = self.partial.exists()
            self._fh = os.fdopen(os.open(self.partial, os.O_RDWR | os.O_CREAT, 0o666), "r+b")
        try:
            _lock(self._fh, self.partial)
            saved, self.restart_reason = self._saved(n_rows, existed)
            with _naming(self.partial):
                if saved is None:
                    self._fh.truncate(0)
                    self._fh.write(self.header.encode())
                    return
                self._fh.truncate(saved["bytes"])  # a chunk written after the last record goes
                self._fh.seek(saved["bytes"])
        except BaseException:
            self.close()
            raise
        self.rows, self.flagged = saved["rows"], saved["flagged"]

    def _saved(self, n_rows: int, existed: bool) -> tuple[dict | None, str | None]:
        """The saved progress if it continues this job, else (None, why not; None when nothing was saved)."""
        if not self.record.is_file():
            return None, f"{self.partial.name} has no progress record" if existed else None
        try:
            saved = json.loads(self.record.read_text())
            valid = (
                saved["format"] == FORMAT
                and isinstance(saved["job"], dict)
                and all(type(saved[k]) is int and saved[k] >= 0 for k in ("rows", "bytes", "flagged"))
            )
        except (OSError, ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            return None, f"{self.record.name} is unreadable"
        changed = [
            _NAMES.get(k, k)
            for k in sorted(set(self.job) | set(saved["job"]))
            if self.job.get(k) != saved["job"].get(k)
        ]
        if changed:
            return None, f"{', '.join(changed)} changed since the interrupted run"
        if saved["rows"] > n_rows or saved["flagged"] > saved["rows"]:
            return None, f"{self.record.name} counts rows DATA does not have"
        if os.fstat(self._fh.fileno()).st_size < saved["bytes"]:
            return None, f"{self.partial.name} is shorter than its progress record says"
        return saved, None

    def write(self, text: str, rows: int, flagged: int) -> None:
        """Append ``rows`` rows (``text``, ``flagged`` of them above the threshold) and record them."""
        with _naming(self.partial):
            self._fh.write(text.encode())
            self._fh.flush()
            os.fsync(self._fh.fileno())  # on disk before the record counts it
            size = self._fh.tell()
        self.rows += rows
        self.flagged += flagged
        atomic_write_text(
            self.record,
            json.dumps({"format": FORMAT, "rows": self.rows, "bytes": size, "flagged": self.flagged, "job": self.job}),
        )

    def finish(self) -> None:
        """Make ``OUT.partial`` the output and forget the progress."""
        with _naming(self.partial):
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self.close()
            with contextlib.suppress(OSError):  # keep the replaced file's permissions, as atomic_path does
                os.chmod(self.partial, self.out.stat().st_mode & 0o777)
        with _naming(self.out):
            os.replace(self.partial, self.out)
        with contextlib.suppress(OSError):  # a record left by a kill here names no partial file: ignored
            self.record.unlink()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def discard(self) -> None:
        """Remove the partial file and its record."""
        self.close()
        for path in (self.record, self.partial):
            with contextlib.suppress(OSError):
                path.unlink()


@contextlib.contextmanager
def resumable_csv(out: str | os.PathLike, job: dict, header: str, n_rows: int) -> Iterator[ResumableCSV]:
    """Open a :class:`ResumableCSV` for ``out``; on success it becomes ``out``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> try:
    ...     with resumable_csv(out, {"top": 1}, "i\\n", n_rows=2) as w:
    ...         w.write("0\\n", rows=1, flagged=0)
    ...         raise KeyboardInterrupt  # Ctrl-C, or a kill: the progress stays
    ... except KeyboardInterrupt:
    ...     pass
    >>> sorted(p.name for p in out.parent.iterdir())
    ['s.csv.partial', 's.csv.partial.json']
    >>> with resumable_csv(out, {"top": 1}, "i\\n", n_rows=2) as w:
    ...     print("continuing from row", w.rows)
    ...     w.write("1\\n", rows=1, flagged=0)
    continuing from row 1
    >>> out.read_text(), sorted(p.name for p in out.parent.iterdir())
    ('i\\n0\\n1\\n', ['s.csv'])
    """
    writer = ResumableCSV(out, job, header)
    writer.open(n_rows)  # a failure here leaves the files as they are: they may be another run's
    try:
        yield writer
        writer.finish()
    except AekitError as exc:
        if isinstance(exc, WriteError):
            writer.close()
        else:  # the job itself is wrong: its rerun cannot continue it
            writer.discard()
        raise
    except BaseException:  # Ctrl-C, out of memory: keep the progress for the rerun
        writer.close()
        raise


def _lock(fh, path: Path) -> None:
    """Hold an exclusive lock on the open file ``fh`` until it is closed (POSIX; nothing elsewhere)."""
    try:
        import fcntl
    except ImportError:
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ConfigError(
            f"{path} is being written by another running `aekit score`; wait for it to finish or choose another output"
        ) from None
    except OSError:  # a file system without locks (some network mounts): go on unlocked
        return


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """An OSError inside comes out as a WriteError naming ``path``."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, AekitError):
            raise
        raise WriteError(path, exc) from exc
