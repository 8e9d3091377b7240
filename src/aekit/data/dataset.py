"""The in-memory dataset every aekit component consumes, and the validation that guards it.

Every loader funnels through :func:`check_array`, so the trainer, the estimators and
the explorer can rely on one contract: ``x`` is float32, C-contiguous, finite and
has at least one sample.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
from numpy.typing import ArrayLike, NDArray

from aekit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

#: image (n, C, H, W); table (n, d); sequence (n, L, C): n sequences of L steps and C channels
#: (channels last); series (T, C): one long recording, a row per time step (y per step).
KINDS = ("image", "table", "sequence", "series")
_LAYOUTS = {
    "image": (4, "(n, channels, height, width)"),
    "table": (2, "(n, features)"),
    "sequence": (3, "(n, length, channels)"),
    "series": (2, "(steps, channels)"),
}


def check_array(
    x: ArrayLike,
    *,
    name: str,
    kind: str | None = None,
    columns: Sequence[str] | None = None,
    allow_missing: bool = False,
) -> NDArray[np.float32]:
    """Validate a loaded array and return it as float32, C-contiguous.

    Parameters
    ----------
    x : array-like, shape (n, *sample_shape)
        The samples. Images are ``(n, C, H, W)``, tables ``(n, d)``.
    name : str
        What to call the data in error messages (usually the file path).
    kind : {"image", "table", "sequence", "series"} or None
        When given, the number of dimensions is checked against it, and images
        whose values exceed 1 trigger a ``UserWarning`` (they look like 0-255).
    columns : sequence of str, optional
        Column names of a table, used only to name a bad column in messages.
    allow_missing : bool, default False
        Tables only: NaN marks a missing cell and is let through (the model masks
        it out of the loss and imputes it); infinities are still refused. Only
        the table path (:mod:`aekit.data.tables`) sets it.

    Returns
    -------
    numpy.ndarray, shape (n, *sample_shape), float32
        The same values; no copy when ``x`` already is float32 and C-contiguous.

    Raises
    ------
    DataError
        Non-numeric values, fewer than two dimensions, zero samples, or a NaN or
        infinite value (the message names the first bad row, column or pixel).

    Examples
    --------
    >>> import numpy as np
    >>> check_array(np.arange(6).reshape(3, 2), name="demo").dtype
    dtype('float32')
    >>> check_array(np.array([[1.0, np.nan]]), name="demo.npy")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    aekit.errors.DataError: demo.npy: row 0, column 1 is NaN; aekit needs finite numbers (drop or impute ...)
    """
    if kind is not None and kind not in KINDS:
        raise DataError(f"kind={kind!r} is not one of {KINDS}")
    raw = np.asarray(x)
    if raw.dtype == object:
        try:
            raw = raw.astype(np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{name} holds non-numeric values (dtype object); aekit needs numbers") from None
    if not (np.issubdtype(raw.dtype, np.number) or raw.dtype == np.bool_) or np.iscomplexobj(raw):
        raise DataError(f"{name} holds {raw.dtype} values, not real numbers; aekit needs numbers")
    if raw.ndim < 2:
        raise DataError(
            f"{name} is {raw.ndim}-D with shape {raw.shape}; expected (n_samples, n_features) "
            "or (n, channels, height, width); use reshape(-1, 1) for a single feature"
        )
    expected_ndim, layout = _LAYOUTS[kind] if kind is not None else (None, "")
    if expected_ndim is not None and raw.ndim != expected_ndim:
        raise DataError(f"{name} has shape {raw.shape}; {kind} data must be {layout}")
    if raw.shape[0] == 0:
        raise DataError(f"{name} holds no samples")
    if raw.size == 0:
        raise DataError(f"{name} has shape {raw.shape}: its samples hold no values")
    # Overflow to inf is reported below, with the row and the original value.
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(raw, dtype=np.float32)
    # min and max propagate NaN and reach any inf: a full mask only when something is wrong.
    low, top = float(out.min()), float(out.max())
    if not (np.isfinite(low) and np.isfinite(top)):
        if allow_missing and out.ndim == 2:
            finite = ~np.isinf(out)
            if not finite.all():
                _raise_non_finite(raw, out, finite, name, kind, columns)
        else:
            _raise_non_finite(raw, out, np.isfinite(out), name, kind, columns)
    # Whole-number pixels in [0, 255] (uint8 and the like) are divided by their range at fit.
    pixels = raw.dtype.kind in "iub" and low >= 0 and top <= 255
    if kind == "image" and not pixels:
        if top > 1.0:
            warnings.warn(
                f"{name}: image values reach {top:g}; they look like 0-255 pixel values "
                "and should be scaled to [0, 1] (divide by 255)",
                UserWarning,
                stacklevel=2,
            )
    return out


def _raise_non_finite(
    raw: np.ndarray,
    out: NDArray[np.float32],
    finite: NDArray[np.bool_],
    name: str,
    kind: str | None,
    columns: Sequence[str] | None,
) -> NoReturn:
    bad = ~finite.reshape(len(out), -1)  # (n, n_features)
    row = int(bad.any(axis=1).argmax())
    flat_index = int(bad[row].argmax())
    position = np.unravel_index(flat_index, out.shape[1:])
    value = raw[(row, *position)]
    # A float64 value can be finite yet overflow float32; say so instead of "inf".
    # "NaN" as numpy and scikit-learn spell it, so messages match what users search for.
    shown = (
        f"{value!r} (too large for float32)" if np.isfinite(value) else "NaN" if np.isnan(value) else str(float(value))
    )
    if kind == "image" and out.ndim == 4:
        where = f"channel {position[0]}, pixel (row {position[1]}, column {position[2]})"
    elif out.ndim == 2:
        where = f"column {flat_index}"
        if columns is not None and flat_index < len(columns):
            where = f"column {columns[flat_index]!r} ({flat_index})"
    else:
        where = f"element {tuple(int(p) for p in position)}"
    raise DataError(
        f"{name}: row {row}, {where} is {shown}; aekit needs finite numbers (drop or impute missing values first)"
    )


def split_mask(n: int, test_size: float, seed: int, name: str = "data") -> np.ndarray:
    """Which of ``n`` rows a seeded split holds out: a bool mask (n,), True for test rows.

    :meth:`Dataset.split` and streamed files (:mod:`aekit.data.stream`) both use it,
    so a file split in memory and split while streaming holds out the same rows.

    Examples
    --------
    >>> int(split_mask(5, 0.4, seed=0).sum())
    2
    """
    if not 0.0 < test_size < 1.0:
        raise DataError(f"test_size={test_size} must lie strictly between 0 and 1")
    if n < 2:
        raise DataError(f"{name} holds {n} sample; a split needs at least 2")
    n_test = min(max(int(round(n * test_size)), 1), n - 1)
    mask = np.zeros(n, dtype=bool)
    mask[np.random.default_rng(seed).permutation(n)[:n_test]] = True
    return mask


@dataclass(repr=False)
class Dataset:
    """Samples with optional labels, as every aekit component consumes them.

    Parameters
    ----------
    x : numpy.ndarray, shape (n, *sample_shape), float32
        Images are ``(n, C, H, W)`` in [0, 1]; tables are ``(n, d)``.
    y : numpy.ndarray, shape (n,), int64, or None
        Labels, used only for colouring plots and for evaluation.
    kind : {"image", "table", "sequence", "series"}
        A sequence set is ``x`` (n, L, C) with one label per sequence (``.ts`` files,
        3-D arrays); a series is one long recording ``x`` (T, C), a row per time step,
        ``y`` (T,) the per-step labels (e.g. TimeEval's ``is_anomaly``) and
        ``columns`` the channel names (``load(path, kind="series")``).
    name : str
        Where the data came from, e.g. ``"builtin:digits"`` or a file path.
    is_test : numpy.ndarray, shape (n,), bool, or None
        True for rows in the source's own test split; None when it has none.
    columns : list of str, optional
        Table column names.
    label_names : list of str, optional
        ``label_names[y[i]]`` names the class of sample ``i``.
    frame : pandas.DataFrame, optional
        Tables read from CSV or Parquet: the table as read, every column (the
        label column too), row-aligned with ``x``. The estimator encodes
        :meth:`features` through its own :class:`~aekit.data.tables.TableSchema`,
        so scoring data needs the same columns, not the same encoding.
    label_column : str, optional
        The column of ``frame`` that became ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> ds = Dataset(x=np.zeros((10, 3), np.float32), y=None, kind="table", name="demo")
    >>> len(ds), ds.sample_shape, ds.n_features
    (10, (3,), 3)
    >>> train, test = ds.split(test_size=0.2, seed=0)
    >>> len(train), len(test)
    (8, 2)
    """

    x: np.ndarray
    y: np.ndarray | None
    kind: str
    name: str
    is_test: np.ndarray | None = None
    columns: list[str] | None = None
    label_names: list[str] | None = None
    frame: pd.DataFrame | None = None
    label_column: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DataError(f"{self.name}: kind={self.kind!r} is not one of {KINDS}")
        n = len(self.x)
        for field in ("y", "is_test"):
            values = getattr(self, field)
            if values is not None and values.shape != (n,):
                raise DataError(f"{self.name}: {field} has shape {values.shape} but x holds {n} samples")
        if self.frame is not None and len(self.frame) != n:
            raise DataError(f"{self.name}: frame holds {len(self.frame)} rows but x holds {n} samples")

    def __len__(self) -> int:
        return len(self.x)

    def __repr__(self) -> str:
        labels = "none" if self.y is None else f"{len(np.unique(self.y))} classes"
        split = "" if self.is_test is None else f", test rows={int(self.is_test.sum())}"
        return (
            f"Dataset(name={self.name!r}, kind={self.kind!r}, n={len(self)}, "
            f"sample_shape={self.sample_shape}, labels={labels}{split})"
        )

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample, ``x.shape[1:]``: ``(C, H, W)`` or ``(d,)``."""
        return tuple(self.x.shape[1:])

    @property
    def n_features(self) -> int:
        """Numbers per sample: ``C * H * W`` for images, ``d`` for tables."""
        return int(np.prod(self.sample_shape))

    def flat(self) -> np.ndarray:
        """Samples as rows, shape ``(n, n_features)``; a view, not a copy.

        Examples
        --------
        >>> import numpy as np
        >>> ds = Dataset(x=np.zeros((4, 1, 8, 8), np.float32), y=None, kind="image", name="demo")
        >>> ds.flat().shape
        (4, 64)
        """
        return self.x.reshape(len(self.x), -1)

    def features(self) -> pd.DataFrame | None:
        """The table's feature columns as read (``frame`` without the label column), or None.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> ds = Dataset(x=np.zeros((2, 1), np.float32), y=np.array([0, 1]), kind="table", name="demo",
        ...              frame=pd.DataFrame({"a": [1.0, 2.0], "label": [0, 1]}), label_column="label")
        >>> list(ds.features().columns)
        ['a']
        """
        if self.frame is None:
            return None
        if self.label_column is None:
            return self.frame
        return self.frame.drop(columns=[self.label_column])

    def subset(self, idx: slice | Sequence[int] | np.ndarray) -> Dataset:
        """Rows selected by integer indices, a boolean mask or a slice.

        Examples
        --------
        >>> import numpy as np
        >>> ds = Dataset(x=np.arange(10, dtype=np.float32).reshape(5, 2), y=None,
        ...              kind="table", name="demo")
        >>> ds.subset([0, 2]).x
        array([[0., 1.],
               [4., 5.]], dtype=float32)
        """
        if not isinstance(idx, slice):
            idx = np.asarray(idx)
            if idx.dtype != np.bool_:
                idx = idx.astype(np.intp, copy=False)
        return replace(
            self,
            x=np.ascontiguousarray(self.x[idx]),
            y=None if self.y is None else self.y[idx],
            is_test=None if self.is_test is None else self.is_test[idx],
            frame=None if self.frame is None else self.frame.iloc[idx].reset_index(drop=True),
        )

    def train(self) -> Dataset:
        """The source's training rows (all rows when the source defines no split).

        The result has ``is_test=None``: its split has been taken.

        Examples
        --------
        >>> import numpy as np
        >>> ds = Dataset(x=np.zeros((3, 2), np.float32), y=None, kind="table", name="demo",
        ...              is_test=np.array([False, False, True]))
        >>> len(ds.train())
        2
        """
        if self.is_test is None:
            return self
        return replace(self.subset(~self.is_test), is_test=None)

    def test(self) -> Dataset:
        """The source's test rows.

        Raises
        ------
        DataError
            When the source defines no test split (use :meth:`split`), or when
            ``limit`` cut all of its test rows off.

        Examples
        --------
        >>> import numpy as np
        >>> ds = Dataset(x=np.zeros((3, 2), np.float32), y=None, kind="table", name="demo",
        ...              is_test=np.array([False, False, True]))
        >>> len(ds.test())
        1
        """
        if self.is_test is None:
            raise DataError(f"{self.name} defines no train/test split; use split(test_size=..., seed=...)")
        if not self.is_test.any():
            raise DataError(
                f"{self.name} holds no rows of its source's test split "
                "(a limit may have cut them off); use split(test_size=..., seed=...)"
            )
        return replace(self.subset(self.is_test), is_test=None)

    def held_out(self, record: dict[str, Any] | None) -> tuple[Dataset, str]:
        """The rows to evaluate or report on, and a phrase saying which they are.

        The source's test split when it has one; else, when ``record`` (the model
        directory's data record, written by ``aekit fit``) says the model was fitted
        on this data set (same spec and size, randomly split), the same seeded
        split's test part; else every row.

        Examples
        --------
        >>> import numpy as np
        >>> ds = Dataset(x=np.zeros((10, 2), np.float32), y=None, kind="table", name="demo")
        >>> rows, where = ds.held_out({"spec": "demo", "n": 10, "split": "random", "test_size": 0.2,
        ...                            "split_seed": 0})
        >>> len(rows), where
        (2, 'the 2 rows aekit fit held out')
        >>> ds.held_out(None)[1]
        'all 10 rows'
        """
        record = record or {}
        if self.is_test is not None and self.is_test.any():
            return self.test(), "the source's test split"
        if record.get("spec") == self.name and record.get("n") == len(self) and record.get("split") == "random":
            _, test = self.split(test_size=record["test_size"], seed=record["split_seed"])
            return test, f"the {len(test)} rows aekit fit held out"
        return self, f"all {len(self)} rows"

    def split(self, test_size: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
        """Train and test parts: the source's own split, else a seeded random one.

        Parameters
        ----------
        test_size : float
            Fraction of rows in the test part, in (0, 1); ignored when the source
            defines a split that still has rows on both sides.
        seed : int
            Seed of the permutation; the same seed always gives the same split.

        Returns
        -------
        (Dataset, Dataset)
            Train and test parts, each keeping the original row order.

        Examples
        --------
        >>> import numpy as np
        >>> ds = Dataset(x=np.zeros((10, 2), np.float32), y=None, kind="table", name="demo")
        >>> [len(part) for part in ds.split(test_size=0.3, seed=1)]
        [7, 3]
        """
        if self.is_test is not None and self.is_test.any() and not self.is_test.all():
            return self.train(), self.test()
        mask = split_mask(len(self), test_size, seed, self.name)
        train = replace(self.subset(~mask), is_test=None)
        test = replace(self.subset(mask), is_test=None)
        return train, test
