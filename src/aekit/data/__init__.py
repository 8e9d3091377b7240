"""Data sources -> :class:`Dataset`.

``load(spec)`` reads a file, a folder of images or a builtin dataset, validates it
with :func:`check_array` and returns a :class:`Dataset` whose ``x`` is float32,
C-contiguous and finite, images ``(n, C, H, W)`` in [0, 1], tables ``(n, d)``,
sequences ``(n, L, C)`` and one long series ``(T, C)`` (the two layouts are described
in :mod:`aekit.data.sequences`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from aekit.data.builtins import BUILTINS, load_builtin, make_shapes12, shapes12_presets
from aekit.data.dataset import Dataset, check_array
from aekit.data.download import cache_dir
from aekit.data.idx import read_idx
from aekit.data.images import read_image_folder
from aekit.data.readers import ARRAY_KINDS, read_csv, read_npy, read_npz, read_parquet
from aekit.data.stream import RowStream, open_stream
from aekit.data.tables import TableSchema
from aekit.data.ts_format import read_ts
from aekit.errors import DataError

__all__ = [
    "BUILTINS",
    "Dataset",
    "TableSchema",
    "cache_dir",
    "check_array",
    "load",
    "make_shapes12",
    "open_stream",
    "RowStream",
    "shapes12_presets",
]

BUILTIN_PREFIX = "builtin:"
SUPPORTED = (
    ".npy, .npz, .csv, .tsv (optionally .gz), .parquet, .ts (UCR/UEA sequences), MNIST-format IDX files "
    "(.idx, *-ubyte, gzipped or not), a folder of images (.png, .jpg, ...), builtin:NAME"
)
_IDX_NAME = re.compile(r"(\.idx$|[-_.]ubyte$|idx\d)")


def _read_path(path: Path, limit: int | None, missing: str = "error", kind: str | None = None) -> Dataset:
    """Dispatch a path to its reader by suffix; a folder is read as images."""
    if path.is_dir():
        return _only_kinds(read_image_folder(path, limit), kind, (None,))
    name = path.name.lower()
    inner = name[:-3] if name.endswith(".gz") else name
    if name.endswith(".npy"):
        return read_npy(path, limit, kind)
    if name.endswith(".npz"):
        return read_npz(path, limit, kind)
    if name.endswith(".ts"):
        ts = read_ts(path)
        return _only_kinds(
            Dataset(x=ts.values, y=ts.labels, kind="sequence", name=str(path), label_names=ts.label_names),
            kind,
            (None, "sequence"),
        )
    if inner.endswith((".csv", ".tsv")) and kind == "series":
        return _timeeval(path, limit)
    if inner.endswith((".csv", ".tsv")):
        return read_csv(path, limit, missing)
    if name.endswith((".parquet", ".pq")):
        return read_parquet(path, limit, missing)
    if _IDX_NAME.search(inner):
        return _only_kinds(read_idx(path, limit), kind, (None,))
    raise DataError(f"{path}: unknown format {path.suffix or '(no suffix)'!r}; aekit reads {SUPPORTED}")


def _only_kinds(dataset: Dataset, kind: str | None, allowed: tuple[str | None, ...]) -> Dataset:
    """``dataset`` when ``kind`` is one its format can give, else a DataError saying which can."""
    if kind not in allowed:
        raise DataError(
            f"{dataset.name}: kind={kind!r} does not apply to this format; kind='sequence' reads .ts files and "
            "(n, length, channels) arrays, kind='series' reads TimeEval CSV files and (steps, channels) arrays"
        )
    return dataset


def _timeeval(path: Path, limit: int | None) -> Dataset:
    """One long recording from a TimeEval CSV (timestamp, channels..., is_anomaly), as a series Dataset;
    ``limit`` keeps its first steps."""
    from aekit.data.timeeval import read_timeeval

    series = read_timeeval(path, limit)
    labels = None if series.labels is None else np.asarray(series.labels, dtype=np.int64)
    return Dataset(x=series.values, y=labels, kind="series", name=str(path), columns=list(series.channels))


def load(spec: str | Path, *, limit: int | None = None, missing: str = "error", kind: str | None = None) -> Dataset:
    """Load a dataset from a path or a ``builtin:NAME[?option=value&...]`` spec.

    Parameters
    ----------
    spec : str or pathlib.Path
        A ``.npy``, ``.npz``, ``.csv``/``.tsv`` (optionally ``.gz``), ``.parquet`` or
        MNIST-format IDX file (gzipped or not), a folder of images (sub-folders as
        classes), or ``builtin:NAME`` with NAME in :data:`BUILTINS`, e.g.
        ``builtin:shapes12?n=2000&seed=1``.
    limit : int, optional
        Keep only the first ``limit`` rows (quick runs). Readers that can stop early
        (csv, npy, image folders) do not read the rest.
    missing : {"error", "mask"}
        Tables (CSV, Parquet) with empty cells: "error" names the first one;
        "mask" keeps them, NaN in ``x`` for a numeric cell and an all-zero one-hot
        group for a categorical one, for a model that masks them out of its loss
        and imputes them (``AutoEncoder.fit`` on such a Dataset does). Arrays and
        images never hold missing values.
    kind : {None, "sequence", "series"}
        None decides from the file: ``.ts`` files and 3-D arrays that are not grey
        images are sequences ``(n, L, C)`` (:mod:`aekit.data.sequences`), the rest as
        above. ``"sequence"`` reads a ``.npy``/``.npz`` array ``(n, L, C)`` or ``(n, L)``
        as sequences; ``"series"`` reads one long recording ``(T, C)``: a TimeEval CSV
        (timestamp, one column per channel, optional ``is_anomaly`` labels per step)
        or a ``(T, C)`` / ``(T,)`` array. ``limit`` keeps the first sequences, or the
        first steps of a series.

    Returns
    -------
    Dataset
        ``x`` of shape ``(n, *sample_shape)``, float32; labels when the source has them.

    Raises
    ------
    DataError
        Missing path, unknown format or builtin, unreadable or non-finite data; the
        message names the file and, where it applies, the row, column and value.

    Examples
    --------
    >>> ds = load("builtin:digits")
    >>> ds.x.shape, ds.kind
    ((1797, 1, 8, 8), 'image')
    >>> load("builtin:shapes12?n=200&seed=1", limit=50).x.shape
    (50, 1, 12, 12)
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "two.ts"
    >>> _ = p.write_text("@classLabel true a b\\n@data\\n1,2,3:0,1,0:a\\n3,2,1:1,0,1:b\\n")
    >>> ds = load(p)
    >>> ds.kind, ds.x.shape, ds.label_names
    ('sequence', (2, 3, 2), ['a', 'b'])
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DataError(f"limit={limit!r} must be a positive integer or None")
    if kind not in ARRAY_KINDS:
        raise DataError(f"kind={kind!r} is not one of: sequence, series (or None to decide from the file)")
    text = str(spec)
    if text.startswith(BUILTIN_PREFIX):
        dataset = _only_kinds(load_builtin(text[len(BUILTIN_PREFIX) :]), kind, (None,))
    else:
        path = Path(text).expanduser()
        if not path.exists():
            raise DataError(f"no such file or folder: {path}")
        dataset = _read_path(path, limit, missing, kind)
    if limit is not None and len(dataset) > limit:
        dataset = dataset.subset(slice(0, limit))
    x = check_array(
        dataset.x,
        name=dataset.name,
        kind=dataset.kind,
        columns=dataset.columns,
        allow_missing=dataset.frame is not None and missing == "mask",
    )
    return replace(dataset, x=x)
