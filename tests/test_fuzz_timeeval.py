"""The TimeEval CSV reader (:func:`aekit.data.timeeval.read_timeeval`), fuzzed as the other
readers are (``tests/test_fuzz_readers.py``): every input either loads into a sane
series or raises a :class:`~aekit.errors.DataError` naming the file; never a crash,
a raw ValueError or a hang. Below the property: each kind of bad file named by its
line, valid files read back exactly, and the shared ECG series (skipped without
``../shared``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aekit.data.timeeval import TimeEvalSeries, read_timeeval
from aekit.errors import DataError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fuzz.cases import Case, mutate  # noqa: E402
from fuzz.targets import Target, attempt  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "series"
PROFILE = settings(
    max_examples=1000 if os.environ.get("AEKIT_FUZZ_PROFILE") == "aekit-fuzz" else 200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

CELLS = st.sampled_from(
    ["0", "1", "0.0", "1.0", "2", "-3.5", "1e39", "nan", "inf", "", "abc", " 4 ", '"5"', "2024-01-01"]
)
NUMBERS = st.floats(-1e6, 1e6, allow_nan=False).map(repr) | st.integers(-(10**6), 10**6).map(str)
HEADERS = st.sampled_from(["timestamp", "value-0", "value-1", "is_anomaly", "IS_ANOMALY", "x", "", "7", "x"])


@st.composite
def timeeval_cases(draw) -> Case:
    """A TimeEval-like CSV (a header, numbers, now and then a bad cell or row) or damaged text."""
    how = draw(st.sampled_from(["series", "series", "series", "text"]))
    if how == "text":
        text = draw(
            st.text(alphabet=st.sampled_from(list(',"\n\r 0123456789.eE-+_:Tabnfimsty\x00\u00e9')), max_size=200)
        )
    else:
        n_channels = draw(st.integers(0, 3))
        names = ["timestamp"] * draw(st.booleans()) + [f"value-{k}" for k in range(n_channels)]
        names += ["is_anomaly"] * draw(st.booleans())
        if draw(st.integers(0, 4)) == 0:
            names = draw(st.lists(HEADERS, max_size=4))
        rows = []
        for t in range(draw(st.integers(0, 6))):
            row = [str(t) if name == "timestamp" else draw(NUMBERS) for name in names]
            row = [draw(st.sampled_from(["0", "1", "0.0"])) if n == "is_anomaly" else c for n, c in zip(names, row)]
            if row and draw(st.integers(0, 5)) == 0:  # one bad cell
                row[draw(st.integers(0, len(row) - 1))] = draw(CELLS)
            if draw(st.integers(0, 8)) == 0:  # ragged
                row = row[:-1] if draw(st.booleans()) else row + ["0"]
            rows.append(row)
        lines = ([names] if draw(st.integers(0, 5)) else []) + rows
        end = draw(st.sampled_from(["\n", "\r\n"]))
        text = end.join(",".join(row) for row in lines) + end * draw(st.integers(0, 2))
    raw = text.encode(draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"])), "replace")
    options = {"limit": draw(st.integers(1, 3))} if draw(st.integers(0, 4)) == 0 else {}
    return Case({"s.csv": mutate(raw, draw)}, "s.csv", options, note=f"timeeval/{how}")


def _load(path: Path, case: Case) -> str | None:
    s = read_timeeval(path, **case.options)
    T, C = s.values.shape
    if s.values.dtype != np.float32 or not np.isfinite(s.values).all() or T < 1 or C < 1:
        return f"values {s.values.dtype} {s.values.shape}, finite={np.isfinite(s.values).all()}"
    if len(s.channels) != C or not all(isinstance(c, str) and c for c in s.channels):
        return f"channels {s.channels!r} for {C} columns"
    if s.labels is not None and (s.labels.shape != (T,) or s.labels.dtype != np.int8 or set(s.labels) - {0, 1}):
        return f"labels {s.labels!r}"
    if s.timestamps is not None and s.timestamps.shape != (T,):
        return f"timestamps of shape {s.timestamps.shape} for {T} steps"
    if "limit" in case.options and T > case.options["limit"]:
        return f"limit={case.options['limit']} but {T} steps came back"
    return None


TARGET = Target("timeeval", timeeval_cases(), _load)


@PROFILE
@given(case=timeeval_cases())
def test_every_file_loads_or_raises_a_data_error_naming_it(case, tmp_path_factory):
    outcome = attempt(TARGET, case, tmp_path_factory.getbasetemp(), timeout=30)
    assert outcome.kind != "failure", f"{case!r}\n{outcome.detail}"


@PROFILE
@given(
    values=st.lists(
        st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=2, max_size=2),
        min_size=1,
        max_size=20,
    ),
    labelled=st.booleans(),
)
def test_a_valid_file_reads_back_exactly(tmp_path_factory, values, labelled):
    path = tmp_path_factory.mktemp("ok") / "s.csv"
    x = np.asarray(values, dtype=np.float32)
    y = np.arange(len(x)) % 2
    lines = ["timestamp,a,b" + (",is_anomaly" if labelled else "")]
    lines += [f"{t},{a!r},{b!r}" + (f",{y[t]}" if labelled else "") for t, (a, b) in enumerate(x.tolist())]
    path.write_text("\n".join(lines) + "\n")
    s = read_timeeval(path)
    assert np.array_equal(s.values, x) and s.channels == ["a", "b"]
    assert s.timestamps.tolist() == list(range(len(x)))
    assert (s.labels.tolist() == y.tolist()) if labelled else s.labels is None


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty; a TimeEval CSV starts with a header"),
        ("0,1.5,0\n1,2.5,0\n", "line 1: no header (the first line holds the number '0')"),
        ("timestamp,x,is_anomaly\n", "has a header but no time steps"),
        ("timestamp,is_anomaly\n0,0\n", "names no channel column"),
        ("timestamp,x,x\n0,1,2\n", "names column 'x' twice"),
        ("timestamp,,is_anomaly\n0,1,0\n", "has an empty column name"),
        ("timestamp,x,is_anomaly\n0,1.5,0\n1,2.5\n", "line 3: 2 fields, but the header names 3 columns"),
        ("timestamp,x,is_anomaly\n0,1.5,0\n1,2.5,0,7\n", "line 3: 4 fields"),
        ("timestamp,x,is_anomaly\n0,1.5,0\n1,abc,0\n", "line 3: column 'x' is 'abc', not a number"),
        ("timestamp,x,is_anomaly\n0,1.5,0\n1,,0\n", "line 3: column 'x' is empty, not a number"),
        ("timestamp,x,is_anomaly\n0,1.5,0\n\n1,nan,0\n", "line 4: column 'x' is NaN"),
        ("timestamp,x,is_anomaly\n0,-inf,0\n", "line 2: column 'x' is -inf"),
        ("timestamp,x,is_anomaly\n0,1e39,0\n", "line 2: column 'x' holds 1e+39, beyond the float32 range"),
        ("timestamp,x,is_anomaly\n0,1,0\n1,2,2\n", "line 3: the label (is_anomaly) is '2'; it must be 0 or 1"),
        ("timestamp,x,is_anomaly\n0,1,yes\n", "line 2: the label (is_anomaly) is 'yes', not a number"),
        ("timestamp,x\n0,1\nlater,2\n", "line 3: the timestamp 'later' is neither a number nor an ISO 8601 date"),
        ("timestamp,x\n0,1\nnan,2\n", "line 3: the timestamp is 'nan'; timestamps must be finite"),
    ],
)
def test_bad_files_are_named_by_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError) as info:
        read_timeeval(path)
    assert "bad.csv" in str(info.value) and message in str(info.value), str(info.value)


def test_columns_are_found_by_name_in_any_order_and_case(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("IS_ANOMALY,b,Timestamp,a\n0,1,10,2\n1,3,11,4\n")
    s = read_timeeval(path)
    assert s.channels == ["b", "a"] and s.values.tolist() == [[1, 2], [3, 4]]
    assert s.labels.tolist() == [0, 1] and s.timestamps.tolist() == [10, 11] and len(s) == 2


def test_dates_decimals_and_no_timestamp_column(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("timestamp,x\n2024-01-31 12:00:00,1\n2024-01-31 12:00:01,2\n")
    assert read_timeeval(path).timestamps.tolist()[1] == np.datetime64("2024-01-31T12:00:01", "ns").astype(int)
    path.write_text("timestamp,x\n0.5,1\n1.5,2\n")
    assert read_timeeval(path).timestamps.dtype == np.float64
    path.write_text("x,y,is_anomaly\n1,2,0.0\n3,4,1.0\n")
    s = read_timeeval(path, limit=1)
    assert s.timestamps is None and s.values.shape == (1, 2) and s.labels.tolist() == [0]
    with pytest.raises(DataError, match="limit=0 must be None or a positive integer"):
        read_timeeval(path, limit=0)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/series is not here")
@pytest.mark.parametrize("part, anomalies", [("TRAIN_NA", 0), ("TEST", 300)])
def test_the_shared_ecg_series(part, anomalies):
    s = read_timeeval(SHARED / f"ecg-diff-count-3_{part}.csv")
    assert isinstance(s, TimeEvalSeries)
    assert s.values.shape == (10_000, 1) and s.channels == ["value-0"]
    assert int(s.labels.sum()) == anomalies and s.timestamps[-1] == 9_999
