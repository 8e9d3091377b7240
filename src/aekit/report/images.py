"""PNG grids of images with Pillow: rows of inputs, reconstructions, samples."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from aekit._atomic import atomic_path


def image_grid(rows: list[np.ndarray], scale: int = 4, pad: int = 1, max_cols: int = 16) -> Image.Image:
    """Tile image batches into one picture, one batch per band of rows.

    Parameters
    ----------
    rows : list of ndarray, each (n, C, H, W) with values in [0, 1]
        Each array becomes a band; arrays of the same length line up column by
        column (e.g. inputs above their reconstructions). C is 1 or 3.
    scale : int
        Pixel magnification (nearest neighbour), so 8x8 digits stay visible.
    max_cols : int
        Wider batches wrap onto further lines within their band.

    Examples
    --------
    >>> img = image_grid([np.zeros((3, 1, 8, 8)), np.ones((3, 1, 8, 8))], scale=2)
    >>> img.size
    (52, 35)
    """
    first = rows[0]
    c, h, w = first.shape[1:]
    cols = min(max_cols, max(len(r) for r in rows))
    lines = sum(math.ceil(len(r) / cols) for r in rows)
    cell_h, cell_w = h * scale + pad, w * scale + pad
    canvas = np.ones((lines * cell_h + pad, cols * cell_w + pad, 3), dtype=np.uint8) * 255
    line = 0
    for batch in rows:
        pixels = np.clip(np.asarray(batch, dtype=np.float32), 0, 1)
        if pixels.shape[1] == 1:
            pixels = np.repeat(pixels, 3, axis=1)
        pixels = (pixels.transpose(0, 2, 3, 1) * 255).round().astype(np.uint8)  # (n, H, W, 3)
        pixels = pixels.repeat(scale, axis=1).repeat(scale, axis=2)
        for i, tile in enumerate(pixels):
            r, col = line + i // cols, i % cols
            y, x = pad + r * cell_h, pad + col * cell_w
            canvas[y : y + h * scale, x : x + w * scale] = tile
        line += math.ceil(len(batch) / cols)
    return Image.fromarray(canvas)


def save_png(image: Image.Image, path: str | Path) -> Path:
    """Write ``image`` as PNG atomically (no half-written file on failure)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return path
