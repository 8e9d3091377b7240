"""One member of an :class:`~aekit.AnomalyDetector`: a fitted autoencoder and the training
statistics its score is measured against.

A detector with ``n_estimators=1`` has one member; an ensemble has several that differ in
seed, code size and width (:func:`member_shapes`), each scoring new rows on its own
before the detector averages them. Everything here is per member: the reconstruction
term, the Gaussian of the codes (Mahalanobis term), the neighbourhood of the codes (kNN
term), and each term's training median.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.covariance import LedoitWolf

from aekit.estimators.autoencoder import AutoEncoder
from aekit.model import map_batches

SCORE_ROWS = 8192  # rows scored at a time: the float64 per-feature errors never span all of X
METHODS = ("combined_knn", "combined", "reconstruction")
KNN_K = 5  # the k-th nearest training code gives the neighbourhood term (method="combined_knn")
KNN_REFERENCE = 5000  # training codes kept for the neighbourhood term (a seeded sample of larger sets)
#: (code size, hidden width) multipliers of members 0, 1, 2, ...: member 0 is the single
#: detector's autoencoder, the others narrower or wider codes behind wider or narrower layers.
MEMBER_SHAPES = ((1.0, 1.0), (0.5, 2.0), (1.5, 0.5), (0.75, 1.0), (1.25, 2.0))


def member_shapes(i: int, code_dim: int) -> tuple[int, float]:
    """The code size and hidden-width factor of ensemble member ``i`` around ``code_dim``.

    Examples
    --------
    >>> [member_shapes(i, 8) for i in range(4)]
    [(8, 1.0), (4, 2.0), (12, 0.5), (6, 1.0)]
    """
    code, width = MEMBER_SHAPES[i % len(MEMBER_SHAPES)]
    return max(min(code_dim, 2), round(code_dim * code)), width


@dataclass
class Member:
    """A fitted autoencoder and the statistics of its training scores.

    ``terms(X)`` gives the squared reconstruction error per row ``(n,)`` and the
    deterministic codes ``(n, code_dim)``; ``combine`` turns them into the member's score
    ``(n,)``, each term over its training median, the sum over ``score_scale`` (1 for
    a lone member, the median of the summed training scores in an ensemble).
    """

    autoencoder: AutoEncoder
    method: str
    residual_window: int
    code_location: np.ndarray
    code_precision: np.ndarray
    recon_scale: float = 1.0
    code_scale: float = 1.0
    knn_reference: np.ndarray | None = None
    knn_scale: float = 1.0
    score_scale: float = 1.0

    @classmethod
    def fit(cls, ae: AutoEncoder, X: Any, method: str, residual_window: int, seed: int) -> tuple[Member, np.ndarray]:
        """The statistics of the fitted ``ae`` on its training rows ``X``; returns the member
        and its (unscaled) training scores, shape (n,)."""
        k = ae.model_.config.code_dim
        member = cls(ae, method, residual_window, np.zeros(k), np.eye(k))
        recon, codes = member.terms(X)
        # Ledoit-Wolf: the codes of a few hundred rows give a noisy covariance.
        gaussian = LedoitWolf().fit(codes)
        member.code_location, member.code_precision = gaussian.location_, gaussian.precision_
        member.recon_scale = positive_median(recon)
        member.code_scale = positive_median(member.mahalanobis(codes))
        if method == "combined_knn":
            keep = min(len(codes), KNN_REFERENCE)
            pick = np.sort(np.random.default_rng(seed).choice(len(codes), keep, replace=False))
            member.knn_reference = codes[pick]
            member.knn_scale = positive_median(member.knn(codes, training=True))
        # Scored as predict scores these rows (a training row's own code counts as a neighbour there
        # too), so fit(X).predict(X) flags the share contamination; knn_scale skips it, as new rows will.
        return member, member.combine(recon, codes)

    def terms(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Squared reconstruction error per sample (n,) and deterministic codes (n, code_dim).

        Missing table cells (NaN) are left out and the sum over the observed cells
        is scaled to the full width, so rows with gaps stay comparable.
        """
        xs = self.autoencoder._model_input(X)
        recon, codes = [], []
        for i in range(0, max(len(xs), 1), SCORE_ROWS):
            per_feature, block_codes = self.errors(xs[i : i + SCORE_ROWS])
            flat = per_feature.reshape(len(per_feature), -1)
            observed = np.isfinite(flat)
            total = np.where(observed, flat, 0.0).sum(1)
            recon.append(total * flat.shape[1] / np.maximum(observed.sum(1), 1))
            codes.append(block_codes)
        return np.concatenate(recon), np.concatenate(codes)

    def errors(self, xs: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Squared error per model feature (n, *input_shape), NaN at missing table cells,
        and the deterministic codes (n, code_dim) it was decoded from; images: the
        residual is box-blurred over ``residual_window`` pixels first."""
        model = self.autoencoder.model_
        with torch.no_grad():  # as transform and reconstruct compute them, but encoding once
            codes = map_batches(lambda b: model.encode(b, sample=False).mean, torch.nan_to_num(xs))
            recon = map_batches(model.decode, codes)
        residual = recon - xs  # (n, *input_shape)
        w = self.residual_window
        if w > 1:  # images: (n, C, H, W); each pixel's residual averaged with its neighbours'
            residual = torch.nn.functional.avg_pool2d(residual, w, stride=1, padding=w // 2, count_include_pad=False)
        return residual.pow(2).numpy().astype(np.float64), codes.numpy().astype(np.float64)

    def mahalanobis(self, codes: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each code under the training codes' Gaussian, (n,)."""
        centred = codes - self.code_location
        return np.einsum("ij,jk,ik->i", centred, self.code_precision, centred)

    def knn(self, codes: np.ndarray, training: bool = False) -> np.ndarray:
        """Distance from each code to its KNN_K-th nearest reference code, (n,); a training
        row's own code (in the reference) is skipped."""
        from sklearn.neighbors import NearestNeighbors

        reference = self.knn_reference
        assert reference is not None, "knn needs method='combined_knn'"
        k = min(KNN_K + int(training), len(reference))
        distances, _ = NearestNeighbors(n_neighbors=k).fit(reference).kneighbors(codes)
        return distances[:, k - 1]

    def combine(self, recon: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """The member's score (n,) from :meth:`terms`."""
        score = recon / self.recon_scale
        if self.method in ("combined", "combined_knn"):
            score = score + self.mahalanobis(codes) / self.code_scale
        if self.method == "combined_knn":
            score = score + self.knn(codes) / self.knn_scale
        return score / self.score_scale

    def score(self, X: Any) -> np.ndarray:
        """The member's score of each row of ``X``, (n,)."""
        return self.combine(*self.terms(X))


def positive_median(values: np.ndarray) -> float:
    """The median, or 1 where it is 0 (a term the training data never uses)."""
    m = float(np.median(values))
    return m if m > 0 and math.isfinite(m) else 1.0
