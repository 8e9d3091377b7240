"""Reconstruction losses, per sample, on the decoder's raw output.

The decoder emits raw values; a loss says how raw values map to data space
(``to_data``) and scores them against the clean input. BCE keeps logits inside
the loss (``binary_cross_entropy_with_logits``) for numerical stability.

``forward`` is the plain autoencoder's score, averaged over features. ``nll`` is
the per-sample negative log-likelihood in nats, summed over features: what a VAE
needs so that ``nll + kl`` is the negative ELBO (a mean over features would
silently scale the likelihood down by the number of features, acting like a
large beta).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class MSELoss(nn.Module):
    """Mean squared error per sample, averaged over features; identity output.

    ``nll`` is a Gaussian likelihood whose one variance, shared by all features,
    is set to its optimum, the batch's mean squared error (Rybkin et al. 2021,
    "Simple and Effective VAE Training with Calibrated Decoders", the "optimal
    sigma" sigma-VAE). A fixed sigma = 1 lets the KL term win and the posterior
    collapse (measured on digits, code 2: 0.11 nats of KL against 4.1 with the
    optimal sigma); a learned log-variance parameter moved too slowly to help.

    Attributes
    ----------
    sigma2 : buffer, shape ()
        Running average of the training batches' optimal variance, used by ``nll``
        outside training (evaluation bounds). Plain autoencoders never touch it.

    Examples
    --------
    >>> MSELoss()(torch.zeros(2, 3), torch.ones(2, 3))
    tensor([1., 1.])
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("sigma2", torch.ones(()))

    def to_data(self, raw: torch.Tensor) -> torch.Tensor:
        return raw

    def forward(self, raw: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return (raw - x).pow(2).flatten(1).mean(1)

    def nll(self, raw: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Gaussian negative log-likelihood per sample in nats, summed over features.

        ``-log N(x | raw, sigma2) = 0.5 * sum_i [(x_i - raw_i)^2 / sigma2 + log(2 pi sigma2)]``
        (Rybkin et al. 2021, eq. 3) with ``sigma2`` the batch's mean squared error
        in training (no gradient through it) and the running average otherwise.

        Parameters
        ----------
        raw, x : Tensor, shape (batch, *input_shape)

        Returns
        -------
        Tensor, shape (batch,)

        Examples
        --------
        >>> MSELoss().eval().nll(torch.zeros(1, 2), torch.ones(1, 2))  # sigma2 = 1: 2 * 0.5 * (1 + log(2 pi))
        tensor([2.8379])
        """
        sq = (x - raw).pow(2).flatten(1)  # (batch, n_features)
        if self.training:
            sigma2 = sq.detach().float().mean().clamp_min(1e-6)
            with torch.no_grad():
                self.sigma2.mul_(0.99).add_(0.01 * sigma2)
        else:
            sigma2 = self.sigma2
        per_feature = sq / sigma2 + torch.log(sigma2) + math.log(2 * math.pi)
        return 0.5 * per_feature.sum(1)


class BCELoss(nn.Module):
    """Bernoulli likelihood: binary cross-entropy with logits, per sample, averaged
    over features; the decoder's output becomes probabilities via a sigmoid.

    Targets must lie in [0, 1].

    Examples
    --------
    >>> BCELoss()(torch.zeros(1, 4), torch.full((1, 4), 0.5))
    tensor([0.6931])
    """

    def to_data(self, raw: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(raw)

    def forward(self, raw: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(raw, x, reduction="none").flatten(1).mean(1)

    def nll(self, raw: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Bernoulli negative log-likelihood per sample in nats, summed over features.

        ``-sum_i [x_i log p_i + (1 - x_i) log(1 - p_i)]`` with ``p = sigmoid(raw)``.
        Exact for binary x; for grey values in [0, 1] it is the usual cross-entropy,
        not a normalised density (its minimum is above 0).

        Parameters
        ----------
        raw : Tensor, shape (batch, *input_shape)
            Logits.
        x : Tensor, shape (batch, *input_shape)
            Targets in [0, 1].

        Returns
        -------
        Tensor, shape (batch,)

        Examples
        --------
        >>> BCELoss().nll(torch.zeros(1, 4), torch.ones(1, 4))  # 4 * log 2
        tensor([2.7726])
        """
        return F.binary_cross_entropy_with_logits(raw, x, reduction="none").flatten(1).sum(1)
