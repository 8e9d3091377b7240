"""Builtin datasets: ``builtin:NAME[?option=value&...]``.

Each entry of :data:`REGISTRY` names a loader and the options it accepts, so the
CLI, the explorer and the tests enumerate the same list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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


#: Each class's extent (half-length, radius, arm, half-side, inradius or sigma, in pixels) as
#: ``base + per_size * size`` for a sample's size in [0, 1]. Ring and square differ in size as well
#: as in corners, and the blob is small, so that a blurred decode of one class is still nearer its
#: own preset than another's (with the ring and square the same size a blurred square is a ring).
_EXTENT = {0: (2.6, 2.0), 1: (1.8, 1.4), 2: (2.2, 1.8), 3: (1.1, 0.8), 4: (2.6, 1.4), 5: (1.6, 1.0)}
#: Position, tilt and stroke of a sample, drawn uniformly (the tilt from a normal): varied enough
#: that no sample repeats a preset, small enough that a 2-D code can hold the class. With any
#: rotation a square's average is a ring and a triangle's a blob, and a 2-D code spends itself on
#: the angle. Crosses alone come upright (+) or turned (x), half each: upright only, a plain AE
#: packed them into a spot between the points of a 10x10 grid on half the seeds tried (BENCHMARKS.md,
#: "Explorer lesson"); their preset is the turned one.
SHIFT = 1.0  # pixels each way from the centre
TILT = 0.2  # radians, standard deviation
STROKE = (0.55, 1.05)  # half-width of outlines and bars, pixels
ASPECT = (0.5, 1.0)  # the blob's minor over major axis


def _extent(label: int, size: _Param) -> _Param:
    base, per_size = _EXTENT[label]
    return base + per_size * size


def _sdf(label: int, p: dict[str, NDArray[np.float64]]) -> _Grid:
    cx, cy, angle, size, width = p["cx"], p["cy"], p["angle"], p["size"], p["width"]
    if label == 0:  # bar
        return _capsule(cx, cy, angle, _extent(0, size), width)
    if label == 1:  # ring
        u, v = _rotate(cx, cy, 0.0)
        return np.abs(np.hypot(u, v) - _extent(1, size)) - width
    if label == 2:  # cross: union of two perpendicular bars
        arm = _extent(2, size)
        return np.minimum(_capsule(cx, cy, angle, arm, width), _capsule(cx, cy, angle + np.pi / 2, arm, width))
    if label == 4:  # square outline
        u, v = _rotate(cx, cy, angle)
        q = np.stack([np.abs(u), np.abs(v)]) - _extent(4, size)
        box: _Grid = np.hypot(*np.maximum(q, 0.0)) + np.minimum(q.max(axis=0), 0.0)
        return np.abs(box) - width
    if label == 5:  # filled triangle: intersection of three half-planes
        u, v = _rotate(cx, cy, angle)
        normals = [np.pi / 2 + k * 2 * np.pi / 3 for k in range(3)]
        outside: _Grid = np.max([u * np.cos(a) + v * np.sin(a) for a in normals], axis=0)  # (m, 12, 12)
        return outside - _extent(5, size)
    raise AssertionError(label)


def _render(label: int, p: dict[str, NDArray[np.float64]]) -> _Grid:
    if label == 3:  # blob: an anisotropic Gaussian, soft by design (no edge)
        u, v = _rotate(p["cx"], p["cy"], p["angle"])
        sigma = _extent(3, p["size"])
        return np.exp(-0.5 * ((u / sigma) ** 2 + (v / (sigma * p["aspect"])) ** 2))
    # 0.5 - distance covers a pixel by the fraction its centre is inside: cheap anti-aliasing.
    return np.clip(0.5 - _sdf(label, p), 0.0, 1.0)


def make_shapes12(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` 12x12 shapes with random position, size, tilt and stroke width.

    Classes (see ``SHAPES12_CLASSES``): bar, ring, cross (+ or x), blob (soft Gaussian),
    square outline, filled triangle. Each sample is its class's shape moved up to
    :data:`SHIFT` pixels from the centre, sized uniformly over its class's range,
    tilted by a normal angle of standard deviation :data:`TILT` radians, stroked
    :data:`STROKE` pixels wide (the blob stretched by :data:`ASPECT`). Classes are
    balanced and shuffled; edges are anti-aliased.

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
    params = {
        "cx": 6.0 + rng.uniform(-SHIFT, SHIFT, n),
        "cy": 6.0 + rng.uniform(-SHIFT, SHIFT, n),
        "size": rng.uniform(0.0, 1.0, n),
        "width": rng.uniform(*STROKE, n),
        "aspect": rng.uniform(*ASPECT, n),
        "angle": rng.normal(0.0, TILT, n) + np.where(y == 2, rng.integers(0, 2, n) * (np.pi / 4), 0.0),
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

    Each preset is its class's middle: centred, middle size, middle stroke, no tilt.
    No training sample equals one (the position, size, stroke and tilt are continuous
    draws), so a model that rebuilds a preset has learned the class, not the picture.

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
    middle = {"cx": 6.0, "cy": 6.0, "size": 0.5, "width": 0.8, "aspect": 0.75, "angle": 0.0}
    out = {}
    for label, name in enumerate(SHAPES12_CLASSES):
        # Angle 0: horizontal bar, upright square, triangle pointing up. The cross is the turned one
        # (x): an upright cross shares its strokes with the bar and the square, and a 2-D code
        # confused it with the blob more often (BENCHMARKS.md, "Explorer lesson").
        angle = np.pi / 4 if label == 2 else 0.0
        p = {key: np.array([[[angle if key == "angle" else value]]]) for key, value in middle.items()}
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


#: Largest ``n`` of ``builtin:shapes12``: 200,000 images are 110 MiB of float32, about 0.5 GiB at the peak of
#: drawing them (measured: 0.9 GiB above the interpreter for 400,000).
MAX_SHAPES12 = 200_000
#: Largest ``n`` of ``builtin:swissroll``: a million rows of 3 columns, under 0.1 GiB at the peak.
MAX_SWISSROLL = 1_000_000
#: Seeds: what numpy and scikit-learn accept everywhere.
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class Builtin:
    """A builtin dataset: its loader, accepted options with their types, one line of help, and each option's
    inclusive ``bounds`` ``(low, high)``, checked before the loader allocates anything.

    Examples
    --------
    >>> REGISTRY["shapes12"].bounds["n"]
    (1, 200000)
    """

    make: Callable[..., Dataset]
    options: dict[str, type[int] | type[float]]
    help: str
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)


REGISTRY: dict[str, Builtin] = {
    "shapes12": Builtin(
        _shapes12,
        {"n": int, "seed": int},
        "12x12 bars, rings, crosses, blobs, squares, triangles; 20 % test split",
        {"n": (1, MAX_SHAPES12), "seed": (0, MAX_SEED)},
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
        {"n": (1, MAX_SWISSROLL), "seed": (0, MAX_SEED), "noise": (0.0, 100.0)},
    ),
}
BUILTINS = tuple(REGISTRY)


def load_builtin(spec: str) -> Dataset:
    """Load ``NAME[?option=value&...]`` (the part after ``builtin:``).

    Every option is checked against its documented bound before anything is allocated
    (a spec may come from a model folder someone else wrote):

    ===========  ==========  ==========================  ==============
    dataset      option      bounds (inclusive)          default
    ===========  ==========  ==========================  ==============
    shapes12     n           1 to 200,000                3,000
    shapes12     seed        0 to 2**32 - 1              0
    swissroll    n           1 to 1,000,000              2,000
    swissroll    seed        0 to 2**32 - 1              0
    swissroll    noise       0.0 to 100.0                0.0
    ===========  ==========  ==========================  ==============

    Examples
    --------
    >>> ds = load_builtin("shapes12?n=100&seed=1")
    >>> ds.x.shape, int(ds.is_test.sum())
    ((100, 1, 12, 12), 20)
    >>> load_builtin("shapes12?n=50000000")
    Traceback (most recent call last):
    ...
    aekit.errors.DataError: builtin:shapes12: n=50000000 is beyond its bounds; n must be in [1, 200000]
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
    for key, value in kwargs.items():
        low, high = builtin.bounds.get(key, (-float("inf"), float("inf")))
        if not low <= value <= high:  # NaN fails too
            raise DataError(f"builtin:{name}: {key}={value!r} is beyond its bounds; {key} must be in [{low}, {high}]")
    dataset = builtin.make(**kwargs)
    dataset.name = "builtin:" + spec
    return dataset
