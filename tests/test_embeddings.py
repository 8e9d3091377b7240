"""Codes for downstream work: k-NN and linear-probe accuracy beside PCA and raw inputs."""

from __future__ import annotations

import numpy as np
import pytest

import aekit
from aekit.analysis import compare_embeddings, knn_accuracy, linear_probe_accuracy
from aekit.errors import DataError


def test_knn_and_probe_by_hand():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    y = rng.integers(0, 3, 300)
    x = centres[y] + 0.3 * rng.normal(size=(300, 2))
    assert knn_accuracy(x[:200], y[:200], x[200:], y[200:]) == 1.0
    assert linear_probe_accuracy(x[:200], y[:200], x[200:], y[200:]) == 1.0
    # Labels shuffled against the rows: chance level, about a third.
    shuffled = rng.permutation(y)
    assert knn_accuracy(x[:200], shuffled[:200], x[200:], shuffled[200:]) < 0.5


def test_a_2d_autoencoder_code_keeps_digit_classes_apart_better_than_pca():
    digits = aekit.data.load("builtin:digits")
    train, test = digits.split(test_size=0.25, seed=0)
    ae = aekit.AutoEncoder(code_dim=2, epochs=60, batch_size=64, random_state=0).fit(train)
    scores = compare_embeddings(ae, train, test)
    assert scores["autoencoder"]["dim"] == scores["pca"]["dim"] == 2 and scores["raw"]["dim"] == 64
    assert scores["autoencoder"]["knn"] > scores["pca"]["knn"] + 0.05
    assert scores["raw"]["knn"] > 0.95  # digits are easy at full size
    assert 0 < scores["autoencoder"]["linear_probe"] <= 1


def test_embedding_scores_need_labels_and_matching_widths():
    x = np.zeros((4, 2))
    with pytest.raises(DataError, match="same width, got 2 and 3"):
        knn_accuracy(x, [0, 1, 0, 1], np.zeros((2, 3)), [0, 1])
    with pytest.raises(DataError, match="one label per row: 4 train rows with 3 labels"):
        knn_accuracy(x, [0, 1, 0], x, [0, 1, 0, 1])
    unlabelled = aekit.data.Dataset(x=np.zeros((10, 4), np.float32), y=None, kind="table", name="t")
    ae = aekit.AutoEncoder(code_dim=2, epochs=1).fit(unlabelled)
    with pytest.raises(DataError, match="train has no labels"):
        compare_embeddings(ae, unlabelled, unlabelled)
