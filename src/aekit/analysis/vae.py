"""Evaluation metrics for a trained VAE: likelihood bounds and latent usage.

All figures are in nats per sample (not per feature) and use beta = 1 and no free
bits, whatever the model was trained with, so models trained differently are
compared on the same quantity:

- ``elbo``: E_q[log p(x|z)] - KL(q(z|x) || p(z)), one z sample per x, analytic KL
  (Kingma & Welling 2014).
- ``iw_bound``: the importance-weighted bound with k samples (Burda et al. 2016),
  a tighter lower bound on log p(x) that rises towards it as k grows.
- ``active_units``: latent dimensions whose posterior mean varies with x (Burda et
  al. 2016, sec. 5.2); the rest have collapsed to the prior.

``model`` is anything with ``encoder``, ``bottleneck`` (a Gaussian one, whose
:class:`~aekit.nn.bottlenecks.Code` has ``logvar``), ``decoder`` (z (batch,
code_dim) -> raw output shaped like x) and ``recon_loss`` with ``nll(raw, x)``, as
:class:`aekit.model.Autoencoder` has. Samples come from the global torch RNG:
results are reproducible under ``torch.manual_seed``.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
import torch

from aekit.errors import ConfigError, DataError
from aekit.nn.gaussian import gaussian_kl

_LOG_2PI = math.log(2 * math.pi)


@contextmanager
def _eval_mode(model):
    """Dropout and batch-norm in inference mode for the duration; restored after."""
    parts = [model.encoder, model.decoder]
    was = [p.training for p in parts]
    for p in parts:
        p.eval()
    try:
        yield
    finally:
        for p, mode in zip(parts, was):
            p.train(mode)


def _check(x: torch.Tensor, batch_size: int, k: int = 1) -> None:
    if len(x) == 0:
        raise DataError("VAE metrics need at least one sample, got n_samples=0")
    for name, value in (("batch_size", batch_size), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name}={value!r} must be a positive integer")


def _posterior(model, xb: torch.Tensor):
    """Encode a batch; returns the Code, after checking it is Gaussian."""
    code = model.bottleneck(model.encoder(xb))
    if code.logvar is None:
        raise ConfigError(
            f"VAE metrics need a Gaussian bottleneck; {type(model.bottleneck).__name__} gives no posterior variance"
        )
    return code


@torch.no_grad()
def _single_sample_pass(model, x: torch.Tensor, batch_size: int, decode: bool = True):
    """One pass: mean recon NLL (nan unless ``decode``), mean KL (nats), KL per dim
    (code_dim,), posterior means (n, code_dim)."""
    nll_sum, kl_dim_sum, means = 0.0 if decode else math.nan, 0.0, []
    with _eval_mode(model):
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size]
            code = _posterior(model, xb)
            if decode:
                nll_sum += model.recon_loss.nll(model.decoder(code.z), xb).double().sum().item()
            kl_dim_sum = kl_dim_sum + gaussian_kl(code.mean, code.logvar).double().sum(0)
            means.append(code.mean.double())
    kl_per_dim = (kl_dim_sum / len(x)).cpu().numpy()  # (code_dim,)
    return nll_sum / len(x), float(kl_per_dim.sum()), kl_per_dim, torch.cat(means).cpu().numpy()


def elbo(model, x: torch.Tensor, batch_size: int = 512) -> float:
    """Evidence lower bound, nats per sample: mean of -(recon NLL + KL), one z per x.

    Parameters
    ----------
    model : Autoencoder-like
        See the module docstring.
    x : Tensor, shape (n, *input_shape)
    batch_size : int, default 512

    Returns
    -------
    float

    Examples
    --------
    >>> model = _toy_model()
    >>> _ = torch.manual_seed(0)
    >>> x = torch.bernoulli(torch.full((100, 6), 0.5))
    >>> value = elbo(model, x)
    >>> bool(value < 0), bool(value > -6 * math.log(2) - 10)
    (True, True)
    """
    _check(x, batch_size)
    nll, kl, _, _ = _single_sample_pass(model, x, batch_size)
    return -(nll + kl)


@torch.no_grad()
def iw_bound(model, x: torch.Tensor, k: int = 64, batch_size: int = 512) -> float:
    """Importance-weighted lower bound on log p(x) with ``k`` samples, nats per sample.

    Burda et al. (2016), eq. 8: ``L_k = E[log (1/k) sum_i p(x, z_i) / q(z_i | x)]``
    with z_i ~ q(z|x), computed with logsumexp. L_1 is the ELBO in expectation, and
    L_k never decreases with k (their theorem 1).

    Parameters
    ----------
    model : Autoencoder-like
    x : Tensor, shape (n, *input_shape)
    k : int, default 64
        Importance samples per x.
    batch_size : int, default 512

    Returns
    -------
    float

    Examples
    --------
    >>> model = _toy_model()
    >>> _ = torch.manual_seed(0)
    >>> x = torch.bernoulli(torch.full((200, 6), 0.5))
    >>> bool(iw_bound(model, x, k=64) >= elbo(model, x))
    True
    """
    _check(x, batch_size, k)
    total = 0.0
    with _eval_mode(model):
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size]
            code = _posterior(model, xb)
            mu, logvar = code.mean, code.logvar  # (batch, code_dim)
            std = torch.exp(0.5 * logvar)
            # log q(z|x) of z = mu + eps * std depends on z only through eps.
            log_q_const = -0.5 * (logvar + _LOG_2PI).sum(1)  # (batch,)
            log_w = []
            for _ in range(k):  # one decoder pass per sample keeps memory at one batch
                eps = torch.randn_like(mu)
                z = mu + eps * std
                log_px_z = -model.recon_loss.nll(model.decoder(z), xb)
                log_pz = -0.5 * (z.pow(2) + _LOG_2PI).sum(1)
                log_qz = log_q_const - 0.5 * eps.pow(2).sum(1)
                log_w.append((log_px_z + log_pz - log_qz).double())
            log_w = torch.stack(log_w)  # (k, batch)
            total += (torch.logsumexp(log_w, dim=0) - math.log(k)).sum().item()
    return total / len(x)


def kl_per_dimension(model, x: torch.Tensor, batch_size: int = 512) -> np.ndarray:
    """Data-mean KL(q(z_j|x) || N(0, 1)) of each latent dimension, nats, shape (code_dim,).

    Examples
    --------
    >>> model = _toy_model()
    >>> kl_per_dimension(model, torch.rand(50, 6)).shape
    (2,)
    """
    _check(x, batch_size)
    return _single_sample_pass(model, x, batch_size, decode=False)[2]


def active_units(model, x: torch.Tensor, threshold: float = 0.01, batch_size: int = 512) -> int:
    """Number of latent dimensions whose posterior mean varies over the data.

    Burda et al. (2016), sec. 5.2: dimension j is active when
    ``Var_x(E_q(z|x)[z_j]) > threshold`` (0.01 in the paper).

    Parameters
    ----------
    model : Autoencoder-like
    x : Tensor, shape (n, *input_shape)
    threshold : float, default 0.01
    batch_size : int, default 512

    Returns
    -------
    int

    Examples
    --------
    >>> model = _toy_model()
    >>> active_units(model, torch.rand(50, 6), threshold=0.0)
    2
    """
    _check(x, batch_size)
    means = _single_sample_pass(model, x, batch_size, decode=False)[3]  # (n, code_dim)
    return int((means.var(axis=0) > threshold).sum())


def vae_metrics(model, x: torch.Tensor, k: int = 64, threshold: float = 0.01, batch_size: int = 512) -> dict:
    """Every VAE figure in one call (two passes over ``x``).

    Returns
    -------
    dict
        ``elbo``, ``iw_bound`` (with ``iw_k`` samples), ``kl`` and ``recon_nll``
        (nats per sample, ``elbo == -(recon_nll + kl)``), ``kl_per_dim`` (list of
        code_dim floats) and ``active_units`` (int).

    Examples
    --------
    >>> model = _toy_model()
    >>> _ = torch.manual_seed(0)
    >>> m = vae_metrics(model, torch.bernoulli(torch.full((100, 6), 0.5)), k=8)
    >>> sorted(m)
    ['active_units', 'elbo', 'iw_bound', 'iw_k', 'kl', 'kl_per_dim', 'recon_nll']
    >>> bool(abs(m["elbo"] + m["recon_nll"] + m["kl"]) < 1e-9)
    True
    """
    _check(x, batch_size, k)
    nll, kl, kl_dim, means = _single_sample_pass(model, x, batch_size)
    return {
        "elbo": -(nll + kl),
        "iw_bound": iw_bound(model, x, k=k, batch_size=batch_size),
        "iw_k": k,
        "kl": kl,
        "kl_per_dim": [float(v) for v in kl_dim],
        "active_units": int((means.var(axis=0) > threshold).sum()),
        "recon_nll": nll,
    }


def _toy_model():
    """A 6-feature, 2-latent Bernoulli VAE with fixed random weights, for the examples."""
    from torch import nn

    from aekit.nn.gaussian import GaussianBottleneck
    from aekit.nn.losses import BCELoss

    gen = torch.Generator().manual_seed(0)
    model = nn.Module()
    model.bottleneck = GaussianBottleneck(code_dim=2)
    model.encoder, model.decoder = nn.Linear(6, model.bottleneck.in_features), nn.Linear(2, 6)
    model.recon_loss = BCELoss()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return model
