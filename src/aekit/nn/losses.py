"""Reconstruction losses, per sample, on the decoder's raw output.

The decoder emits raw values; a loss says how raw values map to data space
(``to_data``) and scores them against the clean input. BCE keeps logits inside
the loss (``binary_cross_entropy_with_logits``) for numerical stability.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MSELoss(nn.Module):
    """Mean squared error per sample, averaged over features; identity output.

    Examples
    --------
    >>> MSELoss()(torch.zeros(2, 3), torch.ones(2, 3))
    tensor([1., 1.])
    """

    def to_data(self, raw: torch.Tensor) -> torch.Tensor:
        return raw

    def forward(self, raw: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return (raw - x).pow(2).flatten(1).mean(1)


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
