"""Behaviour users rely on, with real numbers: the default model beats PCA on real
images, and a linear autoencoder cannot (it can at best match the closed form)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import aekit
from aekit.data import load

FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not FASHION.is_dir(), reason="Fashion-MNIST is absent (apt-get install dataset-fashion-mnist)")
def test_default_beats_pca_on_fashion_mnist_subset():
    """10k training images, 5 epochs (about 2 s): well below PCA's error at k=16.

    The full 60k/35-epoch figures (about 50 % below PCA at every k) are in
    BENCHMARKS.md, from benchmarks/recon_vs_pca.py.
    """
    ds = load("builtin:fashion-mnist")
    train, test = ds.train().subset(slice(0, 10000)), ds.test().subset(slice(0, 2000))
    metrics = aekit.AutoEncoder(code_dim=16, epochs=5, random_state=0).fit(train).evaluate(test)
    assert metrics["gain_vs_pca"] > 0.2, metrics


def test_default_beats_pca_on_digits():
    ds = load("builtin:digits")
    train, test = ds.split(test_size=0.2, seed=0)
    metrics = aekit.AutoEncoder(code_dim=8, epochs=60, batch_size=64, random_state=0).fit(train).evaluate(test)
    assert metrics["gain_vs_pca"] > 0.3, metrics


def test_linear_variant_never_beats_pca_on_held_out_data():
    ds = load("builtin:digits")
    train, test = ds.split(test_size=0.2, seed=0)
    # scaling="standard": no clipping to [0, 1], which an image model gets and PCA does not (it is worth
    # 4 % here); unclipped, a linear AE can at best match PCA, and from PCA's start it does (ratio 1.001).
    est = aekit.AutoEncoder(code_dim=8, variant="linear", scaling="standard", epochs=60, batch_size=64)
    metrics = est.fit(train).evaluate(test)
    assert 0.98 * metrics["pca_mse"] < metrics["mse"] < 1.02 * metrics["pca_mse"], metrics
    assert np.isfinite(metrics["mse"])
