"""How useful are the codes downstream? k-NN and linear-probe accuracy against PCA and raw inputs.

A code is only worth keeping if a classifier or a clusterer can use it. These
functions score an embedding the two standard ways, with labels used only for
the scoring:

- k-nearest-neighbour accuracy (k = 5 by default, Euclidean): does the code keep
  similar samples together? No training beyond storing the codes.
- linear-probe accuracy: a multinomial logistic regression on the standardised
  codes: is the label linearly readable from the code?

:func:`compare_embeddings` puts an autoencoder's codes beside PCA's at the same
size and beside the raw inputs, so every number comes with its baseline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from aekit.analysis.baselines import PCABaseline
from aekit.errors import DataError


def _check(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray) -> tuple:
    train = np.asarray(train, dtype=np.float64).reshape(len(train), -1)
    test = np.asarray(test, dtype=np.float64).reshape(len(test), -1)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if train.shape[1] != test.shape[1]:
        raise DataError(f"train and test embeddings must have the same width, got {train.shape[1]} and {test.shape[1]}")
    if len(y_train) != len(train) or len(y_test) != len(test):
        raise DataError(
            f"need one label per row: {len(train)} train rows with {len(y_train)} labels, "
            f"{len(test)} test rows with {len(y_test)} labels"
        )
    return train, y_train, test, y_test


def knn_accuracy(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray, k: int = 5) -> float:
    """Share of test rows whose k nearest training rows vote for their label.

    Parameters
    ----------
    train : ndarray, shape (n_train, d)
    y_train : ndarray, shape (n_train,)
    test : ndarray, shape (n_test, d)
    y_test : ndarray, shape (n_test,)
    k : int, default 5

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> a = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    >>> knn_accuracy(a, [0, 0, 0, 1, 1, 1], np.array([[0.05], [5.05]]), [0, 1], k=3)
    1.0
    """
    train, y_train, test, y_test = _check(train, y_train, test, y_test)
    return float(KNeighborsClassifier(n_neighbors=k).fit(train, y_train).score(test, y_test))


def linear_probe_accuracy(
    train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray, max_iter: int = 1000
) -> float:
    """Test accuracy of a logistic regression trained on the standardised training rows.

    Parameters
    ----------
    train : ndarray, shape (n_train, d)
    y_train : ndarray, shape (n_train,)
    test : ndarray, shape (n_test, d)
    y_test : ndarray, shape (n_test,)
    max_iter : int, default 1000
        L-BFGS iterations.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 2)); y = (x[:, 0] > 0).astype(int)
    >>> linear_probe_accuracy(x[:150], y[:150], x[150:], y[150:]) > 0.9
    True
    """
    train, y_train, test, y_test = _check(train, y_train, test, y_test)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    return float(probe.fit(train, y_train).score(test, y_test))


def compare_embeddings(
    est: Any, train: Any, test: Any, *, k: int = 5, probe: bool = True, raw: bool = True
) -> dict[str, dict[str, float]]:
    """k-NN (and linear-probe) accuracy of a fitted autoencoder's codes, PCA's codes of the
    same size, and the raw inputs.

    Parameters
    ----------
    est : aekit.AutoEncoder
        Fitted.
    train, test : aekit.data.Dataset
        With labels; the PCA baseline is fitted on ``train``, in the autoencoder's
        input scaling.
    k : int, default 5
        Neighbours for the k-NN vote.
    probe : bool, default True
        Also fit linear probes (slower on wide inputs).
    raw : bool, default True
        Include the raw inputs (flattened) as a third row.

    Returns
    -------
    dict
        ``{"autoencoder": {...}, "pca": {...}, "raw": {...}}``, each with
        ``knn`` and, with ``probe``, ``linear_probe``; plus the ``dim`` of each.

    Examples
    --------
    >>> import aekit
    >>> digits = aekit.data.load("builtin:digits")
    >>> train, test = digits.split(test_size=0.2, seed=0)
    >>> ae = aekit.AutoEncoder(code_dim=4, epochs=5, batch_size=64).fit(train)
    >>> scores = compare_embeddings(ae, train, test, probe=False)
    >>> sorted(scores), scores["pca"]["dim"]
    (['autoencoder', 'pca', 'raw'], 4)
    """
    for name, ds in (("train", train), ("test", test)):
        if getattr(ds, "y", None) is None:
            raise DataError(f"{name} has no labels: embedding accuracy needs an aekit Dataset with labels")
    xs_train = est._model_input(train).numpy().reshape(len(train), -1)
    xs_test = est._model_input(test).numpy().reshape(len(test), -1)
    code_dim = est.model_.config.code_dim
    pca = PCABaseline(min(code_dim, xs_train.shape[1])).fit(xs_train)
    embeddings = {
        "autoencoder": (est.transform(train), est.transform(test)),
        "pca": (pca.transform(xs_train), pca.transform(xs_test)),
    }
    if raw:
        embeddings["raw"] = (xs_train, xs_test)
    out: dict[str, dict[str, float]] = {}
    for name, (a, b) in embeddings.items():
        row = {"dim": int(a.shape[1]), "knn": knn_accuracy(a, train.y, b, test.y, k)}
        if probe:
            row["linear_probe"] = linear_probe_accuracy(a, train.y, b, test.y)
        out[name] = row
    return out
