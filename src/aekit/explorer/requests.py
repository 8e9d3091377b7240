"""What an explorer request may carry: the error it raises and the checks of its values.

Every check names the bad value and what is allowed; :class:`RequestError`
carries the HTTP status (4xx) the server answers with.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aekit.errors import AekitError


class RequestError(AekitError, ValueError):
    """A request the explorer cannot answer; ``status`` is the HTTP status to send (4xx).

    Examples
    --------
    >>> RequestError("unknown model 'x'", status=404).status
    404
    """

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def check_dims(dims: Any, code_dim: int) -> tuple[int, ...]:
    """The code dimensions a plane or grid spans: two distinct indices (one for a 1-D code).

    Examples
    --------
    >>> check_dims([0, 1], 1), check_dims([2, 0], 3)
    ((0,), (2, 0))
    """
    want = 1 if code_dim == 1 else 2
    if code_dim == 1 and isinstance(dims, (list, tuple)) and list(dims) == [0, 1]:
        dims = [0]
    if (
        not isinstance(dims, (list, tuple))
        or len(dims) != want
        or any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d < code_dim for d in dims)
        or len(set(dims)) != len(dims)
    ):
        raise RequestError(f"dims={dims!r} must be {want} distinct integers in [0, {code_dim - 1}]")
    return tuple(dims)


def number_list(value: Any, name: str, length: int) -> np.ndarray:
    """A flat list of ``length`` finite JSON numbers as float64, shape (length,).

    A real-valued numpy array (an input validated before, kept by the server) is
    checked the same way, without a Python loop.
    """
    if isinstance(value, np.ndarray) and (
        np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)
    ):
        if value.size != length:
            raise RequestError(f"{name} must hold {length} numbers, got {value.size}")
        return finite(value.astype(np.float64).ravel(), value.ravel(), name)
    flat = value
    if not isinstance(flat, (list, tuple)):
        raise RequestError(f"{name} must be a list of {length} numbers, got a {type(value).__name__}")
    if len(flat) != length:
        raise RequestError(f"{name} must hold {length} numbers, got {len(flat)}")
    for i, v in enumerate(flat):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise RequestError(f"{name}[{i}]={v!r} is not a number")
    try:
        values = np.asarray(flat, dtype=np.float64)
    except OverflowError:  # an integer beyond float64
        raise RequestError(f"{name} holds an integer too large for a float") from None
    return finite(values, flat, name)


def finite(values: np.ndarray, shown: Any, name: str) -> np.ndarray:
    """``values`` (n,) float64 if every one is finite in float32; else name the first that is not."""
    bad = ~np.isfinite(values) | (np.abs(values) > 3e38)  # float32's limit
    if bad.any():
        i = int(bad.argmax())
        value = float(shown[i]) if isinstance(shown[i], np.generic) else shown[i]
        raise RequestError(f"{name}[{i}]={value!r} is not a finite float32 number")
    return values


def floats(array: np.ndarray) -> list[float]:
    """A float32 array, flattened to exact Python floats (``tolist`` keeps every float32 value)."""
    return np.asarray(array, dtype=np.float32).ravel().tolist()
