"""What the explorer's tests share: the data and the usual two-model session."""

from __future__ import annotations

import pytest

import aekit
from aekit.explorer import Session


@pytest.fixture(scope="module")
def shapes():
    """300 shapes12 images, (300, 1, 12, 12), with labels."""
    return aekit.data.load("builtin:shapes12?n=300")


@pytest.fixture(scope="module")
def session(shapes, request):
    """The page's usual session: a 2-D plain autoencoder ("ae") and a 2-D VAE ("vae"),
    2 epochs each; a test module may set ``MAX_POINTS`` (default 100)."""
    models = {
        name: aekit.AutoEncoder(code_dim=2, variant=variant, epochs=2, batch_size=64, random_state=0).fit(shapes)
        for name, variant in (("ae", "plain"), ("vae", "vae"))
    }
    return Session(models, shapes, max_points=getattr(request.module, "MAX_POINTS", 100))
