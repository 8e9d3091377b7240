"""Strategies for a model directory's files: config.json and model.safetensors.

Both start from three small models fitted once per process (:func:`bases`) and
damage one file of a copy of their directory.
"""

from __future__ import annotations

import json
import math
import struct
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

from aekit.errors import AekitError
from fuzz.cases import FLOATS, HUGE, Case
from fuzz.cases import mutate as _mutate


# -- model directories: config.json and model.safetensors ------------------------------------
@dataclass
class Base:
    files: dict[str, bytes]
    data: Any


_BASES: dict[str, Base] = {}


def bases() -> dict[str, Base]:
    """A few small fitted models, saved once per process: a table model with a categorical
    column (ce loss, a table schema), a VAE and a conv VQ-VAE on 8x8 images."""
    if _BASES:
        return _BASES
    import pandas as pd

    import aekit

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40),
                          "colour": rng.choice(["red", "blue", "green"], size=40)})
    images = rng.random((40, 1, 8, 8)).astype(np.float32)
    fits = {
        "table": (aekit.AutoEncoder(code_dim=2, epochs=1, batch_size=16), frame),
        "vae": (aekit.AutoEncoder(code_dim=2, variant="vae", epochs=1, batch_size=16), images),
        "conv-vq": (aekit.AutoEncoder(code_dim=16, arch="conv", bottleneck="vq", codebook_size=8, channels=[4, 8],
                                      epochs=1, batch_size=16), images),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, (est, data) in fits.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                path = est.fit(data).save(Path(tmp) / name)
            _BASES[name] = Base({p.name: p.read_bytes() for p in path.iterdir()}, data)
    return _BASES


JSON_SCALARS = (st.none() | st.booleans() | st.integers(-(2**64), 2**64) | HUGE | st.integers(-3, 3)
                | FLOATS | st.text(max_size=6) | st.sampled_from(["gelu", "mlp", "conv", "vq", "ce", "auto", "table"]))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=8)


def _paths(value, prefix=()):
    """Every path into a JSON tree, as tuples of keys and indices."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


@st.composite
def config_cases(draw) -> Case:
    base_name = draw(st.sampled_from(sorted(["table", "vae", "conv-vq"])))
    base = bases()[base_name]
    config = json.loads(base.files["config.json"])
    how = draw(st.sampled_from(["edit", "edit", "edit", "edit", "delete", "whole", "bytes"]))
    if how in ("edit", "delete"):
        for _ in range(draw(st.integers(1, 3))):
            paths = [p for p in _paths(config) if p]
            where = draw(st.sampled_from(paths))
            parent = config
            for key in where[:-1]:
                parent = parent[key]
            if how == "delete":
                del parent[where[-1]]
            elif draw(st.integers(0, 3)) == 0:  # a sibling with a neighbouring value: a plausible edit
                old = parent[where[-1]]
                parent[where[-1]] = (old * draw(st.sampled_from([0, -1, 2, 10**6, 10**12])) if isinstance(old, int)
                                     and not isinstance(old, bool) else draw(JSON_VALUES))
            else:
                parent[where[-1]] = draw(JSON_VALUES)
        text = json.dumps(config)  # NaN and Infinity appear as JSON's non-standard tokens, as Python writes them
        raw = text.encode()
    elif how == "whole":
        raw = json.dumps(draw(JSON_VALUES)).encode()
    else:
        raw = _mutate(base.files["config.json"], draw)
        if draw(st.booleans()):
            raw = draw(st.binary(max_size=100))
    files = {f"model-dir/{name}": data for name, data in base.files.items()}
    files["model-dir/config.json"] = raw
    return Case(files, "model-dir/", {"base": base_name}, note=f"config/{how}")


SAFETENSORS_DTYPES = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "U64", "F8_E4M3", "C64",
                      "XX"]


@st.composite
def safetensors_cases(draw) -> Case:
    base_name = draw(st.sampled_from(sorted(["table", "vae", "conv-vq"])))
    base = bases()[base_name]
    weights = base.files["model.safetensors"]
    (length,) = struct.unpack("<Q", weights[:8])
    header = json.loads(weights[8 : 8 + length])
    body = weights[8 + length :]
    how = draw(st.sampled_from(["length", "header", "header", "header", "bytes", "tensors", "random"]))
    if how == "length":  # any header length, up to 2**64 - 1
        value = draw(st.sampled_from([0, 1, 7, length - 1, length + 1, len(weights), 2**63, 2**64 - 1])
                     | st.integers(0, 2**64 - 1))
        raw = struct.pack("<Q", value) + weights[8:]
    elif how == "header":  # edit one entry of the JSON header, keep the data
        names = sorted(header)
        name = draw(st.sampled_from(names))
        entry = header[name]
        change = draw(st.sampled_from(["dtype", "shape", "offsets", "value", "drop", "add"]))
        if change == "dtype" and isinstance(entry, dict) and "dtype" in entry:
            entry["dtype"] = draw(st.sampled_from(SAFETENSORS_DTYPES))
        elif change == "shape" and isinstance(entry, dict) and "shape" in entry:
            entry["shape"] = draw(st.lists(st.integers(0, 6) | HUGE | st.integers(-2, -1), max_size=4))
        elif change == "offsets" and isinstance(entry, dict) and "data_offsets" in entry:
            start, end = entry["data_offsets"]
            entry["data_offsets"] = [draw(st.sampled_from([start, 0, end]) | st.integers(0, 2**64 - 1)),
                                     draw(st.sampled_from([end, start, len(body), len(body) + 4]) | HUGE)]
        elif change == "drop":
            del header[name]
        elif change == "add":
            header[draw(st.text(max_size=8))] = draw(JSON_VALUES)
        else:
            header[name] = draw(JSON_VALUES)
        text = json.dumps(header).encode()
        raw = struct.pack("<Q", len(text)) + text + body
    elif how == "tensors":  # a structurally valid file whose tensors need not match the config
        import torch
        from safetensors.torch import save

        tensors = {}
        for name in draw(st.lists(st.sampled_from(sorted(k for k in header if k != "__metadata__")), max_size=6,
                                  unique=True)):
            shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
            dtype = draw(st.sampled_from([torch.float32, torch.float64, torch.float16, torch.int64, torch.bool]))
            tensors[name] = torch.zeros(shape, dtype=dtype)
            if dtype == torch.float32 and tensors[name].numel():
                tensors[name].view(-1)[0] = draw(FLOATS.filter(lambda v: not math.isfinite(v) or abs(v) < 3e38))
        raw = save(tensors)
    elif how == "random":
        raw = draw(st.binary(max_size=200))
    else:
        raw = _mutate(weights, draw)
    files = {f"model-dir/{name}": data for name, data in base.files.items()}
    files["model-dir/model.safetensors"] = raw
    if draw(st.booleans()):  # without the checksums, every structural check gets exercised
        config = json.loads(base.files["config.json"])
        config.pop("sha256", None)
        files["model-dir/config.json"] = json.dumps(config).encode()
    return Case(files, "model-dir/", {"base": base_name}, note=f"safetensors/{how}")


def load_model(path: Path, case: Case) -> str | None:
    import aekit

    est = aekit.AutoEncoder.load(path)
    base = bases()[case.options["base"]]
    try:
        codes = est.transform(base.data)
    except AekitError:
        return None  # a model refusing data that no longer matches its (edited) config: clear enough
    if codes.shape != (len(base.data), est.model_.config.code_dim):
        return f"codes have shape {codes.shape}"
    if not np.isfinite(codes).all():
        return "codes are not finite"
    return None
