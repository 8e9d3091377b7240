"""What every fuzzing strategy shares: the :class:`Case` it draws, and ways to damage bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st


@dataclass
class Case:
    """Files to write under a fresh folder, then ``load(folder / target, **options)``."""

    files: dict[str, bytes]
    target: str
    options: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # how the case was drawn, for reports

    def __repr__(self) -> str:
        sizes = {name: len(data) for name, data in self.files.items()}
        return f"Case({self.note!r}, target={self.target!r}, options={self.options}, sizes={sizes})"


def mutate(data: bytes, draw) -> bytes:
    """Truncate, flip, insert or append bytes (or leave the file as it is)."""
    how = draw(st.sampled_from(["keep", "keep", "truncate", "flip", "insert", "append"]))
    if not data or how == "keep":
        return data
    if how == "truncate":
        return data[: draw(st.integers(0, len(data) - 1))]
    at = draw(st.integers(0, len(data) - 1))
    if how == "flip":
        return data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1 :]
    extra = draw(st.binary(min_size=1, max_size=16))
    return data[:at] + extra + data[at:] if how == "insert" else data + extra


FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)


def elements(dtype: np.dtype, clean: bool):
    """Hypothesis elements for an array of ``dtype``: finite values when ``clean``, else NaN and inf too."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return st.floats(allow_nan=not clean, allow_infinity=not clean, width=8 * min(dtype.itemsize, 8))
    return None


HUGE = st.sampled_from([2**31 - 1, 2**32 - 1, 2**40, 2**62, 10**9, 10**12])
