"""Sequence and series readers: UCR/UEA ``.ts`` files, (N, L, C) and (T, C) arrays, the
TimeEval CSV through ``load(kind="series")``, and every bad file named by file and line.

Tiny files are written by the tests themselves; the real GunPoint and BasicMotions files
in ``../shared/data/series`` are read when that folder is there (skipped otherwise).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aekit.data import load
from aekit.data.sequences import is_grey_images
from aekit.data.ts_format import read_ts
from aekit.errors import DataError

SERIES = Path(__file__).resolve().parents[2] / "shared" / "data" / "series"
needs_shared = pytest.mark.skipif(not SERIES.is_dir(), reason="../shared/data/series is not here")

MULTI = """# two channels, three steps
@problemName demo
@timeStamps false
@univariate false
@dimensions 2
@equalLength true
@seriesLength 3
@classLabel true up down
@data
1,2,3:0,0.5,1:up
3,2,1:1,0.5,0:down
0,0,0:-1,-2,-3.5e1:up
"""


def _write(tmp_path: Path, text: str, name: str = "x.ts") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_multivariate_ts_keeps_values_channels_last_and_labels_in_declared_order(tmp_path):
    ds = load(_write(tmp_path, MULTI))
    assert ds.kind == "sequence" and ds.x.dtype == np.float32 and ds.x.shape == (3, 3, 2)
    np.testing.assert_array_equal(ds.x[0], [[1, 0], [2, 0.5], [3, 1]])
    np.testing.assert_array_equal(ds.x[2, :, 1], [-1, -2, -35])
    assert ds.label_names == ["up", "down"] and ds.y.tolist() == [0, 1, 0]


def test_univariate_ts_without_labels(tmp_path):
    ds = load(_write(tmp_path, "@problemName u\n@univariate true\n@classLabel false\n@data\n1,2\n3,4\n"))
    assert ds.x.shape == (2, 2, 1) and ds.y is None and ds.label_names is None


def test_limit_keeps_the_first_sequences(tmp_path):
    assert load(_write(tmp_path, MULTI), limit=2).x.shape == (2, 3, 2)


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("@problemName a\n@classLabel true a b\n1,2:a\n", 3, "before the @data line"),
        ("@problemName a\n@classLabel true a b\n", None, "no @data line"),
        ("@problemName a\n@data\n1,2\n", 2, "@classLabel"),
        ("@colour red\n@classLabel false\n@data\n1\n", 1, "unknown header @colour"),
        ("@univariate maybe\n@classLabel false\n@data\n1\n", 1, "true or false"),
        ("@seriesLength -3\n@classLabel false\n@data\n1\n", 1, "positive integer"),
        ("@classLabel true\n@data\n1\n", 1, "list the class names"),
        ("@timeStamps true\n@classLabel false\n@data\n(0,1)\n", 1, "not supported"),
        ("@classLabel true a b\n@data\n1,2,3:a\n1,2,3\n", 4, "label is missing"),
        ("@classLabel true a b\n@data\n1,2,3:a\n1,2,3:c\n", 4, "not one of the declared"),
        ("@dimensions 2\n@classLabel true a b\n@data\n1,2:3,4:a\n1,2:a\n", 5, "holds 1 channels"),
        ("@classLabel false\n@data\n1,2:3,4\n1,2:3,4:5,6\n", 4, "holds 3 channels, line 3 says 2"),
        ("@classLabel false\n@data\n1,2,3\n1,nan,3\n", 4, "channel 0, step 1"),
        ("@classLabel false\n@data\n1,?,3\n", 3, "'?'"),
        ("@classLabel false\n@data\n1,,3\n", 3, "(empty)"),
        ("@classLabel false\n@data\n1,x,3\n", 3, "'x', not a number"),
        ("@classLabel false\n@data\n1,1e39\n", 3, "too large for float32"),
        ("@classLabel false\n@data\n1,2:3\n", 3, "channel 1 holds 1 steps"),
        ("@seriesLength 3\n@classLabel false\n@data\n1,2\n", 4, "@seriesLength says 3"),
        ("@classLabel false\n@data\n1,2,3\n1,2\n", 4, "line 3 holds 3"),
        ("@classLabel false\n@data\n1,2\n@data\n", 4, "after @data"),
        ("@classLabel false\n@data\n", None, "no cases"),
    ],
)
def test_bad_ts_files_are_refused_by_file_and_line(tmp_path, text, line, says):
    path = _write(tmp_path, text, "bad.ts")
    with pytest.raises(DataError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message and says in message
    if line is not None:
        assert f"line {line}:" in message


def test_binary_and_non_utf8_ts_files_are_refused(tmp_path):
    for data in (b"\x00\x01@data\n", b"@classLabel false\n@data\n\xff\xfe\n"):
        path = tmp_path / "bin.ts"
        path.write_bytes(data)
        with pytest.raises(DataError, match="bin.ts: not a readable .ts file"):
            load(path)


def test_unequal_lengths_pad_with_a_mask_when_asked(tmp_path):
    path = _write(tmp_path, "@classLabel true a b\n@data\n1,2,3:a\n4:b\n5,6:a\n", "ragged.ts")
    with pytest.raises(DataError, match=r"line 4: the case holds 1 steps, line 3 holds 3.*unequal='pad'"):
        load(path)
    ts = read_ts(path, unequal="pad")
    assert ts.values[:, :, 0].tolist() == [[1, 2, 3], [4, 4, 4], [5, 6, 6]]
    assert ts.mask.tolist() == [[True, True, True], [True, False, False], [True, True, False]]
    assert ts.lengths.tolist() == [3, 1, 2] and ts.labels.tolist() == [0, 1, 0]
    with pytest.raises(DataError, match="unequal='zero' is not one of"):
        read_ts(path, unequal="zero")


def test_npy_and_npz_sequences_and_series(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 20, 3)).astype(np.float32)
    np.save(tmp_path / "seq.npy", x)
    ds = load(tmp_path / "seq.npy")
    assert ds.kind == "sequence" and ds.x.shape == (6, 20, 3)
    np.testing.assert_array_equal(ds.x, x)
    np.savez(tmp_path / "seq.npz", x=x, y=np.array(list("aabbcc")))
    ds = load(tmp_path / "seq.npz")
    assert ds.kind == "sequence" and ds.label_names == ["a", "b", "c"] and ds.y.tolist() == [0, 0, 1, 1, 2, 2]
    # (N, L) read as sequences: one channel.
    np.save(tmp_path / "flat.npy", x[:, :, 0])
    assert load(tmp_path / "flat.npy", kind="sequence").x.shape == (6, 20, 1)
    assert load(tmp_path / "flat.npy").kind == "table"
    # One long recording (T, C) and (T,), with labels per step.
    np.savez(tmp_path / "rec.npz", x=x.reshape(-1, 3), y=np.arange(120) % 2)
    ds = load(tmp_path / "rec.npz", kind="series")
    assert ds.kind == "series" and ds.x.shape == (120, 3) and ds.y.shape == (120,)
    np.save(tmp_path / "one.npy", x.ravel())
    assert load(tmp_path / "one.npy", kind="series").x.shape == (360, 1)
    with pytest.raises(DataError, match=r"seq.npy has shape \(6, 20, 3\); a series is"):
        load(tmp_path / "seq.npy", kind="series")
    with pytest.raises(DataError, match="kind='image' is not one of"):
        load(tmp_path / "seq.npy", kind="image")
    with pytest.raises(DataError, match="does not apply to this format"):
        load(_write(tmp_path, MULTI), kind="series")


def test_three_d_arrays_are_sequences_unless_grey_images(tmp_path):
    rng = np.random.default_rng(1)
    assert is_grey_images(rng.integers(0, 256, (3, 28, 28)).astype(np.uint8))
    assert is_grey_images(rng.random((3, 8, 12))) and is_grey_images(rng.integers(0, 256, (3, 6, 6)))
    assert not is_grey_images(rng.random((3, 100, 6)) - 0.5)  # centred: not intensities
    assert not is_grey_images(rng.random((3, 100, 6)))  # long and narrow: 6 channels of 100 steps
    assert not is_grey_images(rng.normal(size=(3, 28, 28)))
    np.save(tmp_path / "img.npy", rng.integers(0, 256, (3, 28, 28)).astype(np.uint8))
    assert load(tmp_path / "img.npy").x.shape == (3, 1, 28, 28)
    np.save(tmp_path / "img.npy", rng.integers(0, 256, (3, 28, 28)).astype(np.uint8))
    assert load(tmp_path / "img.npy", kind="sequence").x.shape == (3, 28, 28)


def test_non_finite_sequences_are_named(tmp_path):
    x = np.zeros((2, 10, 2))  # long and narrow: sequences, whatever the values
    x[1, 3, 1] = np.nan
    np.save(tmp_path / "nan.npy", x - 1)
    with pytest.raises(DataError, match=r"nan.npy: row 1, element \(3, 1\) is NaN"):
        load(tmp_path / "nan.npy")


def test_timeeval_csv_through_load(tmp_path):
    path = tmp_path / "rec.csv"
    path.write_text("timestamp,a,b,is_anomaly\n0,1.0,2.0,0\n1,1.5,2.5,1\n2,1.0,2.0,0\n")
    ds = load(path, kind="series")
    assert ds.kind == "series" and ds.x.shape == (3, 2) and ds.columns == ["a", "b"] and ds.y.tolist() == [0, 1, 0]
    assert load(path).kind == "table"  # without kind: an ordinary table
    path.write_text("timestamp,a,is_anomaly\n0,1.0,0\n1,abc,1\n")
    with pytest.raises(DataError, match="line 3"):
        load(path, kind="series")


@needs_shared
@pytest.mark.parametrize(
    ("name", "shape", "classes"),
    [
        ("GunPoint_TRAIN", (50, 150, 1), ["1", "2"]),
        ("GunPoint_TEST", (150, 150, 1), ["1", "2"]),
        ("BasicMotions_TRAIN", (40, 100, 6), ["Standing", "Running", "Walking", "Badminton"]),
        ("BasicMotions_TEST", (40, 100, 6), ["Standing", "Running", "Walking", "Badminton"]),
    ],
)
def test_shared_ucr_uea_files(name, shape, classes):
    ds = load(SERIES / f"{name}.ts")
    assert ds.kind == "sequence" and ds.x.shape == shape and ds.label_names == classes
    assert np.isfinite(ds.x).all() and sorted(set(ds.y.tolist())) == list(range(len(classes)))
    if name.startswith("GunPoint"):  # the UCR archive z-normalises each series
        np.testing.assert_allclose(ds.x.mean(1), 0, atol=1e-4)
