"""Array and table readers (.npy, .npz, .csv, .parquet): a path in, an unvalidated
:class:`Dataset` out. Images live in ``images.py``, IDX files in ``idx.py``; what
an array's shape means and how labels become codes, in ``samples.py``.

``aekit.data.load`` picks the reader by suffix and then runs
:func:`~aekit.data.dataset.check_array` on the result, so readers only parse and
shape; they do not re-check finiteness except where they can name a file line.

Every reader treats its file as untrusted: nothing is unpickled (``np.load`` always
with ``allow_pickle=False``), a header's promised size is checked against the bytes
that are there before anything is allocated, and whatever a parser raises for a
damaged file comes out as a :class:`~aekit.errors.DataError` naming the file.
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from aekit.data.dataset import Dataset
from aekit.data.samples import _CONTAINERS, _labels, _scale_images, array_to_samples  # noqa: F401
from aekit.data.sequences import as_sequences, as_series, is_grey_images
from aekit.data.tables import TableSchema
from aekit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

LABEL_COLUMNS = ("label", "y", "target")
MISSING = ("error", "mask")
#: Errors a damaged gzip stream raises (zlib.error is not an OSError).
GZIP_ERRORS = (OSError, EOFError, zlib.error)


def check_fits_in_memory(nbytes: int, name: str) -> None:
    """Refuse data that would need more memory than this machine has, before allocating it.

    A header (IDX, .npy, an image) can promise any size; an allocation of that size
    either fails or, worse, succeeds lazily and is killed by the OOM killer later.

    Examples
    --------
    >>> check_fits_in_memory(2**60, "demo.npy")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    aekit.errors.DataError: demo.npy needs 1073741824.0 GiB of memory, more than this machine has (...
    """
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return  # unknown (not POSIX): let the allocation itself fail
    if nbytes > total:
        raise DataError(
            f"{name} needs {nbytes / 2**30:.1f} GiB of memory, more than this machine has "
            f"({total / 2**30:.1f} GiB); read part of it (limit=...) or split the file"
        )


def _npy_header(handle: IO[bytes], size: int, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a .npy header, refusing what ``np.load`` could not read safely.

    Pickled object arrays are refused by name (loading them would run code), and so
    is a header that promises more bytes than the ``size`` of the file or zip member,
    before any memory is allocated for them.
    """
    fmt = np.lib.format
    try:
        version = fmt.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(handle)
        else:
            raise ValueError(f"format version {version[0]}.{version[1]} is not supported (1.0 and 2.0 are)")
        offset = handle.tell()
    except Exception as exc:  # numpy raises ValueError, SyntaxError, tokenize errors ... for a bad header
        raise DataError(f"{name}: not a readable .npy file (bad header: {type(exc).__name__}: {exc})") from None
    if dtype.hasobject:
        raise DataError(
            f"{name} holds Python objects (dtype {dtype}), which only pickle can load, and aekit "
            "never unpickles (it could run code): save a numeric array"
        )
    if dtype.itemsize == 0:  # np.memmap divides by it (SIGFPE); nothing to learn from anyway
        raise DataError(f"{name} holds {dtype} values of zero bytes each, not real numbers; aekit needs numbers")
    nbytes = math.prod(shape) * dtype.itemsize
    if size - offset < nbytes:
        raise DataError(
            f"{name}: truncated .npy file: its header promises shape {shape} of {dtype} "
            f"({nbytes} bytes), the file holds {max(size - offset, 0)}"
        )
    return shape, dtype


def read_npy(path: Path, limit: int | None = None, kind: str | None = None) -> Dataset:
    """Read a ``.npy`` array; see :func:`array_to_samples` for the layouts, and
    :func:`shape_samples` for 3-D arrays and ``kind`` ("sequence", "series").

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
    >>> np.save(p, np.zeros((4, 3)))
    >>> read_npy(p).kind
    'table'
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            shape, dtype = _npy_header(handle, size, str(path))
    except OSError as exc:
        raise DataError(f"{path}: not a readable .npy file ({exc.strerror or exc})") from None
    rows = shape[0] if shape else 1
    check_fits_in_memory(math.prod(shape[1:]) * min(rows, limit or rows) * dtype.itemsize, str(path))
    try:
        # A memory map lets a limit read only the rows it keeps.
        arr = np.load(path, allow_pickle=False, mmap_mode="r" if limit and math.prod(shape) else None)
        if limit and arr.ndim >= 1:
            arr = np.array(arr[:limit])
    except Exception as exc:  # the header was sound; numpy may still fail on the data
        raise DataError(f"{path}: not a readable .npy file ({type(exc).__name__}: {exc})") from None
    x, decided = shape_samples(arr, str(path), kind)
    return Dataset(x=x, y=None, kind=decided, name=str(path))


def read_npz(path: Path, limit: int | None = None, kind: str | None = None) -> Dataset:
    """Read a ``.npz`` archive: samples under ``x``, ``X`` or ``data`` (else its only
    array), labels under ``y`` or ``labels`` when present.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.npz"
    >>> np.savez(p, x=np.zeros((4, 3)), y=np.arange(4))
    >>> read_npz(p).y
    array([0, 1, 2, 3])
    """
    try:
        # Check every member's header against its size first: a .npz is a zip archive,
        # so a member can promise (or decompress to) far more than the file holds.
        keys, nbytes = [], 0
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue  # np.load would hand these back as raw bytes
                with archive.open(info) as member:
                    shape, dtype = _npy_header(member, info.file_size, f"{path}[{info.filename}]")
                keys.append(info.filename[:-4])
                nbytes += info.file_size
        check_fits_in_memory(nbytes, str(path))
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in keys}
    except DataError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz file (a damaged zip archive: {exc})") from None
    except Exception as exc:  # zipfile and numpy raise many types for damaged members
        raise DataError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from None
    label_key = next((k for k in ("y", "labels") if k in arrays), None)
    if label_key is not None and arrays[label_key].ndim != 1:
        raise DataError(f"{path}[{label_key}]: labels have shape {arrays[label_key].shape}; expected (n,)")
    data_key: str | None = next((k for k in ("x", "X", "data") if k in arrays), None)
    if data_key is None:
        others = [k for k in arrays if k != label_key]
        if len(others) != 1:
            raise DataError(f"{path} holds arrays {sorted(arrays)}; name the samples 'x', 'X' or 'data'")
        data_key = others[0]
    arr = arrays[data_key][:limit] if limit and arrays[data_key].ndim else arrays[data_key]
    x, decided = shape_samples(arr, f"{path}[{data_key}]", kind)
    y = label_names = None
    if label_key is not None:
        labels = arrays[label_key][:limit] if limit else arrays[label_key]
        if len(labels) != len(x):
            raise DataError(f"{path}: '{label_key}' holds {len(labels)} labels but '{data_key}' holds {len(x)} samples")
        y, label_names = _labels(labels, f"{path}[{label_key}]")
    return Dataset(x=x, y=y, kind=decided, name=str(path), label_names=label_names)


#: What ``kind=`` a reader of arrays takes: None decides from the array.
ARRAY_KINDS = (None, "sequence", "series")


def shape_samples(arr: np.ndarray, name: str, kind: str | None = None) -> tuple[np.ndarray, str]:
    """An array's samples and kind: ``kind="sequence"`` reads (N, L, C) (or (N, L)),
    ``"series"`` one recording (T, C) (or (T,)); None decides: a 3-D array is sequences
    unless it is grey images (:func:`aekit.data.sequences.is_grey_images`), other shapes
    as :func:`array_to_samples` says.

    Examples
    --------
    >>> import numpy as np
    >>> shape_samples(np.full((3, 50, 2), -1.0), "demo")[1], shape_samples(np.zeros((3, 28, 28)), "demo")[1]
    ('sequence', 'image')
    >>> shape_samples(np.zeros(10), "demo", kind="series")[0].shape
    (10, 1)
    """
    if kind not in ARRAY_KINDS:
        raise DataError(f"kind={kind!r} is not one of: sequence, series (or None to decide from the array)")
    if arr.dtype.kind in "mMV":  # dates, durations, records: refused by name, as for any array
        array_to_samples(arr, name)
    if kind == "series":
        return as_series(arr, name), "series"
    if kind == "sequence" or (arr.ndim == 3 and not is_grey_images(arr)):
        if arr.ndim >= 2 and 0 in arr.shape[1:]:
            raise DataError(f"{name} has shape {arr.shape}: its samples hold no values")
        return as_sequences(arr, name), "sequence"
    return array_to_samples(arr, name)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split_label_column(
    frame: pd.DataFrame, path: Path, header: bool, first_line: int
) -> tuple[str | None, NDArray[np.int64] | None, list[str] | None]:
    """The label column, if any: (its name, y, label_names); ``frame`` is left as it is."""
    if not header:
        return None, None, None
    found = [c for c in frame.columns if str(c).strip().lower() in LABEL_COLUMNS]
    if not found:
        return None, None, None
    column = found[0]
    values = frame[column]
    missing = values.isna().to_numpy()
    if missing.any():
        row = int(missing.argmax()) + first_line
        raise DataError(f"{path}: row {row}, label column {column!r} is missing")
    y, label_names = _labels(values.to_numpy(), f"{path}[{column}]")
    return column, y, label_names


def _table(frame: pd.DataFrame, path: Path, header: bool, first_line: int, missing: str) -> Dataset:
    """Encode a table read from ``path`` through a schema fitted on it (see ``tables.py``).

    ``missing="error"`` refuses the first missing cell by file row and column;
    ``"mask"`` keeps it: NaN in ``x`` for a numeric cell, an all-zero one-hot group
    for a categorical one.
    """
    if missing not in MISSING:
        raise DataError(f"missing={missing!r} is not one of: {', '.join(MISSING)}")
    if not header:
        frame.columns = [f"column {i}" for i in range(frame.shape[1])]
    else:
        frame.columns = [str(c) for c in frame.columns]
    label_column, y, label_names = _split_label_column(frame, path, header, first_line)
    features = frame if label_column is None else frame.drop(columns=[label_column])
    if features.shape[1] == 0:
        raise DataError(f"{path} holds no feature columns, only the label column {label_column!r}")
    schema = TableSchema.fit(features, name=str(path), first_row=first_line)
    x = schema.encode(features, name=str(path), first_row=first_line)
    if missing == "error":
        gaps = features.isna().to_numpy()
        if gaps.any():
            row, col = np.argwhere(gaps)[0]
            raise DataError(
                f"{path}: row {row + first_line}, column {features.columns[col]!r} is missing; aekit needs "
                "finite numbers (drop or impute missing values first), or load it with missing='mask' and "
                "let the model impute them (aekit fit does)"
            )
    return Dataset(
        x=x,
        y=y,
        kind="table",
        name=str(path),
        columns=[str(c) for c in features.columns] if header else None,
        label_names=label_names,
        frame=frame,
        label_column=label_column,
    )


def read_csv(path: Path, limit: int | None = None, missing: str = "error") -> Dataset:
    """Read a table from a ``.csv`` or ``.tsv`` file (optionally gzipped).

    Numeric, boolean and text (categorical) columns are encoded by a
    :class:`~aekit.data.tables.TableSchema` fitted on the file: one-hot groups for
    categories, the rule for each column's kind is in ``aekit.data.tables``. The
    first row is a header when none of its cells is a number. A column named
    ``label``, ``y`` or ``target`` (any case) becomes the labels. Row numbers in
    messages count file lines from 1, header included. ``missing``: see
    :func:`aekit.data.load`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("a,b,label\\n1,2,0\\n3,4,1\\n")
    >>> ds = read_csv(p)
    >>> ds.x.shape, ds.columns, ds.y.tolist()
    ((2, 2), ['a', 'b'], [0, 1])
    >>> _ = p.write_text("a,colour\\n1,red\\n,blue\\n")
    >>> read_csv(p, missing="mask").x.tolist()           # a | colour=blue colour=red
    [[1.0, 0.0, 1.0], [nan, 1.0, 0.0]]
    """
    import pandas as pd

    sep = "\t" if ".tsv" in path.suffixes else ","
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle, delimiter=sep)
            first, second = next(reader, None), next(reader, None)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a readable text table (not UTF-8 text: {exc})") from None
    except (*GZIP_ERRORS, csv.Error) as exc:
        raise DataError(f"{path}: not a readable text table ({exc})") from None
    if first is None:
        raise DataError(f"{path} holds no samples")
    header = not any(_is_number(cell) for cell in first)
    first_line = 2 if header else 1  # File line of the first data row.
    if header and second is not None and len(second) > len(first):
        # pandas would silently take the extra first column for the row index.
        raise DataError(
            f"{path}: the first data row (line 2) has {len(second)} fields but the header names "
            f"{len(first)} columns; every row needs one field per header column"
        )
    try:
        frame = pd.read_csv(path, sep=sep, header=0 if header else None, nrows=limit, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} holds no samples") from None
    except Exception as exc:  # pandas' C parser raises many types for a damaged file
        raise DataError(f"{path}: cannot parse as a table ({type(exc).__name__}: {exc})") from None
    if len(frame) == 0:
        raise DataError(f"{path} holds no samples")
    return _table(frame, path, header, first_line, missing)


def read_parquet(path: Path, limit: int | None = None, missing: str = "error") -> Dataset:
    """Read a table from a ``.parquet`` file (needs pyarrow), as :func:`read_csv` does.

    A column named ``label``, ``y`` or ``target`` becomes the labels; rows in
    messages count from 0.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> pd.DataFrame({"a": [1.0, 2.0], "y": [0, 1]}).to_parquet(p)
    >>> read_parquet(p).columns
    ['a']
    """
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise DataError(f"{path}: reading parquet needs pyarrow ({exc})") from None
    except Exception as exc:  # pyarrow raises its own error types for bad files.
        raise DataError(f"{path}: not a readable parquet file ({exc})") from None
    if limit:
        frame = frame.iloc[:limit].reset_index(drop=True)
    if len(frame) == 0:
        raise DataError(f"{path} holds no samples")
    return _table(frame.reset_index(drop=True), path, True, 0, missing)
