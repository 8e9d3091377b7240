"""Shared fixtures. Tiny models: one thread is faster and immune to a busy second core."""

from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def images() -> np.ndarray:
    """200 smooth 8x8 grey images in [0, 1] with low-dimensional structure, (200, 1, 8, 8)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:8, 0:8] / 7.0
    cx, cy, s = rng.uniform(0.2, 0.8, (3, 200, 1, 1))
    blobs = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (0.05 + 0.1 * s))
    return blobs[:, None].astype(np.float32)


@pytest.fixture
def table() -> np.ndarray:
    """300 rows of a 10-column table on a 3-D nonlinear manifold, in mixed units, (300, 10)."""
    rng = np.random.default_rng(1)
    t = rng.normal(size=(300, 3))
    mix = rng.normal(size=(3, 10))
    x = np.tanh(t @ mix) + 0.01 * rng.normal(size=(300, 10))
    return (x * np.arange(1, 11) * 10 + 5).astype(np.float32)
