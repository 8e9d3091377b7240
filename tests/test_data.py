"""aekit.data: every reader round trips, every builtin loads, the download path is
verified against a local HTTP server, and bad input is named precisely."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aekit.data import BUILTINS, Dataset, check_array, load, make_shapes12, shapes12_presets
from aekit.data import download as dl
from aekit.errors import DataError

FASHION = Path("/usr/share/datasets/fashion-mnist")


def _idx(array: np.ndarray) -> bytes:
    codes = {
        np.dtype(np.uint8): 0x08,
        np.dtype(np.int8): 0x09,
        np.dtype(">i2"): 0x0B,
        np.dtype(">i4"): 0x0C,
        np.dtype(">f4"): 0x0D,
        np.dtype(">f8"): 0x0E,
    }
    header = struct.pack(">BBBB", 0, 0, codes[array.dtype], array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


# -- readers --------------------------------------------------------------------------------
def test_npy_table_and_images(tmp_path):
    table = np.random.default_rng(0).random((20, 5))
    np.save(tmp_path / "t.npy", table)
    ds = load(tmp_path / "t.npy")
    assert ds.kind == "table" and ds.x.shape == (20, 5) and ds.x.dtype == np.float32
    np.save(tmp_path / "g.npy", (np.random.default_rng(0).random((7, 9, 11)) * 255).astype(np.uint8))
    ds = load(tmp_path / "g.npy")
    assert ds.kind == "image" and ds.x.shape == (7, 1, 9, 11) and ds.x.max() <= 1
    np.save(tmp_path / "rgb.npy", np.random.default_rng(0).random((4, 6, 6, 3)).astype(np.float32))
    assert load(tmp_path / "rgb.npy").x.shape == (4, 3, 6, 6)  # channels-last becomes channels-first


def test_npz_with_labels(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.ones((6, 3)), y=np.arange(6))
    ds = load(tmp_path / "d.npz")
    assert ds.x.shape == (6, 3) and list(ds.y) == list(range(6))


def test_csv_with_header_and_label(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,label\n1,2,0\n3,4,1\n5,6,0\n")
    ds = load(tmp_path / "d.csv")
    assert ds.columns == ["a", "b"] and ds.x.tolist() == [[1, 2], [3, 4], [5, 6]] and list(ds.y) == [0, 1, 0]


def test_csv_non_numeric_cell_is_named(tmp_path):
    (tmp_path / "d.csv").write_text("a,b\n1,2\n3,oops\n")
    with pytest.raises(DataError, match=r"d.csv.*row 3.*'b'.*oops"):
        load(tmp_path / "d.csv")


def test_image_folder_grey_rgb_and_classes(tmp_path):
    for i in range(3):
        Image.fromarray(np.full((5, 4), 50 * i, np.uint8)).save(tmp_path / f"{i}.png")
    ds = load(tmp_path)
    assert ds.x.shape == (3, 1, 5, 4) and ds.kind == "image"
    assert ds.x[2, 0, 0, 0] == pytest.approx(100 / 255)
    classes = tmp_path / "classes"
    for label in ("cat", "dog"):
        (classes / label).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(classes / label / f"{i}.png")
    ds = load(classes)
    assert ds.x.shape == (4, 3, 4, 4) and sorted(set(ds.y.tolist())) == [0, 1]


def test_image_folder_mismatched_sizes_names_the_file(tmp_path):
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((6, 5), np.uint8)).save(tmp_path / "b.png")
    with pytest.raises(DataError, match=r"b.png"):
        load(tmp_path)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_gz_or_raw_with_sibling_labels(tmp_path, gz):
    images = (np.arange(3 * 4 * 4) % 256).astype(np.uint8).reshape(3, 4, 4)
    labels = np.array([1, 2, 3], np.uint8)
    write = (
        (lambda p, b: p.with_name(p.name + ".gz").write_bytes(gzip.compress(b)))
        if gz
        else (lambda p, b: p.write_bytes(b))
    )
    write(tmp_path / "train-images-idx3-ubyte", _idx(images))
    write(tmp_path / "train-labels-idx1-ubyte", _idx(labels))
    ds = load(tmp_path / ("train-images-idx3-ubyte" + (".gz" if gz else "")))
    assert ds.x.shape == (3, 1, 4, 4) and list(ds.y) == [1, 2, 3]
    np.testing.assert_allclose(ds.x[0, 0], images[0] / 255, rtol=1e-6)


def test_idx_truncated_and_bad_magic_are_named(tmp_path):
    data = _idx(np.zeros((3, 4, 4), np.uint8))
    (tmp_path / "cut-idx3-ubyte").write_bytes(data[:-5])
    with pytest.raises(DataError, match="cut-idx3-ubyte"):
        load(tmp_path / "cut-idx3-ubyte")
    (tmp_path / "bad-idx3-ubyte").write_bytes(b"\x01\x02" + data[2:])
    with pytest.raises(DataError, match="bad-idx3-ubyte"):
        load(tmp_path / "bad-idx3-ubyte")


# -- bad input ---------------------------------------------------------------------------------
def test_empty_files(tmp_path):
    np.save(tmp_path / "e.npy", np.zeros((0, 4)))
    with pytest.raises(DataError, match="e.npy.*no samples"):
        load(tmp_path / "e.npy")
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataError, match="e.csv"):
        load(tmp_path / "e.csv")


def test_nan_and_inf_name_file_row_and_column(tmp_path):
    x = np.ones((5, 3))
    x[3, 1] = np.nan
    np.save(tmp_path / "n.npy", x)
    with pytest.raises(DataError, match=r"n.npy: row 3, column 1 is NaN"):
        load(tmp_path / "n.npy")
    x[3, 1] = -np.inf
    np.save(tmp_path / "n.npy", x)
    with pytest.raises(DataError, match=r"row 3, column 1 is -inf"):
        load(tmp_path / "n.npy")


def test_unknown_suffix_missing_path_unknown_builtin(tmp_path):
    (tmp_path / "d.xyz").write_text("1")
    with pytest.raises(DataError, match=r"d.xyz"):
        load(tmp_path / "d.xyz")
    with pytest.raises(DataError, match="no such file"):
        load(tmp_path / "missing.npy")
    with pytest.raises(DataError, match="digits"):
        load("builtin:nope")


def test_float_0_255_images_warn():
    with pytest.warns(UserWarning, match="0-255"):
        check_array(np.full((2, 1, 3, 3), 200.0), name="x", kind="image")


def test_pickled_npy_is_refused(tmp_path):
    np.save(tmp_path / "p.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError):
        load(tmp_path / "p.npy")


# -- builtins ------------------------------------------------------------------------------------
def test_shapes12_is_seeded_labelled_and_has_presets():
    a, ya = make_shapes12(300, seed=0)
    b, yb = make_shapes12(300, seed=0)
    c, _ = make_shapes12(300, seed=1)
    assert np.array_equal(a, b) and np.array_equal(ya, yb) and not np.array_equal(a, c)
    assert a.shape == (300, 1, 12, 12) and a.min() >= 0 and a.max() <= 1
    ds = load("builtin:shapes12")
    assert len(set(ds.y.tolist())) == len(ds.label_names) >= 4
    assert ds.is_test is not None and 0 < ds.is_test.mean() < 0.5
    presets = shapes12_presets()
    assert set(presets) == set(ds.label_names) and all(p.shape == (1, 12, 12) for p in presets.values())


def test_digits_and_swissroll():
    digits = load("builtin:digits")
    assert digits.x.shape == (1797, 1, 8, 8) and digits.x.max() == 1.0 and digits.is_test is None
    roll = load("builtin:swissroll")
    assert roll.kind == "table" and roll.x.shape[1] == 3 and roll.y is not None
    assert set(BUILTINS) >= {"shapes12", "digits", "fashion-mnist", "mnist", "swissroll"}


@pytest.mark.skipif(not FASHION.is_dir(), reason="Fashion-MNIST is absent (apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_from_debian(monkeypatch, tmp_path):
    monkeypatch.setenv("AEKIT_CACHE", str(tmp_path))
    monkeypatch.delenv("AEKIT_DATA", raising=False)
    ds = load("builtin:fashion-mnist")
    assert ds.x.shape == (70000, 1, 28, 28) and int(ds.is_test.sum()) == 10000
    assert ds.label_names[0] == "T-shirt/top" and ds.x.dtype == np.float32
    assert not any(tmp_path.iterdir())  # found locally, nothing downloaded


# -- the download path, against a server on 127.0.0.1 ---------------------------------------------
@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """Serve fake 'mnist' IDX files from 127.0.0.1 and point aekit's download at them."""
    served = tmp_path / "served"
    served.mkdir()
    rng = np.random.default_rng(0)
    payloads = {
        "train-images-idx3-ubyte": _idx(rng.integers(0, 256, (6, 4, 4), dtype=np.uint8)),
        "train-labels-idx1-ubyte": _idx(rng.integers(0, 10, 6, dtype=np.uint8)),
        "t10k-images-idx3-ubyte": _idx(rng.integers(0, 256, (2, 4, 4), dtype=np.uint8)),
        "t10k-labels-idx1-ubyte": _idx(rng.integers(0, 10, 2, dtype=np.uint8)),
    }
    for name, data in payloads.items():
        (served / (name + ".gz")).write_bytes(gzip.compress(data))
    monkeypatch.setitem(dl.CHECKSUMS, "mnist", {k: hashlib.sha256(v).hexdigest() for k, v in payloads.items()})
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AEKIT_MIRROR_MNIST", f"http://127.0.0.1:{server.server_address[1]}/")
    monkeypatch.setenv("AEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AEKIT_DATA", raising=False)
    monkeypatch.setattr(dl, "SYSTEM_DIRS", [tmp_path / "nowhere"])
    yield served, requests, tmp_path / "cache" / "mnist"
    server.shutdown()


def test_download_once_verified_and_cached(mirror):
    served, requests, cache = mirror
    ds = load("builtin:mnist")
    assert ds.x.shape == (8, 1, 4, 4) and int(ds.is_test.sum()) == 2
    assert len(requests) == 4 and len(list(cache.glob("*-ubyte*"))) == 4
    again = load("builtin:mnist")
    assert np.array_equal(again.x, ds.x) and len(requests) == 4  # the second load never hits the network


def test_corrupt_download_is_refused_and_nothing_kept(mirror):
    served, requests, cache = mirror
    (served / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x02ab"))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: SHA-256 .* expected"):
        load("builtin:mnist")
    assert not list(cache.glob("t10k-labels*")) and not list(cache.glob(".*part"))


def test_dataset_split_is_seeded():
    ds = Dataset(x=np.arange(20, dtype=np.float32).reshape(10, 2), y=None, kind="table", name="d")
    a, b = ds.split(0.3, seed=1), ds.split(0.3, seed=1)
    assert np.array_equal(a[1].x, b[1].x) and len(a[1]) == 3
