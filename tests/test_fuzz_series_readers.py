"""The ``.ts`` reader fed bad input systematically, as ``test_fuzz_readers.py`` feeds the others.

Three properties, each over a derandomised set of inputs (the same every run, so CI is
stable; ``AEKIT_FUZZ_PROFILE=aekit-fuzz`` runs 10,000 random inputs each):

1. A well-formed file of drawn values, channels and labels loads to exactly those
   values (as float32), channels last, and those labels.
2. The same file with one defect (a NaN, ``?`` or text value, a label dropped or
   not declared, a channel dropped, a case cut short, an unknown header line) is
   refused with a :class:`~aekit.errors.DataError` naming the file and the line of
   the defect.
3. Arbitrary text and bytes, shaped like ``.ts`` or not, either load sanely or raise a
   DataError naming the file: never another exception, a warning from aekit, or a hang.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aekit.data import load
from aekit.errors import DataError

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]
settings.register_profile(
    "aekit-ci", max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=_QUIET
)
settings.register_profile("aekit-fuzz", max_examples=10_000, deadline=None, suppress_health_check=_QUIET)
PROFILE = settings.get_profile(os.environ.get("AEKIT_FUZZ_PROFILE", "aekit-ci"))
DEFECTS = ("nan", "question", "text", "drop_label", "bad_label", "drop_channel", "short", "header")


@dataclass
class TsCase:
    values: np.ndarray  # (N, L, C) float32
    labels: list[str] | None
    classes: list[str]
    declare_dimensions: bool

    def lines(self) -> list[str]:
        n, _, c = self.values.shape
        head = ["# drawn by hypothesis", "@problemName fuzz", f"@univariate {str(c == 1).lower()}"]
        if self.declare_dimensions:
            head.append(f"@dimensions {c}")
        head.append(f"@classLabel true {' '.join(self.classes)}" if self.labels else "@classLabel false")
        head.append("@data")
        body = []
        for i in range(n):
            fields = [",".join(repr(float(v)) for v in self.values[i, :, k]) for k in range(c)]
            body.append(":".join(fields + ([self.labels[i]] if self.labels else [])))
        return head + body


@st.composite
def ts_cases(draw) -> TsCase:
    n = draw(st.integers(1, 5))
    length = draw(st.integers(1, 12))
    channels = draw(st.integers(1, 3))
    finite = st.floats(-1e6, 1e6, allow_nan=False, width=32)
    values = np.array(draw(st.lists(finite, min_size=n * length * channels, max_size=n * length * channels)))
    classes = draw(st.lists(st.text("abcxyz", min_size=1, max_size=3), min_size=1, max_size=3, unique=True))
    labelled = draw(st.booleans())
    labels = [draw(st.sampled_from(classes)) for _ in range(n)] if labelled else None
    return TsCase(values.reshape(n, length, channels).astype(np.float32), labels, classes, draw(st.booleans()))


def _write(tmp_path_factory, name: str, data: bytes) -> Path:
    path = tmp_path_factory.mktemp("ts") / name
    path.write_bytes(data)
    return path


@settings(PROFILE)
@given(case=ts_cases())
def test_well_formed_files_load_exactly(case, tmp_path_factory):
    path = _write(tmp_path_factory, "good.ts", "\n".join(case.lines()).encode())
    ds = load(path)
    assert ds.kind == "sequence" and ds.x.dtype == np.float32
    np.testing.assert_array_equal(ds.x, case.values)
    if case.labels is None:
        assert ds.y is None
    else:
        assert [ds.label_names[i] for i in ds.y] == case.labels and ds.label_names == case.classes


@settings(PROFILE)
@given(case=ts_cases(), defect=st.sampled_from(DEFECTS), data=st.data())
def test_each_defect_is_named_by_its_line(case, defect, data, tmp_path_factory):
    lines = case.lines()
    first = lines.index("@data") + 1
    n, length, channels = case.values.shape
    row = data.draw(st.integers(0, n - 1), label="case")
    where = first + row  # index into lines; the file line is where + 1
    fields = lines[where].split(":")
    values = fields[:channels]
    channel = data.draw(st.integers(0, channels - 1), label="channel")
    steps = values[channel].split(",")
    step = data.draw(st.integers(0, length - 1), label="step")
    if defect in ("nan", "question", "text"):
        steps[step] = {"nan": "NaN", "question": "?", "text": "abc"}[defect]
        values[channel] = ",".join(steps)
        lines[where] = ":".join(values + fields[channels:])
    elif defect == "drop_label":
        if not case.labels:
            return
        lines[where] = ":".join(values)
    elif defect == "bad_label":
        if not case.labels:
            return
        lines[where] = ":".join(values + ["undeclared"])
    elif defect == "drop_channel":
        if channels == 1 or (row == 0 and not case.declare_dimensions):
            return  # the first case sets the count when the header does not
        lines[where] = ":".join(values[:-1] + fields[channels:])
    elif defect == "short":
        if length == 1 or (channels == 1 and row == 0):
            return  # a first case cut short is the length the others then differ from
        values[channel] = ",".join(steps[:-1])
        lines[where] = ":".join(values + fields[channels:])
    else:  # an unknown header line before @data
        where = first - 1
        lines.insert(where, "@colour blue")
    path = _write(tmp_path_factory, "bad.ts", "\n".join(lines).encode())
    try:
        load(path)
    except DataError as exc:
        message = str(exc)
        assert str(path) in message and f"line {where + 1}:" in message, (defect, message)
    else:
        raise AssertionError(f"{defect} at line {where + 1} loaded:\n" + "\n".join(lines))


TS_ALPHABET = st.sampled_from(["@data", "@classLabel true a b", "@classLabel false", "@dimensions 2", "#"])
TOKENS = st.one_of(
    TS_ALPHABET,
    st.text(alphabet="0123456789.,:-+eE?naNifabc @\t", max_size=40),
    st.sampled_from(["1,2,3:a", "1,2:3,4:b", "inf,1", "1e999", "nan", ":", ",,", "@seriesLength 2"]),
)


@settings(PROFILE)
@given(lines=st.lists(TOKENS, max_size=12), raw=st.one_of(st.none(), st.binary(max_size=200)))
def test_arbitrary_input_loads_or_raises_a_data_error_naming_the_file(lines, raw, tmp_path_factory):
    data = raw if raw is not None else "\n".join(lines).encode()
    path = _write(tmp_path_factory, "any.ts", data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            ds = load(path)
        except DataError as exc:
            assert "any.ts" in str(exc), str(exc)
            return
    assert ds.x.ndim == 3 and ds.x.dtype == np.float32 and np.isfinite(ds.x).all()
    assert ds.y is None or (ds.y.shape == (len(ds.x),) and ds.label_names is not None)
