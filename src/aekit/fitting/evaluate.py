"""The *evaluate* step: a model's error beside PCA's at the same code size, over rows that
arrive in one piece (an array) or a chunk at a time (a file read in chunks).

One accumulator serves both, so ``AutoEncoder.evaluate`` gives the same numbers for an
array and for the same rows streamed from a file (up to float summation order).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from aekit.analysis.baselines import PCABaseline
from aekit.analysis.vae import vae_metrics
from aekit.model import Autoencoder, map_batches


def pca_errors(pca: PCABaseline, xs: torch.Tensor) -> np.ndarray:
    """PCA's mean squared error per sample (n,); a missing (NaN) cell reads as 0 and is not scored."""
    x = xs.numpy()
    missing = np.isnan(x)
    if not missing.any():
        return pca.reconstruction_error(x)
    flat = np.nan_to_num(x, nan=0.0).reshape(len(x), -1)
    squared = (pca.inverse_transform(pca.transform(flat)) - flat) ** 2 * ~missing.reshape(len(x), -1)
    errors: np.ndarray = squared.sum(1) / np.maximum((~missing).reshape(len(x), -1).sum(1), 1)
    return errors


def model_errors(model: Autoencoder, xs: torch.Tensor) -> np.ndarray:
    """The model's mean squared error per sample (n,), float64, in the scaled space it sees."""
    with torch.no_grad():
        return map_batches(model.reconstruction_error, xs).numpy().astype(np.float64)


def evaluate(
    model: Autoencoder,
    pca: PCABaseline,
    chunks: Iterable[torch.Tensor],
    bound_rows: Iterable[torch.Tensor] | None = None,
    *,
    bounds: bool = True,
) -> dict[str, Any]:
    """Metrics over every row of ``chunks`` (scaled model inputs, each (k, *input_shape)).

    Returns ``n_samples``, ``code_dim``, ``compression_ratio``, ``mse`` and ``pca_mse``
    (mean squared error per feature), ``gain_vs_pca`` (1 - mse / pca_mse: positive is
    better than PCA), ``code_sparsity``; ``vq`` (codebook usage, perplexity) for a
    model with discrete tokens; ``vae`` (ELBO, importance-weighted bound, KL per
    dimension, active units) for a stochastic model when ``bounds``, computed on
    ``bound_rows`` (default: all rows; pass a sample for a file) with the RNG seeded
    to 0 so evaluation repeats.

    Examples
    --------
    >>> from aekit.config import ModelConfig
    >>> model = Autoencoder(ModelConfig(input_shape=(4,), code_dim=2)).eval()
    >>> x = torch.rand(10, 4)
    >>> m = evaluate(model, PCABaseline(2).fit(x.numpy()), [x[:6], x[6:]])
    >>> m["n_samples"], m["code_dim"], bool(m["mse"] > 0)
    (10, 2, True)
    """
    caps = model.capabilities
    code_dim = int(model.config.code_dim)
    sums = {"mse": 0.0, "pca": 0.0, "near_zero": 0.0, "abs": 0.0, "sigmoid": 0.0}
    n = cells = 0
    counts, tokens, seen = None, 0, []
    with torch.no_grad():
        for xs in chunks:
            n += len(xs)
            sums["mse"] += float(model_errors(model, xs).sum())
            sums["pca"] += float(pca_errors(pca, xs).sum())
            z = map_batches(lambda b: model.encode(b, sample=False).mean, xs).double()  # (k, code_dim)
            sums["near_zero"] += float((z.abs() < 1e-2).sum())
            sums["abs"] += float(z.abs().sum())
            sums["sigmoid"] += float(torch.sigmoid(z).sum())
            cells += z.numel()
            if caps.has_indices:
                indices = map_batches(model.encode_indices, xs).numpy()  # (k, n_tokens)
                size = model.bottleneck.codebook_size
                counts = np.bincount(indices.ravel(), minlength=size) + (0 if counts is None else counts)
                tokens = int(indices.shape[1])
            if bound_rows is None:
                seen.append(xs)
    mse, pca_mse = sums["mse"] / max(n, 1), sums["pca"] / max(n, 1)
    metrics: dict[str, Any] = {
        "n_samples": int(n),
        "code_dim": code_dim,
        "compression_ratio": model.config.n_features / code_dim,
        "mse": mse,
        "pca_mse": pca_mse,
        "gain_vs_pca": 1.0 - mse / pca_mse if pca_mse > 0 else float("nan"),
        "code_sparsity": {
            "near_zero_share": sums["near_zero"] / max(cells, 1),
            "mean_abs_activation": sums["abs"] / max(cells, 1),
            "mean_sigmoid_activation": sums["sigmoid"] / max(cells, 1),
        },
    }
    if counts is not None:
        p = counts[counts > 0] / counts.sum()
        metrics["vq"] = {
            "codebook_usage": float((counts > 0).mean()),
            "perplexity": float(np.exp(-(p * np.log(p)).sum())),
            "tokens_per_sample": tokens,
        }
    if caps.stochastic and bounds:
        rows = list(bound_rows) if bound_rows is not None else seen
        if rows and sum(len(r) for r in rows):
            with torch.random.fork_rng():
                torch.manual_seed(0)  # the bounds sample z: fixed so evaluate is repeatable
                xs = torch.cat(rows)
                metrics["vae"] = vae_metrics(model, xs)
                if bound_rows is not None:
                    metrics["vae"]["rows"] = int(len(xs))
    return metrics
