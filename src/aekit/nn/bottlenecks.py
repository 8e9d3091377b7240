"""Bottlenecks: what turns the encoder's output into the code ``z``.

A bottleneck says how wide the encoder output must be (``in_features``), maps it
to a :class:`Code`, and names the loss terms it adds (none for a plain
autoencoder; KL for a VAE, commitment for VQ).

Loss terms are :class:`Term` objects: a per-sample value that is logged as it is,
and the weight it enters the loss with (beta times a warm-up factor, say), so the
history shows the raw KL while the optimiser sees the weighted one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Term:
    """One named loss term: ``value`` (batch,) is logged, ``weight * loss_value`` is optimised.

    ``loss_value`` defaults to ``value``; it differs where the optimised quantity is
    a modified one, e.g. KL with free bits.
    """

    value: torch.Tensor
    weight: float = 1.0
    loss_value: torch.Tensor | None = None

    def contribution(self) -> torch.Tensor:
        """What this term adds to the per-sample loss, shape (batch,)."""
        return self.weight * (self.value if self.loss_value is None else self.loss_value)


@dataclass
class Code:
    """The encoder's answer for a batch.

    Attributes
    ----------
    z : Tensor, shape (batch, code_dim)
        What the decoder receives (a sample for stochastic bottlenecks).
    mean : Tensor, shape (batch, code_dim)
        The deterministic embedding: identical to ``z`` for a plain autoencoder.
    logvar : Tensor or None
        Posterior log-variance where the bottleneck is Gaussian.
    indices : Tensor or None
        Codebook indices where the bottleneck quantises.
    """

    z: torch.Tensor
    mean: torch.Tensor
    logvar: torch.Tensor | None = None
    indices: torch.Tensor | None = None


class DeterministicBottleneck(nn.Module):
    """The plain autoencoder's bottleneck: the code is the encoder output.

    Examples
    --------
    >>> b = DeterministicBottleneck(code_dim=2)
    >>> code = b(torch.zeros(5, b.in_features))
    >>> tuple(code.z.shape), b.terms(code)
    ((5, 2), {})
    """

    def __init__(self, code_dim: int):
        super().__init__()
        self.code_dim = code_dim
        self.in_features = code_dim

    def forward(self, h: torch.Tensor) -> Code:
        return Code(z=h, mean=h)

    def terms(self, code: Code) -> dict[str, Term]:
        """Loss terms this bottleneck adds: none."""
        return {}
