"""Reconstruction losses beyond squared error: cross-entropy on one-hot categorical
columns (tables), and dynamic binarisation for Bernoulli likelihoods."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import aekit
from aekit.config import ModelConfig, from_dict, to_dict
from aekit.errors import ConfigError, DataError
from aekit.model import Autoencoder
from aekit.nn.losses import CategoricalLoss

GROUPS = [(1, 3), (5, 2)]  # numeric 0, categories 1-3, numeric 4, categories 5-6


def test_cross_entropy_on_groups_and_squared_error_on_the_rest():
    torch.manual_seed(0)
    loss = CategoricalLoss(GROUPS, n_features=7)
    raw = torch.randn(4, 7)
    a, b = torch.tensor([0, 2, 1, 0]), torch.tensor([1, 0, 0, 1])
    x = torch.zeros(4, 7)
    x[:, [0, 4]] = torch.randn(4, 2)
    x[torch.arange(4), 1 + a] = 1.0
    x[torch.arange(4), 5 + b] = 1.0
    ce = F.cross_entropy(raw[:, 1:4], a, reduction="none") + F.cross_entropy(raw[:, 5:7], b, reduction="none")
    squared = (raw[:, [0, 4]] - x[:, [0, 4]]).pow(2).sum(1)
    # Four columns: two numeric, two categorical.
    torch.testing.assert_close(loss(raw, x), (ce + squared) / 4)
    loss.eval()  # nll: the categorical part in nats plus the Gaussian part with the running variance (1)
    gaussian = 0.5 * (squared + 2 * math.log(2 * math.pi))
    torch.testing.assert_close(loss.nll(raw, x), ce + gaussian)


def test_decoded_groups_are_probabilities_and_numeric_columns_pass_through():
    loss = CategoricalLoss(GROUPS, n_features=7)
    raw = torch.randn(5, 7) * 3
    out = loss.to_data(raw)
    torch.testing.assert_close(out[:, 1:4].sum(1), torch.ones(5))
    torch.testing.assert_close(out[:, 5:7].sum(1), torch.ones(5))
    assert torch.equal(out[:, [0, 4]], raw[:, [0, 4]])


def test_a_missing_category_encoded_as_zeros_adds_nothing():
    loss = CategoricalLoss([(0, 3)], n_features=3)
    raw = torch.randn(2, 3)
    assert torch.equal(loss(raw, torch.zeros(2, 3)), torch.zeros(2))


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(loss="ce"), r"loss='ce' needs categorical"),
        (dict(categorical=[(0, 2)]), r"categorical groups need loss='ce'"),
        (dict(loss="ce", categorical=[(0, 1)]), r"group \(start=0, size=1\) must have size >= 2"),
        (dict(loss="ce", categorical=[(0, 3), (2, 2)]), r"group \(start=2, size=2\) .* not overlap"),
        (dict(loss="ce", categorical=[(5, 2)]), r"group \(start=5, size=2\) .* within the 6 features"),
        (dict(loss="ce", categorical=["ab"]), r"must be a list of \(start, size\) pairs"),
        (dict(loss="ce", categorical=[(0, 2)], input_shape=(1, 2, 3)), r"need flat table samples"),
        (dict(binarize=True), r"binarize=True .* needs loss='bce', got loss='mse'"),
    ],
)
def test_bad_options_are_named(options, message):
    config = {"input_shape": (6,), "code_dim": 2, **options}
    with pytest.raises(ConfigError, match=message):
        ModelConfig(**config)


def test_groups_survive_the_json_round_trip():
    cfg = ModelConfig(input_shape=(7,), code_dim=2, loss="ce", categorical=GROUPS)
    assert from_dict(ModelConfig, to_dict(cfg)) == cfg
    assert cfg.categorical == ((1, 3), (5, 2))


def mixed_table(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Four numeric columns in mixed units driven by 2 factors, and a 4-way category
    set by the signs of those factors, one-hot in columns 4-7: (n, 8) and the labels (n,)."""
    rng = np.random.default_rng(seed)
    t = rng.normal(size=(n, 2))
    numeric = np.tanh(t @ np.array([[1.0, 0.5, -0.3, 2.0], [0.2, -1.0, 0.8, 0.5]])) * [1, 10, 100, 1000]
    category = (t[:, 0] > 0).astype(int) * 2 + (t[:, 1] > 0)
    one_hot = np.eye(4)[category]
    return np.hstack([numeric, one_hot]).astype(np.float32), category


def test_a_table_autoencoder_reconstructs_its_category(tmp_path):
    train, _ = mixed_table(2000, 0)
    test, category = mixed_table(500, 1)
    ae = aekit.AutoEncoder(code_dim=2, loss="ce", categorical=[(4, 4)], epochs=60, batch_size=128, random_state=0).fit(
        train
    )
    # The one-hot columns are targets as they are; only the numeric columns were standardised.
    assert np.array_equal(ae.preprocessing_.shift[4:], np.zeros(4))
    assert np.array_equal(ae.preprocessing_.scale[4:], np.ones(4))
    recon = ae.reconstruct(test)
    np.testing.assert_allclose(recon[:, 4:].sum(1), 1.0, atol=1e-5)  # probabilities over the categories
    accuracy = float((recon[:, 4:].argmax(1) == category).mean())
    assert accuracy > 0.9, accuracy  # majority class: about 0.25
    again = aekit.load(ae.save(tmp_path / "table"))
    assert again.model_.config.categorical == ((4, 4),)
    assert np.array_equal(again.reconstruct(test), recon)


def test_one_hot_columns_outside_zero_one_are_refused():
    x, _ = mixed_table(50, 0)
    x[3, 5] = 2.0
    with pytest.raises(DataError, match=r"categorical \(one-hot\) columns must hold values in \[0, 1\], got .* 2"):
        aekit.AutoEncoder(code_dim=2, loss="ce", categorical=[(4, 4)], epochs=1).fit(x)


def test_binarize_draws_fresh_binary_batches_in_training_only():
    torch.manual_seed(0)
    model = Autoencoder(ModelConfig(input_shape=(16,), code_dim=2, loss="bce", binarize=True))
    x = torch.full((64, 16), 0.3)
    seen = []
    model.recon_loss.forward = lambda raw, target: seen.append(target) or target.mean(1)
    model.train()
    model.loss(x)
    model.loss(x)
    assert set(seen[0].unique().tolist()) == {0.0, 1.0}
    assert abs(float(seen[0].mean()) - 0.3) < 0.05
    assert not torch.equal(seen[0], seen[1])  # redrawn every batch
    model.eval()
    model.loss(x)
    assert torch.equal(seen[2], x)  # validation scores the grey values themselves


def test_a_binarised_vae_trains_and_evaluates():
    digits = aekit.data.load("builtin:digits")
    vae = aekit.AutoEncoder(
        code_dim=4, variant="vae", loss="bce", binarize=True, epochs=5, batch_size=64, random_state=0
    ).fit(digits)
    assert vae.model_.config.binarize
    assert np.isfinite(vae.evaluate(digits)["vae"]["elbo"])
