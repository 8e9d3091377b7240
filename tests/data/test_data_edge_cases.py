"""aekit.data edge cases beyond tests/test_data.py: every IDX dtype, missing CSV cells,
alpha channels, limits, split semantics, builtin options and an unreachable mirror."""

from __future__ import annotations

import gzip
import socket
import struct

import numpy as np
import pytest
from PIL import Image

from aekit.data import Dataset, check_array, load, shapes12_presets
from aekit.data import download as dl
from aekit.errors import DataError


def _idx(array: np.ndarray, code: int) -> bytes:
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


@pytest.mark.parametrize(
    "dtype, code", [("u1", 0x08), ("i1", 0x09), (">i2", 0x0B), (">i4", 0x0C), (">f4", 0x0D), (">f8", 0x0E)]
)
@pytest.mark.parametrize("gz", [False, True])
def test_idx_every_dtype_round_trips_as_a_table(tmp_path, dtype, code, gz):
    table = np.arange(-6, 6).reshape(4, 3).astype(dtype) if dtype != "u1" else np.arange(12, dtype="u1").reshape(4, 3)
    data = _idx(table, code)
    path = tmp_path / ("t.idx.gz" if gz else "t.idx")
    path.write_bytes(gzip.compress(data) if gz else data)
    ds = load(path)
    assert ds.kind == "table" and np.array_equal(ds.x, table.astype(np.float32))


def test_idx_short_images_within_0_255_are_scaled(tmp_path):
    images = np.array([[[0, 255], [51, 102]]], dtype=">i2")
    (tmp_path / "s-images-idx3-ubyte").write_bytes(_idx(images, 0x0B))
    assert np.allclose(load(tmp_path / "s-images-idx3-ubyte").x[0, 0], [[0, 1], [0.2, 0.4]])


def test_idx_trailing_bytes_and_gzip_cut_short_are_named(tmp_path):
    good = _idx(np.zeros((2, 2), np.uint8), 0x08)
    (tmp_path / "long.idx").write_bytes(good + b"x")
    with pytest.raises(DataError, match="long.idx: IDX file with trailing bytes"):
        load(tmp_path / "long.idx")
    (tmp_path / "cut.idx.gz").write_bytes(gzip.compress(good)[:-6])
    with pytest.raises(DataError, match="cut.idx.gz: truncated or corrupt gzip"):
        load(tmp_path / "cut.idx.gz")


def test_csv_missing_cell_is_named_by_file_row(tmp_path):
    (tmp_path / "m.csv").write_text("a,b\n1,2\n3,\n")
    with pytest.raises(DataError, match=r"m.csv: row 3, column 'b' is missing"):
        load(tmp_path / "m.csv")


def test_csv_without_header_and_with_text_labels(tmp_path):
    (tmp_path / "h.csv").write_text("1,2\n3,4\n5,6\n")
    ds = load(tmp_path / "h.csv")
    assert ds.x.shape == (3, 2) and ds.columns is None and ds.y is None
    (tmp_path / "l.csv").write_text("a,Target\n1,cat\n2,dog\n3,cat\n")
    ds = load(tmp_path / "l.csv")
    assert ds.label_names == ["cat", "dog"] and ds.y.tolist() == [0, 1, 0] and ds.columns == ["a"]


def test_rgba_drops_alpha_and_mixed_folders_become_rgb(tmp_path):
    rgba = np.zeros((3, 4, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 0  # red, fully transparent: alpha must not matter
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    Image.fromarray(np.full((3, 4), 51, np.uint8)).save(tmp_path / "b.png")
    ds = load(tmp_path)
    assert ds.x.shape == (2, 3, 3, 4)
    assert np.allclose(ds.x[0, :, 0, 0], [1, 0, 0]) and np.allclose(ds.x[1], 0.2)


def test_npz_single_array_and_ambiguous_keys(tmp_path):
    np.savez(tmp_path / "one.npz", anything=np.ones((3, 2)))
    assert load(tmp_path / "one.npz").x.shape == (3, 2)
    np.savez(tmp_path / "two.npz", a=np.ones((3, 2)), b=np.ones((3, 2)))
    with pytest.raises(DataError, match="name the samples 'x'"):
        load(tmp_path / "two.npz")


def test_ambiguous_channel_axis_is_refused(tmp_path):
    np.save(tmp_path / "c.npy", np.zeros((2, 5, 6, 7), np.float32))
    with pytest.raises(DataError, match="cannot tell the channel axis"):
        load(tmp_path / "c.npy")


def test_check_array_names_pixel_and_refuses_text_and_1d():
    x = np.zeros((3, 1, 4, 4))
    x[2, 0, 1, 3] = np.inf
    with pytest.raises(DataError, match=r"row 2, channel 0, pixel \(row 1, column 3\) is inf"):
        check_array(x, name="imgs", kind="image")
    with pytest.raises(DataError, match="not real numbers"):
        check_array(np.array([["a", "b"]]), name="t")
    with pytest.raises(DataError, match="1-D"):
        check_array(np.ones(3), name="v")
    with pytest.raises(DataError, match="too large for float32"):
        check_array(np.array([[1e300]]), name="big")


def test_limit_keeps_first_rows_and_is_validated(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(20, dtype=np.float64).reshape(10, 2))
    assert load(tmp_path / "x.npy", limit=3).x[:, 0].tolist() == [0, 2, 4]
    full = load("builtin:shapes12?n=50")
    assert np.array_equal(load("builtin:shapes12?n=50", limit=7).x, full.x[:7])
    with pytest.raises(DataError, match="limit=0"):
        load(tmp_path / "x.npy", limit=0)


def test_split_semantics_with_and_without_a_source_split():
    plain = Dataset(x=np.zeros((5, 2), np.float32), y=None, kind="table", name="p")
    assert plain.train() is plain
    with pytest.raises(DataError, match="defines no train/test split"):
        plain.test()
    ds = load("builtin:shapes12?n=100")
    train, test = ds.split()
    assert len(train) == 80 and len(test) == 20 and np.array_equal(test.x, ds.x[80:])
    # A limit that cuts off every test row: test() says so, split() falls back to a random split.
    head = ds.subset(slice(0, 30))
    with pytest.raises(DataError, match="holds no rows of its source's test split"):
        head.test()
    assert [len(part) for part in head.split(test_size=0.2, seed=0)] == [24, 6]


def test_builtin_options_are_checked():
    with pytest.raises(DataError, match="has no option 'size'; options: n, seed"):
        load("builtin:shapes12?size=3")
    with pytest.raises(DataError, match="n='many' is not a valid int"):
        load("builtin:shapes12?n=many")
    with pytest.raises(DataError, match="options: none"):
        load("builtin:digits?n=3")


def test_shapes12_presets_are_canonical():
    presets = shapes12_presets()
    bar, triangle = presets["bar"][0], presets["triangle"][0]
    assert bar.sum(axis=1).max() > 3 * bar.sum(axis=0).max()  # horizontal
    rows = triangle.sum(axis=1)
    assert rows.argmax() >= 6 and rows[6:].sum() > 1.15 * rows[:6].sum()  # pointing up: base below
    assert all(p.dtype == np.float32 and 0 <= p.min() and p.max() <= 1 for p in presets.values())


def test_unreachable_mirror_names_the_url_and_keeps_nothing(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AEKIT_MIRROR_MNIST", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AEKIT_DATA", raising=False)
    monkeypatch.setattr(dl, "SYSTEM_DIRS", [tmp_path / "nowhere"])
    with pytest.raises(DataError, match=rf"could not download http://127.0.0.1:{port}/train-images"):
        load("builtin:mnist")
    assert not any((tmp_path / "cache" / "mnist").iterdir())
