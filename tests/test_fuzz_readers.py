"""Bad input, tried systematically: every reader either loads a file correctly or
raises aekit's own error naming it. Never a crash, a hang, a raw TypeError,
MemoryError, pyarrow or Pillow error, or an unbounded allocation.

The strategies and the property live in ``fuzz/targets.py``, shared with the
long-running fuzzer ``fuzz/run.py`` (fuzz/README.md says how to run it for hours).
Here each reader gets a modest, derandomised number of inputs (the same every run,
so CI is stable); ``AEKIT_FUZZ_PROFILE=aekit-fuzz`` runs the same properties with
10,000 random inputs each.

Below the properties: the inputs the fuzzer found, kept as plain regression tests,
and the estimator fed bad data and absurd options.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import struct
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import aekit
from aekit.data import load
from aekit.errors import AekitError, ConfigError, DataError, ModelFileError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fuzz.targets import TARGETS, attempt  # noqa: E402

_QUIET = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.function_scoped_fixture,
]
settings.register_profile(
    "aekit-ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=_QUIET,
    print_blob=True,
)
settings.register_profile(
    "aekit-fuzz", max_examples=10_000, deadline=None, suppress_health_check=_QUIET, print_blob=True
)
PROFILE = settings.get_profile(os.environ.get("AEKIT_FUZZ_PROFILE", "aekit-ci"))
#: Inputs per reader in the normal suite; the model targets train three tiny models once.
EXAMPLES = {"config": 80, "safetensors": 80}


def _property(name):
    target = TARGETS[name]

    @settings(
        PROFILE,
        max_examples=EXAMPLES.get(name, PROFILE.max_examples) if PROFILE.max_examples < 1000 else PROFILE.max_examples,
    )
    @given(case=target.strategy)
    def check(case, tmp_path_factory):
        outcome = attempt(target, case, tmp_path_factory.getbasetemp(), timeout=30)
        assert outcome.kind != "failure", f"{case!r}\n{outcome.detail}"

    return check


@pytest.mark.parametrize("reader", sorted(TARGETS))
def test_reader_loads_or_raises_its_own_clear_error(reader, tmp_path_factory):
    _property(reader)(tmp_path_factory=tmp_path_factory)


# -- what the fuzzer found (each failed before the fix) ----------------------------------------------
def _npy(header: dict | str, body: bytes = b"") -> bytes:
    text = header if isinstance(header, str) else repr(header)
    raw = text.encode("latin-1")
    raw += b" " * ((-(10 + len(raw) + 1)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(raw)) + raw + body


def _npz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _saved(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


REGRESSIONS = [
    # (file name, bytes, what the message says); the old behaviour in the comment.
    # MemoryError: a header promising 22 TiB was allocated before reading.
    (
        "huge.npy",
        _npy({"descr": "<f8", "fortran_order": False, "shape": (10**12, 3)}, bytes(24)),
        "truncated .npy file",
    ),
    # tokenize.TokenError from numpy's header parser.
    ("bad-header.npy", _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1"), "bad header"),
    # SIGFPE: the whole process died in np.memmap on a zero-byte dtype.
    ("zero-itemsize.npy", _npy({"descr": [], "fortran_order": False, "shape": (3, 2)}), "zero bytes"),
    # datetime64/timedelta64 arrays were accepted as numbers (durations became floats).
    ("durations.npy", _saved(np.zeros((2, 2), "m8[s]")), "timedelta64"),
    # AttributeError: a .npz member that is not a .npy came back as bytes.
    ("text-member.npz", _npz({"x.txt": b"garbage"}), "name the samples"),
    # AttributeError: a .npy member holding garbage.
    ("garbage-member.npz", _npz({"x.npy": b"garbage"}), "not a readable .npy file"),
    # zipfile.BadZipFile.
    ("not-a-zip.npz", b"PK\x03\x04" + bytes(60), "not a readable .npz file"),
    # TypeError: len() of a 0-d label array.
    (
        "scalar-labels.npz",
        _npz({"x.npy": _saved(np.zeros((3, 2))), "y.npy": _saved(np.float64(1))}),
        "labels have shape ()",
    ),
    # ValueError from numpy.min inside check_array: samples without values.
    ("no-features.npy", _saved(np.zeros((3, 0))), "samples hold no values"),
    # IndexError: limit on a 0-d IDX array.
    ("x-images-idx3-ubyte", bytes([0, 0, 8, 0, 7]), "has shape ()"),
    # ValueError: a zero dimension next to huge ones passed the size check, then numpy refused the shape.
    (
        "y-images-idx3-ubyte",
        bytes([0, 0, 8, 3]) + (0).to_bytes(4, "big") + (2**32 - 1).to_bytes(4, "big") * 2,
        "cannot be an array",
    ),
    # A gzip bomb was decompressed in full before the header was read; now only what the header promises.
    (
        "z-images-idx3-ubyte.gz",
        gzip.compress(bytes([0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 1]) + bytes(50_000_000)),
        "trailing bytes",
    ),
    # RuntimeWarning (an error under pytest): labels of 1e300 cast to int64.
    ("big-labels.csv", b"a,label\n1,1e300\n2,1\n", None),
    # pandas silently made the first column the row index when line 2 had one field more than the header.
    ("shifted.csv", b"a,b\n1,2,3\n4,5,6\n", "first data row (line 2) has 3 fields"),
    # csv.Error from the header sniffing: a field larger than the csv module's limit.
    ("wide-field.csv", b'"' + b"a" * 200_000 + b'"\n1\n', "not a readable text table"),
]


@pytest.mark.parametrize("name, data, message", REGRESSIONS, ids=[r[0] for r in REGRESSIONS])
def test_inputs_the_fuzzer_found(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        if message is None:
            assert len(load(path).x) >= 1
            return
        with pytest.raises(DataError) as info:
            load(path, limit=1 if "idx" in name else None)
    assert name in str(info.value) and message in str(info.value), str(info.value)


def _parquet(path: Path, **columns) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), path)
    return path


@pytest.mark.parametrize(
    "column, message",
    [
        ([[1, 2], [3]], "nested value"),  # loaded as categories "[1 2]" and "[3]"
        ([{"q": 1}, {"q": 2}], "nested value"),
        (["2020-01-01", "2021-01-01"], None),  # text that looks like dates stays categorical
        ([1e300, -1e300], "too large for float32"),  # RuntimeWarning: overflow in the float32 cast
    ],
)
def test_parquet_cells_aekit_cannot_encode_are_named(tmp_path, column, message):
    path = _parquet(tmp_path / "t.parquet", a=column, b=[1.0, 2.0])
    if message is None:
        assert load(path).x.shape == (2, 3)
        return
    with pytest.raises(DataError, match=message):
        load(path)


def test_binary_labels_that_are_not_ascii_become_label_names(tmp_path):
    # UnicodeDecodeError from numpy's astype(str) on the bytes (found by fuzz/run.py at 10,000 inputs).
    path = _parquet(tmp_path / "b.parquet", a=[1.0, 2.0, 3.0], label=[b"\xff\xfe", b"ok", b"\xff\xfe"])
    ds = load(path)
    assert ds.y.tolist() == [0, 1, 0] and ds.label_names == ["\\xff\\xfe", "ok"]


def test_parquet_dates_and_list_labels_are_refused_by_name(tmp_path):
    import datetime

    path = _parquet(tmp_path / "d.parquet", a=[datetime.date(2020, 1, 1)] * 2, b=[1.0, 2.0])
    with pytest.raises(DataError, match="column 'a' holds date values"):  # were one-hot "categories"
        load(path)
    path = _parquet(tmp_path / "l.parquet", a=[1.0, 2.0], label=[[1], [2]])
    with pytest.raises(DataError, match=r"label of row 0 is a nested value"):  # ValueError before
        load(path)


def _png(width: int, height: int) -> bytes:
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("size", [(100_000, 100_000), (20_000, 10_000)])
def test_decompression_bomb_is_refused_from_its_header(tmp_path, size):
    # PIL.Image.DecompressionBombError escaped before; between the limit and twice it, Pillow only warned.
    (tmp_path / "bomb").mkdir()
    (tmp_path / "bomb" / "a.png").write_bytes(_png(*size))
    with pytest.raises(DataError, match=r"a\.png.*decompression"):
        load(tmp_path / "bomb")


# -- the model directory: config.json values the dataclasses alone let through --------------------------
@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    X = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    return aekit.AutoEncoder(code_dim=2, epochs=1).fit(X).save(tmp_path_factory.mktemp("m") / "model"), X


@pytest.mark.parametrize(
    "section, key, value, message",
    [
        ("model", "code_dim", 10**12, "implies"),  # RuntimeError: torch tried to allocate 64 TB
        ("model", "hidden", [10**7, 10**7], "implies"),  # the same, 400 TB
        ("model", "input_shape", "abc", r"model.input_shape='abc' must be a list, each an integer"),  # ValueError
        ("model", "arch", {}, "model.arch={} must be a string"),  # TypeError: unhashable dict
        ("model", "output_range", [1], "model.output_range=\\[1\\] must be a list of 2"),  # ValueError: unpack
        ("model", "beta", "x", "model.beta='x' must be a finite number"),  # loaded, and broke training later
        ("train", "seed", 10**30, "train.seed=.* must be an integer"),  # loaded, and broke training later
        ("preprocessing", "shift", [1e300] * 6, "finite float32"),  # RuntimeWarning: overflow
        ("preprocessing", "scale", [float("inf")] * 6, "finite float32"),  # loaded: every code came out 0
        (None, "data", [1], "data record must be a JSON object"),  # AttributeError in the estimator
    ],
)
def test_config_values_are_checked_before_use(model_dir, tmp_path, section, key, value, message):
    import shutil

    path, X = model_dir
    copy = shutil.copytree(path, tmp_path / "m")
    config = json.loads((copy / "config.json").read_text())
    (config[section] if section else config)[key] = value
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=message):
        aekit.AutoEncoder.load(copy)


def test_a_table_schema_listing_a_category_twice_is_refused(tmp_path):
    # pandas' InvalidIndexError at the first transform (found by fuzz/run.py at 10,000 inputs).
    import pandas as pd

    frame = pd.DataFrame({"a": np.arange(12.0), "colour": ["red", "blue", "green"] * 4})
    path = aekit.AutoEncoder(code_dim=1, epochs=1).fit(frame).save(tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["data"]["table"]["columns"][1]["categories"] = ["blue", "blue", "red"]
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=r"table schema is malformed .*'colour' lists a category twice"):
        aekit.AutoEncoder.load(path)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"format": 1' + "0" * 5000 + "}"])
def test_json_the_parser_chokes_on_is_a_clear_error(model_dir, tmp_path, text):
    # RecursionError and "Exceeds the limit (4300 digits)" ValueError escaped before.
    import shutil

    copy = shutil.copytree(model_dir[0], tmp_path / "m")
    (copy / "config.json").write_text(text)
    with pytest.raises(ModelFileError, match="config.json is not valid JSON"):
        aekit.AutoEncoder.load(copy)


# -- the estimator: bad data and absurd options ------------------------------------------------------------
TINY = np.random.default_rng(0).random((24, 4)).astype(np.float32)


@settings(PROFILE, max_examples=min(PROFILE.max_examples, 30))
@pytest.mark.filterwarnings("ignore:code_dim=.*identity")
@given(
    rows=st.integers(1, 23),
    col=st.integers(0, 3),
    value=st.sampled_from([np.nan, np.inf, -np.inf]),
    where=st.sampled_from(["fit", "transform"]),
)
def test_a_non_finite_value_anywhere_is_named_by_row_and_column(fitted_tiny, rows, col, value, where):
    X = TINY.copy()
    X[rows, col] = value
    est = aekit.AutoEncoder(code_dim=2, epochs=1) if where == "fit" else fitted_tiny
    with pytest.raises(DataError, match=rf"row {rows}, column {col} is (NaN|-?inf)"):
        est.fit(X) if where == "fit" else est.transform(X)


@pytest.fixture(scope="module")
def fitted_tiny():
    return aekit.AutoEncoder(code_dim=2, epochs=1, batch_size=8).fit(TINY)


def test_constant_columns_and_a_constant_table_fit_and_give_finite_codes():
    X = TINY.copy()
    X[:, 1] = 7.0
    est = aekit.AutoEncoder(code_dim=2, epochs=2, batch_size=8).fit(X)
    assert np.isfinite(est.transform(X)).all() and est.preprocessing_.scale[1] == 1.0
    flat = np.full((10, 3), 2.5, np.float32)
    codes = aekit.AutoEncoder(code_dim=1, epochs=1).fit(flat).transform(flat)
    assert np.isfinite(codes).all()


def test_shapes_that_do_not_match_between_fit_and_transform(fitted_tiny):
    for bad in (np.zeros((3, 5), np.float32), np.zeros((3,), np.float32), np.zeros((3, 2, 2, 2), np.float32)):
        with pytest.raises(DataError):
            fitted_tiny.transform(bad)
    with pytest.raises(DataError, match="no samples"):
        fitted_tiny.transform(np.zeros((0, 4), np.float32))


@pytest.mark.parametrize(
    "options",
    [
        {"code_dim": -1},
        {"code_dim": 0},
        {"code_dim": True},
        {"code_dim": 2.5},
        {"code_dim": "2"},
        {"epochs": 0},
        {"epochs": 1.5},
        {"batch_size": 0},
        {"batch_size": -1},
        {"lr": float("nan")},
        {"lr": float("inf")},
        {"lr": -1},
        {"lr": "x"},
        {"hidden": [0]},
        {"hidden": [-3]},
        {"activation": "nope"},
        {"loss": "x"},
        {"precision": "x"},
        {"corruption": "gaussian", "corruption_level": float("nan")},
        {"val_fraction": 1.5},
        {"val_fraction": float("nan")},
        {"patience": 0},
        {"random_state": -1},
        {"device": "nope"},
        {"variant": "vae", "beta": float("nan")},
        {"variant": "vq", "codebook_size": 0},
        {"weight_decay": float("nan")},
        {"scaling": "nope"},
        {"penalty": "l1", "penalty_weight": float("inf")},
        {"channels": []},
        {"arch": "conv"},
    ],
)
@pytest.mark.filterwarnings("ignore:code_dim=.*identity")
def test_absurd_options_are_refused_by_name(options):
    bad = list(options)[-1].replace("random_state", "seed")
    with pytest.raises(ConfigError, match=bad):
        aekit.AutoEncoder(**{"epochs": 1, **options}).fit(TINY)


@pytest.mark.parametrize(
    "options",
    [
        {"code_dim": 10**12},
        {"hidden": [10**12]},
        {"variant": "vq", "codebook_size": 10**12},
        {"hidden": "ab"},
        {"channels": "x", "arch": "conv"},
        {"random_state": 2**70},
    ],
)
def test_absurd_sizes_and_strings_give_aekit_errors(options):
    with pytest.raises(AekitError):
        aekit.AutoEncoder(**{"epochs": 1, **options}).fit(TINY)


def test_unknown_categories_and_missing_columns_are_named():
    import pandas as pd

    frame = pd.DataFrame({"a": np.arange(12.0), "colour": ["red", "blue"] * 6})
    est = aekit.AutoEncoder(code_dim=1, epochs=1).fit(frame)
    with pytest.raises(DataError, match=r"row 1, column 'colour' holds 'green', a category not seen"):
        est.transform(pd.DataFrame({"a": [1.0, 2.0], "colour": ["red", "green"]}))
    with pytest.raises(DataError, match=r"lacks column\(s\) \['colour'\]"):
        est.transform(pd.DataFrame({"a": [1.0]}))


@settings(PROFILE, max_examples=min(PROFILE.max_examples, 25))
@given(
    X=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5).filter(
            lambda shape: 0 not in shape[1:]
        ),  # samples without values: their own test below
        elements=st.floats(-1e6, 1e6, width=32) | st.sampled_from([np.nan, np.inf, -np.inf]),
    )
)
def test_fit_on_any_float_array_gives_codes_or_an_aekit_error(X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            est = aekit.AutoEncoder(code_dim=1, epochs=1, batch_size=4).fit(X)
        except AekitError:
            return
    codes = est.transform(X)
    assert codes.shape == (len(X), 1) and np.isfinite(codes).all() and math.isfinite(est.score(X))


def test_float64_beyond_the_float32_range_gives_an_aekit_error():
    with pytest.raises(DataError, match="too large for float32"):
        aekit.AutoEncoder(code_dim=1, epochs=1).fit(np.array([[3.5e38], [1.0]]))


def test_samples_without_values_give_an_aekit_error():
    with pytest.raises(DataError):
        aekit.AutoEncoder(code_dim=1, epochs=1).fit(np.zeros((3, 0, 2)))


def test_finite_values_near_the_float32_limit_give_codes_or_an_aekit_error():
    X = np.random.default_rng(0).uniform(-3e38, 3e38, size=(4, 2, 2)).astype(np.float32)  # images: not rescaled
    try:
        codes = aekit.AutoEncoder(code_dim=1, epochs=1).fit(X).transform(X)
    except AekitError:
        return
    assert np.isfinite(codes).all()
