"""Strategies for the data readers: IDX, .npy, .npz, CSV, Parquet and folders of images."""

from __future__ import annotations

import gzip
import io
import math
import struct
import zipfile
import zlib
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fuzz.cases import FLOATS, HUGE, Case, elements
from fuzz.cases import mutate as _mutate


# -- IDX --------------------------------------------------------------------------------------
IDX_CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@st.composite
def idx_cases(draw) -> Case:
    how = draw(st.sampled_from(["valid", "valid", "header", "random"]))
    if how == "random":
        raw = draw(st.binary(max_size=300))
    else:
        valid = how == "valid"
        codes = st.sampled_from(list(IDX_CODES))
        code = draw(codes if valid else codes | st.integers(0, 255))
        ndim = draw(st.integers(2, 4) if valid else st.integers(0, 4) | st.sampled_from([5, 255]))
        small = st.integers(1, 5) if valid else st.integers(0, 5)
        dims = draw(st.lists(small if how == "valid" else small | HUGE, min_size=min(ndim, 6),
                             max_size=min(ndim, 6)))
        magic = bytes([0, 0]) if draw(st.booleans()) or how == "valid" else draw(st.binary(min_size=2, max_size=2))
        header = magic + bytes([code, ndim]) + b"".join((d % 2**32).to_bytes(4, "big") for d in dims)
        dtype = np.dtype(IDX_CODES.get(code, ">u1"))
        count = math.prod(d % 2**32 for d in dims) if len(dims) == ndim else 0
        if count * dtype.itemsize <= 4096:
            values = draw(hnp.arrays(dtype, count, elements=elements(dtype, valid and draw(st.booleans()))))
            payload = values.tobytes()
        else:
            payload = draw(st.binary(max_size=64))
        raw = _mutate(header + payload, draw) if how == "header" else header + payload
    names = ["data-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "x.idx"]
    name = draw(st.sampled_from(names))
    files = {}
    if draw(st.booleans()):
        raw = gzip.compress(raw, mtime=0)
        raw = _mutate(raw, draw) if draw(st.booleans()) else raw
        name += ".gz"
    files[name] = raw
    if "images" in name and draw(st.booleans()):  # a sibling labels file, sometimes broken
        n = draw(st.integers(0, 6))
        labels = bytes([0, 0, draw(st.sampled_from([0x08, 0x0D, 0x0C])), 1]) + n.to_bytes(4, "big")
        labels += draw(st.binary(min_size=0, max_size=4 * n + 4))
        files["data-labels-idx1-ubyte"] = labels
    options = {"limit": draw(st.integers(1, 4))} if draw(st.integers(0, 4)) == 0 else {}
    return Case(files, name, options, note=f"idx/{how}")


# -- .npy and .npz ----------------------------------------------------------------------------
NPY_DTYPES = ["<f8", "<f4", "<f2", ">f8", "<i8", "<i4", "|i1", "|u1", "<u2", "<u8", "|b1", "<c16", "<M8[s]",
              "<m8[ms]", "<U3", "|S2"]
NPY_DESCR = NPY_DTYPES + ["|O", "O", "<f3", "xyz", "[('a', '<f4')]", "[('a', '<f8', (2,))]", "[('b', '|O')]",
                          "<V8", "[]", "{}", "('<f8', (2,))"]


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)  # pickled object arrays are part of what is fed in
    return buffer.getvalue()


@st.composite
def npy_arrays(draw) -> np.ndarray:
    if draw(st.booleans()):  # what a user saves: numbers, (n, d) or (n, [C,] H, W)
        dtype = np.dtype(draw(st.sampled_from(["<f4", "<f8", "|u1", "<i8", "<u2", "<f2", "|b1"])))
        shape = draw(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4))
        return draw(hnp.arrays(dtype, shape, elements=elements(dtype, draw(st.integers(0, 3)) > 0)))
    dtype = np.dtype(draw(st.sampled_from(NPY_DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4))
    if draw(st.integers(0, 9)) == 0:
        return np.array([{"a": 1}, None, [1, 2]], dtype=object)  # pickled objects
    if draw(st.integers(0, 9)) == 0:
        return np.zeros(shape, dtype=[("a", "<f4"), ("b", "<i2")])
    return draw(hnp.arrays(dtype, shape, elements=elements(dtype, clean=False)))


@st.composite
def npy_crafted(draw) -> bytes:
    """A hand-written header: any descr, any shape (huge ones too), any data length."""
    descr = draw(st.sampled_from(NPY_DESCR))
    shape = draw(st.lists(st.integers(0, 6) | HUGE | st.integers(-3, -1), max_size=5))
    fortran = draw(st.booleans())
    body = "{" + f"'descr': {descr if descr.startswith(('[', '{', '(')) else repr(descr)}, " \
           f"'fortran_order': {fortran}, 'shape': {tuple(shape)!r}, " + "}"
    if draw(st.integers(0, 5)) == 0:
        body = draw(st.text(max_size=80))
    header = body.encode("latin-1", "replace")
    version = draw(st.sampled_from([(1, 0), (1, 0), (2, 0), (3, 0), (0, 7)]))
    pad = (-(10 + len(header) + 1)) % 64
    header += b" " * pad + b"\n"
    length = struct.pack("<H", len(header)) if version[0] == 1 else struct.pack("<I", len(header))
    if draw(st.integers(0, 6)) == 0:
        length = draw(st.binary(min_size=len(length), max_size=len(length)))
    return b"\x93NUMPY" + bytes(version) + length + header + draw(st.binary(max_size=200))


@st.composite
def npy_cases(draw) -> Case:
    how = draw(st.sampled_from(["array", "array", "array", "crafted", "random"]))
    if how == "array":
        raw = _mutate(_npy_bytes(draw(npy_arrays())), draw)
    elif how == "crafted":
        raw = draw(npy_crafted())
    else:
        raw = b"\x93NUMPY" * draw(st.booleans()) + draw(st.binary(max_size=200))
    options = {"limit": draw(st.integers(1, 3))} if draw(st.integers(0, 3)) == 0 else {}
    return Case({"x.npy": raw}, "x.npy", options, note=f"npy/{how}")


@st.composite
def npz_cases(draw) -> Case:
    how = draw(st.sampled_from(["archive", "archive", "random"]))
    if how == "random":
        raw = b"PK\x03\x04" * draw(st.booleans()) + draw(st.binary(max_size=300))
    else:
        buffer = io.BytesIO()
        method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
        with zipfile.ZipFile(buffer, "w", method) as archive:
            names = draw(st.lists(st.sampled_from(["x", "X", "data", "y", "labels", "other", "x.txt"]),
                                  max_size=3, unique=True))
            n = draw(st.integers(0, 5))
            if draw(st.booleans()):
                names = ["x", "y"][: draw(st.integers(1, 2))]  # the usual archive, often loadable
            for name in names:
                kind = draw(st.sampled_from(["rows", "rows", "array", "crafted", "text"]))
                if name == "x.txt" or kind == "text":
                    member = draw(st.binary(max_size=40))
                elif kind == "crafted":
                    member = draw(npy_crafted())
                elif kind == "rows":  # samples and labels of one length, the usual archive
                    if name in ("y", "labels"):
                        dtype = np.dtype(draw(st.sampled_from(["<i8", "<f8", "<U2", "|b1"])))
                        values = draw(hnp.arrays(dtype, n, elements=elements(dtype, draw(st.booleans()))))
                    else:
                        values = draw(hnp.arrays("<f4", (n, draw(st.integers(0, 3))),
                                                 elements=elements(np.float32, draw(st.integers(0, 3)) > 0)))
                    member = _npy_bytes(values)
                else:
                    member = _npy_bytes(draw(npy_arrays()))
                archive.writestr(name if name.endswith(".txt") else name + ".npy", member)
        raw = _mutate(buffer.getvalue(), draw)
    options = {"limit": draw(st.integers(1, 3))} if draw(st.integers(0, 3)) == 0 else {}
    return Case({"d.npz": raw}, "d.npz", options, note=f"npz/{how}")


# -- CSV --------------------------------------------------------------------------------------
CELLS = st.sampled_from(["", "1", "-2.5", "0", "3e2", "nan", "NaN", "inf", "-inf", "1e400", "-1e39", "True", "false",
                         "red", "blue", '"a,b"', '""', " ", "0x10", "1_0", "NA", "None", "\u00e9", "\x00", "1e-50",
                         "99999999999999999999999", '"', "2020-01-01"])
CELL = CELLS | st.integers().map(str) | FLOATS.map(repr) | st.text(max_size=4)
NAMES = st.sampled_from(["a", "b", "label", "y", "target", "colour", "", "1", "a", "Unnamed: 0"]) | st.text(max_size=3)


@st.composite
def csv_cases(draw) -> Case:
    how = draw(st.sampled_from(["table", "table", "table", "text"]))
    tsv = draw(st.integers(0, 4)) == 0
    sep = "\t" if tsv else ","
    if how == "text":
        text = draw(st.text(alphabet=st.sampled_from(list(',"\n\r\t 0123456789.eE-+abnNifT\x00\u00e9')), max_size=200))
    else:
        width = draw(st.integers(1, 4))
        lines = []
        if draw(st.booleans()):
            lines.append(draw(st.lists(NAMES, min_size=width, max_size=width)))
        constant = draw(st.integers(0, 3)) == 0  # every row the same: constant columns
        numeric = draw(st.booleans())  # what a user exports: numbers, a category column, now and then a gap
        if numeric:
            cell = (st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30).map(repr)
                    | st.integers(-1000, 1000).map(str) | st.sampled_from(["", "red", "blue", "True"]))
        else:
            cell = CELL
        row_cells = st.lists(cell, min_size=width, max_size=width)
        rows = draw(st.lists(row_cells, min_size=0 if not numeric else 1, max_size=6))
        if constant and rows:
            rows = [rows[0]] * len(rows)
        if rows and draw(st.integers(0, 3)) == 0:  # ragged
            rows[draw(st.integers(0, len(rows) - 1))] = draw(st.lists(CELL, max_size=width + 2))
        lines += rows
        end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        text = end.join(sep.join(row) for row in lines) + end * draw(st.integers(0, 2))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    raw = text.encode(encoding, "replace")
    name = "t.tsv" if tsv else "t.csv"
    if draw(st.integers(0, 4)) == 0:
        raw = _mutate(gzip.compress(raw, mtime=0), draw)
        name += ".gz"
    options: dict[str, Any] = {"missing": draw(st.sampled_from(["error", "mask"]))}
    if draw(st.integers(0, 4)) == 0:
        options["limit"] = draw(st.integers(1, 3))
    return Case({name: raw}, name, options, note=f"csv/{how}")


# -- Parquet ------------------------------------------------------------------------------------
@st.composite
def parquet_columns(draw, n: int):
    import datetime
    import decimal

    import pyarrow as pa

    clean = draw(st.booleans())
    kinds = ["float", "int", "bool", "string", "dict", "decimal", "float16"]
    kind = draw(st.sampled_from(kinds if clean else kinds + ["uint", "list", "struct", "date", "timestamp", "null",
                                                               "binary", "duration"]))
    maybe = (lambda s: s) if clean else (lambda s: st.none() | s)  # noqa: E731
    if clean and kind == "float":
        return pa.array(draw(st.lists(st.floats(-1e30, 1e30), min_size=n, max_size=n)), pa.float64())
    if clean and kind == "string":
        return pa.array(draw(st.lists(st.sampled_from(["red", "blue", "green"]), min_size=n, max_size=n)))
    if kind == "float":
        return pa.array(draw(st.lists(maybe(FLOATS), min_size=n, max_size=n)), pa.float64())
    if kind == "float16":
        return pa.array(np.asarray(draw(st.lists(st.floats(width=16), min_size=n, max_size=n)), np.float16))
    if kind == "int":
        return pa.array(draw(st.lists(maybe(st.integers(-(2**63), 2**63 - 1)), min_size=n, max_size=n)), pa.int64())
    if kind == "uint":
        return pa.array(draw(st.lists(st.integers(0, 2**64 - 1), min_size=n, max_size=n)), pa.uint64())
    if kind == "bool":
        return pa.array(draw(st.lists(maybe(st.booleans()), min_size=n, max_size=n)), pa.bool_())
    if kind in ("string", "dict"):
        values = pa.array(draw(st.lists(maybe(CELL), min_size=n, max_size=n)), pa.string())
        return values.dictionary_encode() if kind == "dict" else values
    if kind == "list":
        return pa.array(draw(st.lists(maybe(st.lists(st.integers(-5, 5), max_size=3)), min_size=n, max_size=n)))
    if kind == "struct":
        return pa.array([{"q": v} for v in draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))])
    if kind == "date":
        return pa.array(draw(st.lists(maybe(st.dates()), min_size=n, max_size=n)), pa.date32())
    if kind == "timestamp":
        return pa.array(draw(st.lists(maybe(st.datetimes(min_value=datetime.datetime(1900, 1, 1))),
                                      min_size=n, max_size=n)), pa.timestamp("us"))
    if kind == "duration":
        return pa.array(draw(st.lists(st.integers(-10**6, 10**6), min_size=n, max_size=n)), pa.duration("s"))
    if kind == "decimal":
        values = draw(st.lists(maybe(st.decimals(allow_nan=False, allow_infinity=False, places=2,
                                                 min_value=-10**30, max_value=10**30)), min_size=n, max_size=n))
        return pa.array([None if v is None else decimal.Decimal(v) for v in values], pa.decimal128(38, 2))
    if kind == "null":
        return pa.nulls(n)
    return pa.array(draw(st.lists(maybe(st.binary(max_size=3)), min_size=n, max_size=n)), pa.binary())


@st.composite
def parquet_cases(draw) -> Case:
    import pyarrow as pa
    import pyarrow.parquet as pq

    how = draw(st.sampled_from(["table", "table", "table", "random"]))
    if how == "random":
        raw = b"PAR1" + draw(st.binary(max_size=200)) + b"PAR1" * draw(st.booleans())
    else:
        n = draw(st.integers(0, 5) | st.integers(1, 5))
        width = draw(st.integers(1, 3))
        names = draw(st.lists(NAMES, min_size=width, max_size=width))
        columns = [draw(parquet_columns(n)) for _ in range(width)]
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_arrays(columns, names=names), buffer)
        raw = _mutate(buffer.getvalue(), draw)
    options: dict[str, Any] = {"missing": draw(st.sampled_from(["error", "mask"]))}
    if draw(st.integers(0, 4)) == 0:
        options["limit"] = draw(st.integers(1, 3))
    return Case({"t.parquet": raw}, "t.parquet", options, note=f"parquet/{how}")


# -- images -----------------------------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@st.composite
def image_bytes(draw) -> tuple[str, bytes]:
    from PIL import Image

    how = draw(st.sampled_from(["pil", "pil", "pil", "huge_png", "magic", "empty"]))
    if how == "huge_png":  # a valid PNG header declaring any size: the decompression bomb
        width, height = draw(st.integers(0, 2**31 - 1) | st.integers(0, 8)), draw(st.integers(0, 2**31 - 1) | HUGE)
        ihdr = struct.pack(">IIBBBBB", width, height % 2**31, 8, draw(st.sampled_from([0, 2, 6])), 0, 0, 0)
        idat = zlib.compress(b"\x00" * draw(st.integers(0, 300)))
        raw = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
        return "png", raw
    if how == "magic":
        magic, suffix = draw(st.sampled_from([(b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"),
                                               (b"GIF89a", "gif"),
                                               (b"BM", "bmp"), (b"II*\x00", "tif"), (b"RIFF", "webp")]))
        return suffix, magic + draw(st.binary(max_size=120))
    if how == "empty":
        return draw(st.sampled_from(["png", "jpg"])), b""
    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "P", "1", "I", "F", "I;16", "LA", "CMYK"]))
    fmt = draw(st.sampled_from(["PNG", "BMP", "GIF", "TIFF", "JPEG", "WEBP"]))
    size = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    channels = {"RGB": 3, "RGBA": 4, "LA": 2, "CMYK": 4}.get(mode, 1)
    dtype = {"I": np.int32, "F": np.float32, "I;16": np.uint16}.get(mode, np.uint8)
    pixels = draw(hnp.arrays(dtype, (size[1], size[0], channels) if channels > 1 else (size[1], size[0]),
                             elements=elements(dtype, clean=draw(st.booleans()))))
    try:
        if mode in ("1", "P", "I;16"):
            image = Image.fromarray(pixels.astype(np.uint8 if mode != "I;16" else np.uint16)).convert(mode)
        else:
            image = Image.frombuffer(mode, size, np.ascontiguousarray(pixels).tobytes(), "raw", mode, 0, 1)
        buffer = io.BytesIO()
        image.save(buffer, fmt)
        raw = buffer.getvalue()
    except (OSError, ValueError, KeyError, TypeError):
        raw = b"\x89PNG\r\n\x1a\n"  # a mode this format cannot store: a broken file instead
    suffix = {"JPEG": "jpg", "TIFF": "tif"}.get(fmt, fmt.lower())
    return suffix, _mutate(raw, draw)


@st.composite
def image_cases(draw) -> Case:
    files = {}
    classes = draw(st.sampled_from([[""], [""], ["cats/", "dogs/"]]))
    for prefix in classes:
        for i in range(draw(st.integers(0 if prefix else 1, 3))):
            suffix, raw = draw(image_bytes())
            files[f"imgs/{prefix}{i}.{suffix}"] = raw
    if not files:
        files["imgs/.keep"] = b""
    options = {"limit": draw(st.integers(1, 2))} if draw(st.integers(0, 4)) == 0 else {}
    return Case(files, "imgs/", options, note="images")
