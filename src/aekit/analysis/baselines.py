"""PCA: the closed-form linear baseline every aekit result is compared with.

Fitted by an eigendecomposition of the covariance (float64 accumulation), which
for up to a few thousand features is exact and takes about a second on 60,000
Fashion-MNIST images. Components are stored so a saved model can report PCA's
error on new data without the training data.
"""

from __future__ import annotations

import numpy as np
import torch

from aekit.errors import ConfigError


class PCABaseline:
    """Principal component analysis with the reconstruction error as its score.

    Parameters
    ----------
    n_components : int
        Code size k; at most the number of features.

    Attributes
    ----------
    components_ : ndarray, shape (k, n_features)
        Orthonormal principal directions, largest variance first.
    mean_ : ndarray, shape (n_features,)
    explained_variance_ : ndarray, shape (k,)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 5)) @ np.diag([3, 2, 1, 0.1, 0.1])
    >>> pca = PCABaseline(3).fit(x)
    >>> pca.components_.shape, bool(pca.reconstruction_error(x).mean() < 0.01)
    ((3, 5), True)
    """

    def __init__(self, n_components: int):
        self.n_components = n_components

    def fit(self, x: np.ndarray | torch.Tensor) -> PCABaseline:
        """Fit on ``x`` (n, ...) flattened to (n, n_features)."""
        x = _flat(x)
        n, d = x.shape
        k = self.n_components
        if not (isinstance(k, int) and 1 <= k <= d):
            raise ConfigError(f"n_components={k!r} must be an integer in [1, {d}] (the number of features)")
        mean = x.mean(0, dtype=np.float64)
        # Covariance from float32 chunk products (fast BLAS) summed in float64:
        # memory stays (d, d) and the sum keeps enough precision for eigh.
        cov = np.zeros((d, d), dtype=np.float64)
        mean32 = mean.astype(np.float32)
        for i in range(0, n, 8192):
            chunk = x[i : i + 8192] - mean32
            cov += chunk.T @ chunk
        cov /= max(n - 1, 1)
        return self._decompose(mean, cov)

    @classmethod
    def from_covariance(cls, mean: np.ndarray, cov: np.ndarray, n_components: int) -> PCABaseline:
        """PCA from a mean (n_features,) and covariance (n_features, n_features) gathered
        elsewhere, e.g. in one pass over a file too big to load (:mod:`aekit.data.stream`).

        Examples
        --------
        >>> x = np.random.default_rng(0).normal(size=(100, 4)) @ np.diag([3, 2, 1, 0.5])
        >>> a = PCABaseline(2).fit(x)
        >>> b = PCABaseline.from_covariance(x.mean(0), np.cov(x, rowvar=False), 2)
        >>> bool(np.allclose(a.components_, b.components_, atol=1e-5))
        True
        """
        d = len(mean)
        if not (isinstance(n_components, int) and 1 <= n_components <= d):
            raise ConfigError(f"n_components={n_components!r} must be an integer in [1, {d}] (the number of features)")
        if np.shape(cov) != (d, d):
            raise ConfigError(f"cov has shape {np.shape(cov)}; a mean of {d} features needs ({d}, {d})")
        return cls(n_components)._decompose(np.asarray(mean, np.float64), np.asarray(cov, np.float64))

    def _decompose(self, mean: np.ndarray, cov: np.ndarray) -> PCABaseline:
        k = self.n_components
        values, vectors = np.linalg.eigh(cov)  # ascending
        order = np.argsort(values)[::-1][:k]
        comps = vectors[:, order].T
        # Sign convention: the largest-magnitude loading of each component is positive.
        signs = np.sign(comps[np.arange(k), np.abs(comps).argmax(1)])
        comps *= np.where(signs == 0, 1, signs)[:, None]
        self.components_ = comps.astype(np.float32)
        self.mean_ = mean.astype(np.float32)
        self.explained_variance_ = np.clip(values[order], 0, None).astype(np.float32)
        self.total_variance_ = float(np.clip(values, 0, None).sum())
        return self

    def transform(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        """Codes, shape (n, k)."""
        return (_flat(x) - self.mean_) @ self.components_.T

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        """Flat reconstructions, shape (n, n_features)."""
        return z @ self.components_ + self.mean_

    def reconstruction_error(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        """Mean squared error per sample, shape (n,), the same measure models report."""
        flat = _flat(x)
        out = np.empty(len(flat), dtype=np.float64)
        for i in range(0, len(flat), 8192):
            chunk = flat[i : i + 8192]
            recon = self.inverse_transform(self.transform(chunk))
            out[i : i + 8192] = ((recon - chunk) ** 2).mean(1)
        return out

    def to_tensors(self) -> dict[str, torch.Tensor]:
        return {
            "pca/components": torch.from_numpy(self.components_),
            "pca/mean": torch.from_numpy(self.mean_),
            "pca/explained_variance": torch.from_numpy(self.explained_variance_),
        }

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> PCABaseline:
        comps = tensors["pca/components"].numpy()
        self = cls(int(comps.shape[0]))
        self.components_ = comps
        self.mean_ = tensors["pca/mean"].numpy()
        self.explained_variance_ = tensors["pca/explained_variance"].numpy()
        return self


def _flat(x: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float32)
    return x.reshape(len(x), -1)
