"""Bottlenecks: what turns the encoder's output into the code ``z``.

A bottleneck says how wide the encoder output must be (``in_features``), maps it
to a :class:`Code`, and names the loss terms it adds (none for a plain
autoencoder; KL for a VAE, commitment for VQ).

Loss terms are :class:`Term` objects: a per-sample value that is logged as it is,
and the weight it enters the loss with (beta times a warm-up factor, say), so the
history shows the raw KL while the optimiser sees the weighted one.

Each bottleneck class declares its :class:`Capabilities`: callers (the model, the
estimators, reports, the explorer, the registry's config checks) ask those, never
the component's name, so a new bottleneck is its own file plus one registration.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Capabilities:
    """What a bottleneck can do: the contract callers may rely on, read from the class.

    Examples
    --------
    >>> DeterministicBottleneck.capabilities.passthrough, DeterministicBottleneck.capabilities.terms
    (True, ())
    """

    #: ``forward(h, sample=True)`` draws z; ``sample=False`` gives the mean as z; ``Code.logvar`` is set.
    stochastic: bool = False
    #: decoding draws from the N(0, I) prior is meaningful (the VAE): ``sample``, prior-scaled latent maps.
    can_sample: bool = False
    #: discrete tokens: ``Code.indices``, ``lookup(indices)``, ``codebook_size``, ``n_tokens``, ``token_dim``.
    has_indices: bool = False
    #: the reconstruction term must be a per-sample negative log-likelihood in nats (recon + terms = -ELBO).
    nats: bool = False
    #: the code is the encoder output itself, so PCA warm start and tied weights apply.
    passthrough: bool = False
    #: names of the extra loss terms ``terms(code)`` may report (and the history logs), e.g. ("kl",).
    terms: tuple[str, ...] = ()


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

    capabilities = Capabilities(passthrough=True)

    def __init__(self, code_dim: int):
        super().__init__()
        self.code_dim = code_dim
        self.in_features = code_dim

    def forward(self, h: torch.Tensor) -> Code:
        return Code(z=h, mean=h)

    def terms(self, code: Code) -> dict[str, Term]:
        """Loss terms this bottleneck adds: none."""
        return {}
