"""The VAE's Gaussian bottleneck: q(z|x) = N(mu, diag(exp(logvar))), prior N(0, I).

Kingma & Welling (2014), "Auto-Encoding Variational Bayes": the encoder emits a
mean and a log-variance per latent dimension, the code is a reparameterised
sample, and the loss adds KL(q(z|x) || N(0, I)) in closed form (their appendix B).
Three options shape how hard the KL is pushed:

- ``beta`` (Higgins et al. 2017, beta-VAE) scales the KL; beta > 1 trades
  reconstruction for a more factorised code, beta < 1 the reverse.
- ``kl_warmup_epochs`` (Bowman et al. 2016) ramps the KL weight up linearly, so
  the decoder learns to use z before the KL can switch it off (posterior collapse).
- ``free_bits`` (Kingma et al. 2016, IAF, eq. 15) stops optimising a latent
  dimension's KL below a floor of that many nats, for the same reason.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from aekit.errors import ConfigError
from aekit.nn.bottlenecks import Capabilities, Code, Term

#: logvar is clamped to this range: exp(20) ~ 5e8 and exp(-30) ~ 1e-13 keep
#: exp(logvar) finite in float32 and stop one bad batch from poisoning training.
LOGVAR_RANGE = (-30.0, 20.0)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) per latent dimension, in nats.

    Kingma & Welling (2014), appendix B:
    ``-KL = 0.5 * sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j))``; this returns the
    summands (negated) unsummed.

    Parameters
    ----------
    mu, logvar : Tensor, shape (batch, code_dim)

    Returns
    -------
    Tensor, shape (batch, code_dim)

    Examples
    --------
    >>> gaussian_kl(torch.tensor([[0.0, 1.0]]), torch.zeros(1, 2))
    tensor([[0.0000, 0.5000]])
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def _logvar(code: Code) -> torch.Tensor:
    """The posterior log-variance of ``code``, which every code of :class:`GaussianBottleneck` carries."""
    assert code.logvar is not None, "a Gaussian bottleneck's code always has a logvar (forward sets it)"
    return code.logvar


class GaussianBottleneck(nn.Module):
    """The variational bottleneck: a reparameterised sample from a diagonal Gaussian.

    The encoder output ``h`` (batch, 2 * code_dim) is split into the mean and
    log-variance heads. ``forward`` samples, in eval mode too, since the ELBO and
    importance-weighted bounds need samples; deterministic uses
    (``Autoencoder.reconstruct``, embeddings) pass ``sample=False``, which sets
    ``z`` to the mean and draws nothing from the random number generator.

    Parameters
    ----------
    code_dim : int
        Number of latent dimensions.
    beta : float, default 1.0
        KL weight (Higgins et al. 2017); 1 gives the ELBO.
    kl_warmup_epochs : int, default 0
        Epochs over which the KL weight rises linearly to ``beta`` (Bowman et al.
        2016): ``beta * min(1, (epoch + 1) / kl_warmup_epochs)``; 0 disables.
    free_bits : float, default 0.0
        Nats per latent dimension below which its KL is not optimised (Kingma et
        al. 2016); 0 disables.

    Attributes
    ----------
    capabilities : Capabilities
        ``stochastic``, ``can_sample`` and ``nats``: the model pairs this bottleneck
        with a reconstruction term that is a per-sample negative log-likelihood in
        nats (``recon_loss.nll``), so that recon + KL is the negative ELBO.
    epoch : int
        The 0-based epoch last passed to :meth:`set_epoch` (0 before any call).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> b = GaussianBottleneck(code_dim=2, beta=4.0, kl_warmup_epochs=2)
    >>> code = b(torch.zeros(5, b.in_features))  # mu = 0, logvar = 0
    >>> tuple(code.z.shape), tuple(code.logvar.shape)
    ((5, 2), (5, 2))
    >>> kl = b.terms(code)["kl"]
    >>> kl.value, kl.weight
    (tensor([0., 0., 0., 0., 0.]), 2.0)
    """

    #: ``forward`` takes ``sample`` (the model asks for no draw where only the mean is used);
    #: the reconstruction is paired as a NLL in nats, so recon + KL is the negative ELBO.
    capabilities = Capabilities(stochastic=True, can_sample=True, nats=True, terms=("kl",))

    def __init__(self, code_dim: int, beta: float = 1.0, kl_warmup_epochs: int = 0, free_bits: float = 0.0):
        super().__init__()
        if isinstance(code_dim, bool) or not isinstance(code_dim, int) or code_dim < 1:
            raise ConfigError(f"code_dim={code_dim!r} must be a positive integer")
        if not (isinstance(beta, (int, float)) and math.isfinite(beta) and beta >= 0):
            raise ConfigError(f"beta={beta!r} must be >= 0")
        if isinstance(kl_warmup_epochs, bool) or not isinstance(kl_warmup_epochs, int) or kl_warmup_epochs < 0:
            raise ConfigError(f"kl_warmup_epochs={kl_warmup_epochs!r} must be an integer >= 0 (0 disables warm-up)")
        if not (isinstance(free_bits, (int, float)) and math.isfinite(free_bits) and free_bits >= 0):
            raise ConfigError(f"free_bits={free_bits!r} must be >= 0 nats per latent dimension (0 disables)")
        self.code_dim = code_dim
        self.in_features = 2 * code_dim  # mean and log-variance heads
        self.beta = float(beta)
        self.kl_warmup_epochs = kl_warmup_epochs
        self.free_bits = float(free_bits)
        self.epoch = 0

    def forward(self, h: torch.Tensor, sample: bool = True) -> Code:
        """Split ``h`` (batch, 2 * code_dim) into heads and sample ``z`` (batch, code_dim).

        With ``sample=False``, ``z`` is the mean and the global RNG is left untouched,
        so embeddings and reconstructions never disturb a caller's random stream.
        """
        mu, logvar = h.chunk(2, dim=1)  # (batch, code_dim) each
        logvar = logvar.clamp(*LOGVAR_RANGE)
        if not sample:
            return Code(z=mu, mean=mu, logvar=logvar)
        # Reparameterisation trick (Kingma & Welling 2014, sec. 2.4): z is a
        # differentiable function of (mu, logvar) and parameter-free noise.
        eps = torch.randn_like(mu)
        z = mu + eps * torch.exp(0.5 * logvar)
        return Code(z=z, mean=mu, logvar=logvar)

    def set_epoch(self, epoch: int) -> None:
        """Record the 0-based ``epoch`` about to start; it sets the warm-up KL weight."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ConfigError(f"epoch={epoch!r} must be an integer >= 0")
        self.epoch = epoch

    @property
    def kl_weight(self) -> float:
        """The KL weight at the current epoch: beta times the linear warm-up factor."""
        if self.kl_warmup_epochs == 0:
            return self.beta
        return self.beta * min(1.0, (self.epoch + 1) / self.kl_warmup_epochs)

    def terms(self, code: Code) -> dict[str, Term]:
        """The KL term, per sample in nats, with the current weight.

        ``value`` (batch,) is the true KL. With free bits, ``loss_value`` (batch,)
        keeps each sample's own KL in every dimension whose batch-mean KL is at
        least ``free_bits`` and puts the constant ``free_bits`` in the others, so its
        batch mean is ``sum_j max(mean_batch KL_j, free_bits)`` (Kingma et al. 2016,
        eq. 15, with the minibatch as the group) and dimensions under the floor get
        no gradient. Without free bits ``loss_value`` is None.
        """
        kl = gaussian_kl(code.mean, _logvar(code))  # (batch, code_dim)
        loss_value = None
        if self.free_bits > 0:
            above = kl.mean(0, keepdim=True).detach() >= self.free_bits  # (1, code_dim)
            loss_value = torch.where(above, kl, torch.full_like(kl, self.free_bits)).sum(1)
        return {"kl": Term(value=kl.sum(1), weight=self.kl_weight, loss_value=loss_value)}

    def kl_per_dimension(self, code: Code) -> torch.Tensor:
        """Batch-mean KL of each latent dimension in nats, shape (code_dim,).

        Dimensions near 0 carry no information about x (collapsed posteriors).

        Examples
        --------
        >>> b = GaussianBottleneck(code_dim=2)
        >>> code = Code(z=None, mean=torch.tensor([[0.0, 2.0]]), logvar=torch.zeros(1, 2))
        >>> b.kl_per_dimension(code)
        tensor([0., 2.])
        """
        return gaussian_kl(code.mean, _logvar(code)).mean(0)

    def extra_repr(self) -> str:
        return (
            f"code_dim={self.code_dim}, beta={self.beta}, kl_warmup_epochs={self.kl_warmup_epochs}, "
            f"free_bits={self.free_bits}"
        )
