"""Builtin datasets: ``builtin:NAME[?option=value&...]``.

Each entry of :data:`REGISTRY` names a loader and the options it accepts, so the
CLI, the explorer and the tests enumerate the same list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

import numpy as np
from numpy.typing import NDArray

from aekit.data import download
from aekit.data.dataset import Dataset
from aekit.data.idx import read_idx_array
from aekit.errors import DataError

SHAPES12_CLASSES = ["bar", "ring", "cross", "blob", "square", "triangle"]
SIZE = 12
FASHION_LABELS = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


# --- shapes12: signed distance fields, anti-aliased over one pixel ----------------
# Every renderer takes per-sample parameters of shape (m, 1, 1) and returns the
# signed distance (negative inside) from each pixel centre, shape (m, 12, 12).
_Grid = NDArray[np.float64]  # (m, 12, 12), or (1, 1, 12) and (1, 12, 1) for the pixel centres
_Param = NDArray[np.float64] | float  # per sample (m, 1, 1), or one value for all


def _grid() -> tuple[_Grid, _Grid]:
    coords = np.arange(SIZE, dtype=np.float64) + 0.5
    return coords[None, None, :], coords[None, :, None]  # px (1,1,W), py (1,H,1)


def _rotate(cx: _Param, cy: _Param, angle: _Param) -> tuple[_Grid, _Grid]:
    px, py = _grid()
    dx, dy = px - cx, py - cy
    cos, sin = np.cos(angle), np.sin(angle)
    return dx * cos + dy * sin, -dx * sin + dy * cos  # coordinates in the shape's frame


def _capsule(cx: _Param, cy: _Param, angle: _Param, half_length: _Param, half_width: _Param) -> _Grid:
    u, v = _rotate(cx, cy, angle)
    along = np.clip(u, -half_length, half_length)
    return np.hypot(u - along, v) - half_width


def _sdf(label: int, p: dict[str, NDArray[np.float64]]) -> _Grid:
    cx, cy, angle, size, width = p["cx"], p["cy"], p["angle"], p["size"], p["width"]
    if label == 0:  # bar
        return _capsule(cx, cy, angle, 2.6 + 2.0 * size, width)
    if label == 1:  # ring
        u, v = _rotate(cx, cy, 0.0)
        return np.abs(np.hypot(u, v) - (2.4 + 1.6 * size)) - width
    if label == 2:  # cross: union of two perpendicular bars
        arm = 2.2 + 1.8 * size
        return np.minimum(_capsule(cx, cy, angle, arm, width), _capsule(cx, cy, angle + np.pi / 2, arm, width))
    if label == 4:  # square outline
        u, v = _rotate(cx, cy, angle)
        q = np.stack([np.abs(u), np.abs(v)]) - (2.2 + 1.6 * size)
        box: _Grid = np.hypot(*np.maximum(q, 0.0)) + np.minimum(q.max(axis=0), 0.0)
        return np.abs(box) - width
    if label == 5:  # filled triangle: intersection of three half-planes
        u, v = _rotate(cx, cy, angle)
        inradius = 1.6 + 1.0 * size
        normals = [np.pi / 2 + k * 2 * np.pi / 3 for k in range(3)]
        outside: _Grid = np.max([u * np.cos(a) + v * np.sin(a) for a in normals], axis=0)  # (m, 12, 12)
        return outside - inradius
    raise AssertionError(label)


def _render(label: int, p: dict[str, NDArray[np.float64]]) -> _Grid:
    if label == 3:  # blob: an anisotropic Gaussian, soft by design (no edge)
        u, v = _rotate(p["cx"], p["cy"], p["angle"])
        sigma = 1.5 + 1.0 * p["size"]
        return np.exp(-0.5 * ((u / sigma) ** 2 + (v / (sigma * p["aspect"])) ** 2))
    # 0.5 - distance covers a pixel by the fraction its centre is inside: cheap anti-aliasing.
    return np.clip(0.5 - _sdf(label, p), 0.0, 1.0)


def make_shapes12(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` 12x12 shapes with random position, size, angle and stroke width.

    Classes (see ``SHAPES12_CLASSES``): bar (horizontal, vertical or diagonal),
    ring, cross (+ or x), blob (soft Gaussian), square outline, filled triangle.
    Classes are balanced and shuffled; edges are anti-aliased.

    Parameters
    ----------
    n : int
        Number of images.
    seed : int
        Seed; the same ``(n, seed)`` always gives the same images.

    Returns
    -------
    x : numpy.ndarray, shape (n, 1, 12, 12), float32, values in [0, 1]
    y : numpy.ndarray, shape (n,), int64, values in 0..5

    Examples
    --------
    >>> x, y = make_shapes12(600, seed=0)
    >>> x.shape, x.dtype, sorted(set(y.tolist()))
    ((600, 1, 12, 12), dtype('float32'), [0, 1, 2, 3, 4, 5])
    """
    if n < 1:
        raise DataError(f"n={n} must be a positive integer")
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % len(SHAPES12_CLASSES)).astype(np.int64)
    quarter = rng.integers(0, 4, n) * (np.pi / 4)  # bars and crosses: 0, 45, 90, 135 degrees
    params = {
        "cx": 6.0 + rng.uniform(-1.5, 1.5, n),
        "cy": 6.0 + rng.uniform(-1.5, 1.5, n),
        "size": rng.uniform(0.0, 1.0, n),
        "width": rng.uniform(0.55, 1.05, n),
        "aspect": rng.uniform(0.5, 1.0, n),
        "angle": np.where(
            np.isin(y, (0, 2)),
            quarter + rng.normal(0.0, 0.08, n),
            rng.uniform(0.0, 2 * np.pi, n),
        ),
    }
    x = np.empty((n, 1, SIZE, SIZE), dtype=np.float32)
    for label in range(len(SHAPES12_CLASSES)):
        rows = np.flatnonzero(y == label)
        if rows.size:
            p = {key: value[rows, None, None] for key, value in params.items()}
            x[rows, 0] = _render(label, p)
    return x, y


def shapes12_presets() -> dict[str, np.ndarray]:
    """One clean, centred example per shapes12 class (the explorer's preset buttons).

    Returns
    -------
    dict
        Class name -> array of shape (1, 12, 12), float32, in [0, 1].

    Examples
    --------
    >>> presets = shapes12_presets()
    >>> list(presets) == SHAPES12_CLASSES, presets["ring"].shape
    (True, (1, 12, 12))
    """
    p = {
        key: np.array([[[value]]])
        for key, value in {"cx": 6.0, "cy": 6.0, "size": 0.5, "width": 0.8, "aspect": 0.75, "angle": 0.0}.items()
    }
    out = {}
    for label, name in enumerate(SHAPES12_CLASSES):
        # Angle 0: horizontal bar, upright cross and square, triangle pointing up.
        out[name] = _render(label, p).astype(np.float32)  # (1, 12, 12)
    return out


def _shapes12(n: int = 3000, seed: int = 0) -> Dataset:
    x, y = make_shapes12(n, seed)
    # Samples are i.i.d., so a fixed tail is as good a test split as any and needs no seed.
    is_test = np.arange(n) >= n - int(round(0.2 * n))
    return Dataset(x=x, y=y, kind="image", name="", is_test=is_test, label_names=list(SHAPES12_CLASSES))


def _digits() -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8)
    return Dataset(x=x, y=bunch.target.astype(np.int64), kind="image", name="", label_names=[str(d) for d in range(10)])


def _swissroll(n: int = 2000, seed: int = 0, noise: float = 0.0) -> Dataset:
    """Raw coordinates, not standardised: the model's table preprocessing does that."""
    from sklearn.datasets import make_swiss_roll

    x, t = make_swiss_roll(n_samples=n, noise=noise, random_state=seed)
    # make_swiss_roll draws t in [1.5 pi, 4.5 pi]; fixed bin edges keep colours
    # comparable across seeds.
    y = np.clip(((t - 1.5 * np.pi) / (3 * np.pi) * 6).astype(np.int64), 0, 5)
    return Dataset(
        x=x.astype(np.float32),
        y=y,
        kind="table",
        name="",
        columns=["x", "y", "z"],
        label_names=[f"roll {k + 1}/6" for k in range(6)],
    )


def _mnist_family(name: str, label_names: list[str]) -> Dataset:
    paths = download.fetch(name)
    parts = {file: read_idx_array(path) for file, path in paths.items()}
    train, test = parts["train-images-idx3-ubyte"], parts["t10k-images-idx3-ubyte"]
    n_train, n = len(train), len(train) + len(test)
    x = np.empty((n, 1, *train.shape[1:]), dtype=np.float32)  # (70000, 1, 28, 28)
    # Divide straight into the output: one pass, no float64 or concatenated copies.
    np.divide(train, 255.0, out=x[:n_train, 0], dtype=np.float32)
    np.divide(test, 255.0, out=x[n_train:, 0], dtype=np.float32)
    y = np.concatenate([parts["train-labels-idx1-ubyte"], parts["t10k-labels-idx1-ubyte"]])
    if len(y) != n:
        raise DataError(f"builtin:{name}: {len(y)} labels for {n} images in {sorted(paths.values())}")
    return Dataset(
        x=x, y=y.astype(np.int64), kind="image", name="", is_test=np.arange(n) >= n_train, label_names=label_names
    )


@dataclass(frozen=True)
class Builtin:
    """A builtin dataset: its loader, accepted options with their types, one line of help."""

    make: Callable[..., Dataset]
    options: dict[str, type[int] | type[float]]
    help: str


REGISTRY: dict[str, Builtin] = {
    "shapes12": Builtin(
        _shapes12, {"n": int, "seed": int}, "12x12 bars, rings, crosses, blobs, squares, triangles; 20 % test split"
    ),
    "digits": Builtin(_digits, {}, "1,797 8x8 handwritten digits from scikit-learn"),
    "fashion-mnist": Builtin(
        lambda: _mnist_family("fashion-mnist", FASHION_LABELS),
        {},
        "70,000 28x28 clothing images; last 10,000 are the test split",
    ),
    "mnist": Builtin(
        lambda: _mnist_family("mnist", [str(d) for d in range(10)]),
        {},
        "70,000 28x28 handwritten digits; last 10,000 are the test split",
    ),
    "swissroll": Builtin(
        _swissroll,
        {"n": int, "seed": int, "noise": float},
        "a 3-D swiss roll table; labels bin the roll position into 6",
    ),
}
BUILTINS = tuple(REGISTRY)


def load_builtin(spec: str) -> Dataset:
    """Load ``NAME[?option=value&...]`` (the part after ``builtin:``).

    Examples
    --------
    >>> ds = load_builtin("shapes12?n=100&seed=1")
    >>> ds.x.shape, int(ds.is_test.sum())
    ((100, 1, 12, 12), 20)
    """
    name, _, query = spec.partition("?")
    builtin = REGISTRY.get(name)
    if builtin is None:
        raise DataError(f"unknown builtin dataset {name!r}; available: {', '.join(BUILTINS)}")
    kwargs: dict[str, int | float] = {}
    for key, raw in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        kind = builtin.options.get(key)
        if kind is None:
            allowed = ", ".join(builtin.options) or "none"
            raise DataError(f"builtin:{name} has no option {key!r}; options: {allowed}")
        try:
            kwargs[key] = kind(raw)
        except ValueError:
            raise DataError(f"builtin:{name}: {key}={raw!r} is not a valid {kind.__name__}") from None
    if "n" in kwargs and kwargs["n"] < 1:
        raise DataError(f"builtin:{name}: n={kwargs['n']} must be a positive integer")
    dataset = builtin.make(**kwargs)
    dataset.name = "builtin:" + spec
    return dataset
