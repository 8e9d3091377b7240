"""The linear variant is PCA (issue 16, item 3).

At its optimum a linear autoencoder spans PCA's subspace, so ``variant="linear"``
starts there (the closed-form PCA solution, untied or tied) and training from the
optimum must not drift away: on digits its held-out error matches PCA's at every
code size, and its decoder's columns span PCA's subspace.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import aekit
from aekit.analysis.baselines import PCABaseline
from aekit.config import ModelConfig
from aekit.model import Autoencoder


@pytest.fixture(scope="module")
def digits_split() -> tuple[np.ndarray, np.ndarray]:
    """Digits as flat rows in [0, 1], a seeded 1400/397 split."""
    x = load_digits().data / 16
    order = np.random.default_rng(0).permutation(len(x))
    return x[order[:1400]], x[order[1400:]]


def _decoder_columns(est: aekit.AutoEncoder) -> np.ndarray:
    """(n_features, code_dim): the decoder's linear map (the encoder's, transposed, where tied)."""
    model = est.model_
    if model.config.tied:
        return model.encoder.mlp[0].weight.detach().double().numpy().T
    return model.decoder.mlp[0].weight.detach().double().numpy()


def _largest_principal_angle(a: np.ndarray, b: np.ndarray) -> float:
    """Largest principal angle in degrees between the column spaces of ``a`` and ``b``."""
    qa, _ = np.linalg.qr(a)
    qb, _ = np.linalg.qr(b)
    cosines = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return float(np.degrees(np.arccos(np.clip(cosines.min(), -1.0, 1.0))))


@pytest.mark.parametrize("scaling", ["auto", "standard"])
@pytest.mark.parametrize("tied", [False, True], ids=["untied", "tied"])
@pytest.mark.parametrize("k", [2, 8, 16])
def test_linear_variant_reaches_pca_on_digits(digits_split, k, tied, scaling):
    """scaling="auto" keeps these intensities in [0, 1] and clips reconstructions to that
    range (a gain PCA does not get); scaling="standard" clips nothing, so there the model
    can match PCA but not beat it by more than noise."""
    x_train, x_test = digits_split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant border pixels and the like: not what is tested here
        est = aekit.AutoEncoder(variant="linear", code_dim=k, tied=tied or None, scaling=scaling).fit(x_train)
        metrics = est.evaluate(x_test)
    assert metrics["gain_vs_pca"] >= -0.02, metrics  # test MSE at most 1.02x PCA's
    if est.model_.config.output_range is None:
        assert metrics["gain_vs_pca"] <= 0.02, metrics
    angle = _largest_principal_angle(_decoder_columns(est), est.pca_.components_.T.astype(np.float64))
    assert angle < 1.0, angle


@pytest.mark.parametrize("tied", [False, True], ids=["untied", "tied"])
@pytest.mark.parametrize("shape", [(64,), (1, 8, 8)])
def test_linear_arch_starts_exactly_at_pca(shape, tied):
    """Before any training, a PCA-initialised linear model reconstructs exactly as PCA."""
    flat = (load_digits().data[:300] / 16).astype(np.float32)
    pca = PCABaseline(5).fit(flat)
    model = Autoencoder(ModelConfig(input_shape=shape, code_dim=5, arch="linear", tied=tied)).eval()
    assert model.init_from_pca(torch.from_numpy(pca.components_), torch.from_numpy(pca.mean_))
    ours = model.reconstruction_error(torch.from_numpy(flat).reshape(len(flat), *shape)).detach().numpy()
    np.testing.assert_allclose(ours, pca.reconstruction_error(flat), rtol=1e-4, atol=1e-7)
    codes = model.encode(torch.from_numpy(flat).reshape(len(flat), *shape)).z.detach().numpy()
    np.testing.assert_allclose(codes, pca.transform(flat), rtol=1e-4, atol=1e-5)


def test_linear_variant_pca_init_can_be_turned_off():
    """An explicit pca_init=False still wins over the preset (a randomly initialised linear model)."""
    est = aekit.AutoEncoder(variant="linear", code_dim=2, pca_init=False)
    assert est.model_config((64,)).pca_init is False
    assert aekit.AutoEncoder(variant="linear", code_dim=2).model_config((64,)).pca_init is True
