"""The UCR/UEA ``.ts`` text format (sktime, aeon): a path in, sequences ``(N, L, C)`` out.

A ``.ts`` file is ``#`` comment lines, ``@`` header lines, then ``@data`` and one case
a line: its channels separated by ``:``, the values of a channel by ``,``, and, when
the header says ``@classLabel true <names...>``, the class label as the last field::

    @problemName demo
    @univariate false
    @dimensions 2
    @equalLength true
    @seriesLength 3
    @classLabel true up down
    @data
    1,2,3:0,0,1:up
    3,2,1:1,0,0:down

The reader treats the file as untrusted text: every value must be a finite number
(``?`` or ``NaN``, the format's missing value, is refused by line, channel and step),
every case must hold the same number of channels, a label must be one of the
declared ones, and an unknown or malformed header line is refused by line. Cases of
different lengths are refused with the line of the first one that differs, unless
``unequal="pad"``: then every case is padded at its end with its last value to the
longest length, and :attr:`TsFile.mask` ``(N, L)`` says which steps were observed.
``@timeStamps true`` and regression targets (``@targetLabel true``) are not read.

Examples
--------
>>> import pathlib, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "demo.ts"
>>> _ = p.write_text("@problemName demo\\n@classLabel true a b\\n@data\\n1,2,3:a\\n3,2,1:b\\n")
>>> ts = read_ts(p)
>>> ts.values.shape, ts.labels.tolist(), ts.label_names
((2, 3, 1), [0, 1], ['a', 'b'])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from aekit.errors import DataError

#: Header keys the reader knows (lower case), and whether each takes a true/false value.
_BOOLEAN_KEYS = ("timestamps", "missing", "univariate", "equallength", "targetlabel")
_KEYS = (*_BOOLEAN_KEYS, "problemname", "dimension", "dimensions", "serieslength", "classlabel", "data")
UNEQUAL = ("error", "pad")


@dataclass
class TsFile:
    """What a ``.ts`` file holds.

    Attributes
    ----------
    values : numpy.ndarray, shape (N, L, C), float32
        N cases of L steps and C channels (channels last).
    labels : numpy.ndarray, shape (N,), int64, or None
        ``label_names[labels[i]]`` is case ``i``'s class; None without ``@classLabel true``.
    label_names : list of str or None
        The classes in the order the header declares them.
    lengths : numpy.ndarray, shape (N,), int64
        Observed steps per case (all L for equal-length files).
    mask : numpy.ndarray, shape (N, L), bool, or None
        With ``unequal="pad"`` and cases of different lengths: True where a step was
        observed, False where it is padding; else None.
    problem_name : str or None
    """

    values: NDArray[np.float32]
    labels: NDArray[np.int64] | None
    label_names: list[str] | None
    lengths: NDArray[np.int64]
    mask: NDArray[np.bool_] | None = None
    problem_name: str | None = None


def _bool(value: str, key: str, where: str) -> bool:
    text = value.strip().lower()
    if text not in ("true", "false"):
        raise DataError(f"{where}: @{key} must be true or false, got {value.strip()!r}")
    return text == "true"


def _header(lines: list[tuple[int, str]], name: str) -> tuple[dict[str, object], int]:
    """Parse the ``@`` lines up to ``@data``: (settings, index of the first data line in ``lines``)."""
    settings: dict[str, object] = {}
    for i, (number, line) in enumerate(lines):
        where = f"{name}: line {number}"
        if not line.startswith("@"):
            raise DataError(f"{where}: data before the @data line ({line[:40]!r}); the header must end with @data")
        key, value = (line[1:].split(None, 1) + [""])[:2] if line[1:].strip() else ("", "")
        key = key.lower()
        if key not in _KEYS:
            raise DataError(f"{where}: unknown header @{key}; a .ts header holds {', '.join('@' + k for k in _KEYS)}")
        if key == "data":
            if "classlabel" not in settings:
                raise DataError(f"{where}: @data before @classLabel; the header must say @classLabel true/false")
            return settings, i + 1
        if key in _BOOLEAN_KEYS:
            settings[key] = _bool(value, key, where)
            if key in ("timestamps", "targetlabel") and settings[key]:
                raise DataError(
                    f"{where}: @{key} true is not supported (aekit reads plain values with optional class labels)"
                )
        elif key in ("dimension", "dimensions", "serieslength"):
            try:
                settings[key] = int(value.strip())
                if int(value.strip()) < 1:
                    raise ValueError
            except ValueError:
                raise DataError(f"{where}: @{key} must be a positive integer, got {value.strip()!r}") from None
        elif key == "classlabel":
            flag, names = (value.split(None, 1) + [""])[:2] if value.strip() else ("", "")
            settings[key] = _bool(flag, key, where)
            declared = names.split()
            if settings[key] and not declared:
                raise DataError(f"{where}: @classLabel true must list the class names, e.g. @classLabel true 1 2")
            if len(set(declared)) != len(declared):
                raise DataError(f"{where}: @classLabel lists a class twice ({' '.join(declared)})")
            settings["classes"] = declared
        else:
            settings[key] = value.strip()
    raise DataError(f"{name}: no @data line; a .ts file is @ header lines, then @data, then one case a line")


def _channel(text: str, where: str, channel: int) -> NDArray[np.float64]:
    """The values of one channel of a case, each a finite number."""
    fields = text.split(",")
    try:
        values = np.array([float(v) for v in fields], dtype=np.float64)
    except ValueError:
        bad = next(j for j, v in enumerate(fields) if not _is_float(v))
        shown = fields[bad].strip() or "(empty)"
        raise DataError(f"{where}: channel {channel}, step {bad} is {shown!r}, not a number") from None
    finite = np.isfinite(values)
    if not finite.all():
        step = int((~finite).argmax())
        raise DataError(
            f"{where}: channel {channel}, step {step} is {fields[step].strip()!r}; aekit needs finite numbers "
            "(fill or drop missing values first)"
        )
    if np.abs(values).max(initial=0.0) > np.finfo(np.float32).max:
        step = int((np.abs(values) > np.finfo(np.float32).max).argmax())
        raise DataError(f"{where}: channel {channel}, step {step} is {fields[step].strip()!r}, too large for float32")
    return values


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_ts(path: str | Path, unequal: str = "error") -> TsFile:
    """Read a UCR/UEA ``.ts`` file (univariate or multivariate) into a :class:`TsFile`.

    Parameters
    ----------
    path : str or pathlib.Path
    unequal : {"error", "pad"}
        Cases of different lengths: "error" names the line of the first one that
        differs from the first case; "pad" pads each at its end with its last value
        to the longest length and sets :attr:`TsFile.mask`.

    Returns
    -------
    TsFile
        ``values`` (N, L, C) float32, labels as codes in the declared order.

    Raises
    ------
    DataError
        A missing ``@data`` or ``@classLabel`` line, an unknown or malformed header
        line, data before ``@data``, a value that is not a finite number, a case whose
        channel count differs from the first case's (or from ``@dimensions``), a label
        missing or not declared, lengths that differ (``unequal="error"``) or differ
        from ``@seriesLength``; each message names the file and line.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ragged.ts"
    >>> _ = p.write_text("@classLabel false\\n@data\\n1,2,3\\n4,5\\n")
    >>> read_ts(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    aekit.errors.DataError: ...ragged.ts: line 4: the case holds 2 steps, line 3 holds 3; ...
    >>> padded = read_ts(p, unequal="pad")
    >>> padded.values[:, :, 0].tolist(), padded.mask.tolist()
    ([[1.0, 2.0, 3.0], [4.0, 5.0, 5.0]], [[True, True, True], [True, True, False]])
    """
    if unequal not in UNEQUAL:
        raise DataError(f"unequal={unequal!r} is not one of: {', '.join(UNEQUAL)}")
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: not a readable .ts file (not UTF-8 text: {exc})") from None
    except OSError as exc:
        raise DataError(f"{name}: not a readable .ts file ({exc.strerror or exc})") from None
    if "\x00" in text:
        raise DataError(f"{name}: not a readable .ts file (it holds NUL bytes: binary data, not text)")
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)]
    lines = [(n, line) for n, line in lines if line and not line.startswith("#")]
    settings, start = _header(lines, name)
    labelled = bool(settings["classlabel"])
    classes: list[str] = list(settings.get("classes", []))  # type: ignore[call-overload]
    declared = settings.get("dimensions", settings.get("dimension"))
    channels: int | None = declared if isinstance(declared, int) else None
    if settings.get("univariate") is True:
        if channels not in (None, 1):
            raise DataError(f"{name}: @univariate true with @dimensions {channels}")
        channels = 1
    cases: list[NDArray[np.float64]] = []  # each (C, L_i)
    labels: list[int] = []
    first_line = 0
    for number, line in lines[start:]:
        where = f"{name}: line {number}"
        if line.startswith("@"):
            raise DataError(f"{where}: a header line ({line[:40]!r}) after @data")
        fields = line.split(":")
        if labelled:
            # A line with no field beyond its channels (or whose last field holds numbers) lacks its label.
            complete = len(fields) > (channels or 1) or fields[-1].strip() in classes
            label = fields.pop().strip() if complete else ""
            if not label or ("," in label and label not in classes):
                raise DataError(f"{where}: the class label is missing (the last ':' field; one of {classes})")
            if label not in classes:
                raise DataError(f"{where}: class label {label!r} is not one of the declared {classes}")
            labels.append(classes.index(label))
        if channels is None:
            channels, first_line = len(fields), number
        if len(fields) != channels:
            said = f"line {first_line}" if first_line else "the header (@dimensions, @univariate)"
            raise DataError(f"{where}: the case holds {len(fields)} channels, {said} says {channels}")
        first_line = first_line or number
        series = [_channel(field, where, c) for c, field in enumerate(fields)]
        length = len(series[0])
        uneven = next((c for c, s in enumerate(series) if len(s) != length), None)
        if uneven is not None:
            raise DataError(
                f"{where}: channel {uneven} holds {len(series[uneven])} steps, channel 0 holds {length}; "
                "the channels of a case must have the same length"
            )
        expected = settings.get("serieslength")
        if expected is not None and settings.get("equallength", True) and length != expected:
            raise DataError(f"{where}: the case holds {length} steps, @seriesLength says {expected}")
        if cases and length != cases[0].shape[1] and unequal == "error":
            raise DataError(
                f"{where}: the case holds {length} steps, line {first_line} holds {cases[0].shape[1]}; cases of "
                "different lengths are not one array: read them with aekit.data.ts_format.read_ts(path, "
                "unequal='pad') (padded, with a mask), or resample them to one length"
            )
        cases.append(np.stack(series))
    if not cases:
        raise DataError(f"{name} holds no cases after @data")
    lengths = np.array([c.shape[1] for c in cases], dtype=np.int64)
    longest = int(lengths.max())
    n_values = len(cases) * longest * cases[0].shape[0]
    if n_values > 2**31:
        raise DataError(f"{name}: padding to {longest} steps would need {n_values} values; too many for one array")
    values = np.empty((len(cases), longest, cases[0].shape[0]), dtype=np.float32)
    for i, case in enumerate(cases):
        values[i, : case.shape[1]] = case.T
        values[i, case.shape[1] :] = case[:, -1]  # padding holds the last value
    mask = None
    if (lengths != longest).any():
        mask = np.arange(longest)[None, :] < lengths[:, None]
    problem = settings.get("problemname")
    return TsFile(
        values=values,
        labels=np.array(labels, dtype=np.int64) if labelled else None,
        label_names=classes if labelled else None,
        lengths=lengths,
        mask=mask,
        problem_name=None if problem is None else str(problem),
    )


__all__ = ["TsFile", "UNEQUAL", "read_ts"]
