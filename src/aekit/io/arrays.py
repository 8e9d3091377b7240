"""Arrays written a chunk at a time: ``.npy`` or ``.csv`` files of known row count,
atomically (a failure or a short write leaves the output as it was)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from aekit._atomic import atomic_path, make_dir
from aekit.errors import ConfigError, DataError


class ArrayWriter:
    """Appends chunks of one (n_rows, ...) array to an open ``.npy`` or ``.csv`` file; see :func:`array_writer`."""

    def __init__(self, fh: BinaryIO, suffix: str, n_rows: int, columns: list[str] | None) -> None:
        self.fh, self.suffix, self.n_rows, self.columns, self.rows = fh, suffix, n_rows, columns, 0

    def write(self, chunk: np.ndarray) -> None:
        """Append rows ``chunk`` (k, ...); the first chunk fixes the dtype and the row shape."""
        chunk = np.ascontiguousarray(chunk)
        if self.rows == 0:
            self._header(chunk)
        if self.rows + len(chunk) > self.n_rows:
            raise DataError(f"{len(chunk)} more rows would exceed the {self.n_rows} the output was opened for")
        if self.suffix == ".npy":
            self.fh.write(chunk.tobytes())
        else:
            np.savetxt(self.fh, chunk.reshape(len(chunk), -1), delimiter=",", fmt="%.7g")
        self.rows += len(chunk)

    def _header(self, chunk: np.ndarray) -> None:
        if self.suffix == ".npy":  # the header np.save writes for the whole array
            np.lib.format.write_array_header_1_0(
                self.fh,
                {
                    "descr": np.lib.format.dtype_to_descr(chunk.dtype),
                    "fortran_order": False,
                    "shape": (self.n_rows, *chunk.shape[1:]),
                },
            )
        else:
            width = int(math.prod(chunk.shape[1:]))
            names = self.columns if self.columns and len(self.columns) == width else [f"x{i}" for i in range(width)]
            self.fh.write((",".join(names) + "\n").encode())


@contextlib.contextmanager
def array_writer(out: str | Path, n_rows: int, columns: list[str] | None = None) -> Iterator[ArrayWriter]:
    """Write an (n_rows, ...) array to ``out`` (.npy, or .csv with a header) a chunk at a time.

    The file is the one ``np.save`` (or aekit's CSV writer) gives for the whole
    array, written atomically: a failure, or fewer rows than ``n_rows``, leaves
    ``out`` as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "codes.npy"
    >>> with array_writer(out, n_rows=5) as w:
    ...     w.write(np.zeros((3, 2), np.float32)); w.write(np.ones((2, 2), np.float32))
    >>> np.load(out).sum(0)
    array([2., 2.], dtype=float32)
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".npy", ".csv"):
        raise ConfigError(f"output {out} must end in .npy or .csv")
    make_dir(out.parent)
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        writer = ArrayWriter(fh, suffix, n_rows, columns)
        yield writer
        if writer.rows != n_rows:
            raise DataError(f"{out}: {writer.rows} rows were written of the {n_rows} expected; nothing was saved")
