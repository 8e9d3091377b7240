"""Shared drawing pieces of :mod:`aekit.report.figures`: tiling images, table heat
maps and input checks. Figures are built on :class:`matplotlib.figure.Figure`
directly, never through pyplot, so no global state is touched and any thread
may draw.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from aekit.errors import ConfigError, DataError

#: Grey pixels; NaN (the padding between tiles) shows as white.
GREY = matplotlib.colormaps["gray"].with_extremes(bad="white")
#: Absolute errors: dark is small.
HEAT = matplotlib.colormaps["magma"].with_extremes(bad="white")


def new_figure(width: float, height: float) -> Figure:
    """A figure with constrained layout, sized in inches (clamped to a sane range)."""
    return Figure(figsize=(min(max(width, 3.0), 16.0), min(max(height, 2.0), 16.0)), layout="constrained")


def check_count(name: str, value: Any, low: int = 1) -> int:
    """``value`` as an int >= ``low``, or a ConfigError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigError(f"{name}={value!r} must be an integer >= {low}")
    return int(value)


def as_batch(name: str, x: Any) -> np.ndarray:
    """Samples as float arrays: (n, features) tables or (n, C, H, W) images with C in {1, 3}.

    (n, H, W) becomes (n, 1, H, W). Anything else, an empty batch or non-finite
    values raise a DataError naming ``name``.
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim not in (2, 4) or len(a) == 0:
        raise DataError(f"{name} must be (n, features) or (n, C, H, W) with n >= 1, got shape {a.shape}")
    if a.ndim == 4 and a.shape[1] not in (1, 3):
        raise DataError(f"{name} has {a.shape[1]} channels (shape {a.shape}); images need 1 or 3")
    if not np.isfinite(a).all():
        raise DataError(f"{name} contains NaN or infinite values")
    return a


def is_image(a: np.ndarray) -> bool:
    return a.ndim == 4


def value_range(*arrays: np.ndarray) -> tuple[float, float]:
    """[0, 1] for data inside it (pixels), else the data's own span."""
    low = min(float(np.nanmin(a)) for a in arrays)
    high = max(float(np.nanmax(a)) for a in arrays)
    if low >= 0.0 and high <= 1.0:
        return 0.0, 1.0
    return low, (high if high > low else low + 1.0)


def tile(images: np.ndarray, cols: int, pad: int = 0) -> np.ndarray:
    """Lay out (m, C, H, W) images on a grid ``cols`` wide, row by row.

    Returns (rows * H + pad * (rows - 1), cols * W + pad * (cols - 1)) for grey
    images, with a trailing 3 for RGB; gaps and empty cells are NaN.

    Examples
    --------
    >>> tile(np.zeros((5, 1, 2, 3)), cols=2).shape
    (6, 6)
    >>> tile(np.zeros((4, 3, 2, 2)), cols=4, pad=1).shape
    (2, 11, 3)
    """
    m, c, h, w = images.shape
    rows = math.ceil(m / cols)
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, c), np.nan)
    for i, img in enumerate(images):
        y, x = (i // cols) * (h + pad), (i % cols) * (w + pad)
        out[y : y + h, x : x + w] = img.transpose(1, 2, 0)
    return out[..., 0] if c == 1 else out


def show_tiles(ax, tiled: np.ndarray, vrange: tuple[float, float], cmap=GREY):
    """imshow a tiled grey or RGB array without ticks; RGB is scaled into [0, 1]."""
    ax.set_xticks([])
    ax.set_yticks([])
    if tiled.ndim == 3:  # RGB: imshow needs [0, 1]; NaN gaps become white
        low, high = vrange
        rgb = np.clip((tiled - low) / (high - low), 0.0, 1.0)
        return ax.imshow(np.nan_to_num(rgb, nan=1.0), interpolation="nearest")
    return ax.imshow(tiled, cmap=cmap, vmin=vrange[0], vmax=vrange[1], interpolation="nearest")


def show_batch(ax, batch: np.ndarray, title: str, cols: int | None = None, vrange: tuple[float, float] | None = None):
    """One panel of samples: images tiled ``cols`` wide (square-ish by default, one
    pixel of white between tiles), or a table as a heat map of rows x features."""
    vrange = vrange or value_range(batch)
    ax.set_title(title)
    if is_image(batch):
        cols = cols or math.ceil(math.sqrt(len(batch)))
        return show_tiles(ax, tile(batch, cols, pad=1), vrange)
    return heat_map(ax, batch, vrange)


def heat_map(ax, rows: np.ndarray, vrange: tuple[float, float], cmap: str = "viridis"):
    """A table (n, features) as an image: one line per sample, one column per feature."""
    im = ax.imshow(rows, aspect="auto", cmap=cmap, vmin=vrange[0], vmax=vrange[1], interpolation="nearest")
    ax.set_xlabel("feature")
    ax.set_ylabel("sample")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    return im


def codes_of(est) -> int:
    """The fitted estimator's code size (a ConfigError for anything unfitted)."""
    model = getattr(est, "model_", None)
    if model is None:
        raise ConfigError(f"{type(est).__name__} is not fitted: call fit (or aekit.load a model) first")
    return int(model.config.code_dim)


def is_gaussian(est) -> bool:
    """Whether the estimator's codes have a N(0, I) prior (a VAE)."""
    codes_of(est)
    return est.model_.capabilities.can_sample
