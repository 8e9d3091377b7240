"""Penalties on the code: sparse and contractive autoencoders.

Each penalty returns a per-sample value, shape (batch,), *not* multiplied by its
weight: the model logs the raw value and adds ``weight * value`` to the loss.
All share the constructor ``cls(weight, target)`` so the model can build any of
them from the config; ``target`` is read by :class:`KLSparsity` only.

- :class:`L1Penalty`: sum of |z| (a Laplace prior on the code; Goodfellow et al.,
  "Deep Learning", section 14.2.1).
- :class:`KLSparsity`: Ng, "Sparse autoencoder", CS294A lecture notes (2011).
- :class:`ContractivePenalty`: Rifai, Vincent, Muller, Glorot & Bengio (2011),
  "Contractive auto-encoders: explicit invariance during feature extraction".
"""

from __future__ import annotations

import math

import torch
from torch import nn

from aekit.errors import ConfigError


def _check_weight(weight: float) -> float:
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not (0.0 <= weight < math.inf):
        raise ConfigError(f"penalty_weight={weight!r} must be a finite number >= 0")
    return float(weight)


class L1Penalty(nn.Module):
    """L1 norm of the code, ``sum_j |z_j|`` per sample.

    Parameters
    ----------
    weight : float
        lambda, the penalty's weight in the loss (``>= 0``); stored, not applied.
    target : float
        Ignored; accepted so every penalty is built as ``cls(weight, target)``.

    Examples
    --------
    >>> z = torch.tensor([[1.0, -2.0], [0.0, 0.5]])
    >>> L1Penalty(1e-3)(None, None, z)
    tensor([3.0000, 0.5000])
    """

    def __init__(self, weight: float, target: float = 0.05):
        super().__init__()
        self.weight = _check_weight(weight)

    def forward(self, encoder: nn.Module | None, x_in: torch.Tensor | None, z: torch.Tensor) -> torch.Tensor:
        """Penalty (batch,) of the code ``z`` (batch, code_dim); ``encoder`` and ``x_in`` are unused."""
        return z.flatten(1).abs().sum(1)

    def extra_repr(self) -> str:
        return f"weight={self.weight}"


class KLSparsity(nn.Module):
    """KL divergence between a target activation ``rho`` and each unit's mean activation.

    Ng's sparse autoencoder (CS294A notes, section 3): with activations
    ``a = sigmoid(z)`` and ``rho_hat_j`` the mean of ``a_j`` over the batch, the
    penalty is ``sum_j KL(rho || rho_hat_j)`` between Bernoulli distributions,

        rho log(rho / rho_hat_j) + (1 - rho) log((1 - rho) / (1 - rho_hat_j)),

    zero exactly when every unit's mean activation is ``rho``. It is a property
    of the batch, not of one sample: the same value is returned for every sample,
    so the batch mean is the penalty (do not read it as a per-sample score).

    Parameters
    ----------
    weight : float
        beta, the penalty's weight in the loss (``>= 0``); stored, not applied.
    target : float
        rho, the desired mean activation of each unit, in (0, 1).

    Examples
    --------
    >>> kl = KLSparsity(weight=0.1, target=0.5)
    >>> kl(None, None, torch.zeros(3, 4))  # sigmoid(0) = 0.5 = rho
    tensor([0., 0., 0.])
    >>> round(kl(None, None, torch.full((3, 4), 2.0))[0].item(), 4)  # 4 units at rho_hat = 0.88
    1.7351
    """

    def __init__(self, weight: float, target: float = 0.05):
        super().__init__()
        self.weight = _check_weight(weight)
        if isinstance(target, bool) or not isinstance(target, (int, float)) or not (0.0 < target < 1.0):
            raise ConfigError(f"sparsity_target={target!r} must be in (0, 1)")
        self.target = float(target)

    def forward(self, encoder: nn.Module | None, x_in: torch.Tensor | None, z: torch.Tensor) -> torch.Tensor:
        """Penalty (batch,), one value repeated, of the code ``z`` (batch, code_dim).

        ``encoder`` and ``x_in`` are unused.
        """
        rho = self.target
        # The clamp keeps both logs finite for saturated units.
        rho_hat = torch.sigmoid(z.flatten(1)).mean(0).clamp(1e-6, 1 - 1e-6)  # (code_dim,)
        kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
        return kl.sum().expand(z.shape[0])

    def extra_repr(self) -> str:
        return f"weight={self.weight}, target={self.target}"


class ContractivePenalty(nn.Module):
    """Squared Frobenius norm of the encoder's Jacobian, ``||dz/dx||_F^2`` per sample.

    Rifai et al. (2011), equation 2: penalising the Jacobian makes the code
    locally insensitive to input directions off the data manifold. The Jacobian
    is exact, not a stochastic estimate, and built with ``create_graph``
    semantics, so the penalty trains the encoder's parameters.

    The Jacobian is built one row at a time: for code unit j, the gradient of
    ``sum_i z_ij`` with respect to the batch is every sample's ``dz_ij/dx_i`` at
    once, because samples do not interact in the encoder (this would not hold
    for batch norm in training mode). That is code_dim batched backward passes,
    kept in the graph; a ``torch.func`` vmap(jacrev) gives the same numbers but
    its double backward is 3x slower for convolutions.

    Parameters
    ----------
    weight : float
        lambda, the penalty's weight in the loss (``>= 0``); stored, not applied.
    target : float
        Ignored; accepted so every penalty is built as ``cls(weight, target)``.

    Examples
    --------
    A linear encoder's Jacobian is its weight matrix, for every sample:

    >>> enc = nn.Linear(3, 2)
    >>> with torch.no_grad():
    ...     _ = enc.weight.copy_(torch.tensor([[1.0, 0.0, 2.0], [0.0, -1.0, 0.0]]))
    >>> x = torch.randn(4, 3)
    >>> ContractivePenalty(1e-4)(enc, x, enc(x))
    tensor([6., 6., 6., 6.], grad_fn=<AddBackward0>)
    """

    def __init__(self, weight: float, target: float = 0.05):
        super().__init__()
        self.weight = _check_weight(weight)

    def forward(self, encoder: nn.Module, x_in: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """Penalty (batch,) of ``encoder`` at ``x_in`` (batch, *input_shape).

        ``z`` is unused: the code is recomputed from an input that requires grad.
        Under ``torch.no_grad`` (evaluation) the value is computed and detached.
        """
        train_through = torch.is_grad_enabled()
        with torch.enable_grad():
            x = x_in.detach().requires_grad_(True)
            code = encoder(x).flatten(1)  # (batch, code_dim)
            penalty = x.new_zeros(x.shape[0])
            for j in range(code.shape[1]):
                (row,) = torch.autograd.grad(code[:, j].sum(), x, create_graph=train_through, retain_graph=True)
                penalty = penalty + row.pow(2).flatten(1).sum(1)  # row: (batch, *input_shape)
        return penalty if train_through else penalty.detach()

    def extra_repr(self) -> str:
        return f"weight={self.weight}"


#: Penalties by name; the config stores the name, ``penalty_weight`` and ``sparsity_target``.
PENALTIES: dict[str, type[nn.Module]] = {
    "l1": L1Penalty,
    "kl_sparsity": KLSparsity,
    "contractive": ContractivePenalty,
}


def code_sparsity(z: torch.Tensor, tol: float = 1e-2) -> dict[str, float]:
    """How sparse a batch of codes is, for the metrics report.

    Parameters
    ----------
    z : Tensor, shape (batch, code_dim)
        Codes, e.g. the deterministic embeddings of a validation set.
    tol : float
        Entries with ``|z| < tol`` count as near zero.

    Returns
    -------
    dict
        ``near_zero_share`` (share of entries with ``|z| < tol``),
        ``mean_abs_activation`` (mean of ``|z|``) and ``mean_sigmoid_activation``
        (mean of ``sigmoid(z)``, the quantity :class:`KLSparsity` steers towards
        its target), all Python floats.

    Examples
    --------
    >>> stats = code_sparsity(torch.tensor([[0.0, 2.0], [0.001, -2.0]]))
    >>> {k: round(v, 4) for k, v in stats.items()}
    {'near_zero_share': 0.5, 'mean_abs_activation': 1.0003, 'mean_sigmoid_activation': 0.5001}
    """
    if not (tol >= 0):
        raise ConfigError(f"tol={tol!r} must be >= 0")
    z = z.detach().double()
    return {
        "near_zero_share": (z.abs() < tol).double().mean().item(),
        "mean_abs_activation": z.abs().mean().item(),
        "mean_sigmoid_activation": torch.sigmoid(z).mean().item(),
    }
