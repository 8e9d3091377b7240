"""The textbook autoencoder recipe, kept faithful as the reference every speed claim is measured against.

784-256-64-k MLP, ReLU between hidden layers, a linear bottleneck, sigmoid output,
mean squared error, Adam at lr 1e-3, batches of 256 sliced from one tensor by a
fresh permutation every epoch. Nothing here is tuned: it is what a tutorial writes.

Used by ``recon_vs_pca.py --textbook``, ``time_to_quality.py`` and ``throughput.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch


def textbook_model(k: int, n_features: int = 784) -> torch.nn.Sequential:
    """The reference network: n_features-256-64-k-64-256-n_features, ReLU, sigmoid output."""
    return torch.nn.Sequential(
        torch.nn.Linear(n_features, 256), torch.nn.ReLU(), torch.nn.Linear(256, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, k),
        torch.nn.Linear(k, 64), torch.nn.ReLU(), torch.nn.Linear(64, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, n_features), torch.nn.Sigmoid(),
    )


def linear_flops_per_sample(model: torch.nn.Module) -> int:
    """Training FLOPs per sample of the model's Linear layers: 2*in*out forward, twice that backward."""
    return sum(6 * m.in_features * m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear))


def test_mse(model: torch.nn.Module, x_test: torch.Tensor) -> float:
    """Mean squared error per pixel of ``model`` on flattened test images (n, 784)."""
    with torch.no_grad():
        return float(((model(x_test) - x_test) ** 2).mean())


def textbook(train: np.ndarray, test: np.ndarray, k: int, epochs: int = 5, seed: int = 0,
             on_epoch: Callable[[int, float, float], None] | None = None) -> tuple[float, float]:
    """Train the reference; returns (test MSE, training seconds).

    ``on_epoch(epoch, seconds_so_far, test_mse)`` is called after each epoch; the
    test evaluation it needs is not counted in the seconds.
    """
    torch.manual_seed(seed)
    model = textbook_model(k, int(np.prod(train.shape[1:])))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.from_numpy(train.reshape(len(train), -1))
    xt = torch.from_numpy(test.reshape(len(test), -1))
    seconds = 0.0
    for epoch in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 256):
            xb = x[perm[i : i + 256]]
            loss = torch.nn.functional.mse_loss(model(xb), xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds += time.perf_counter() - t0
        if on_epoch is not None:
            on_epoch(epoch + 1, seconds, test_mse(model, xt))
    return test_mse(model, xt), seconds
