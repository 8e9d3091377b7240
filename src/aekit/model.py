"""The Autoencoder: encoder -> bottleneck -> decoder, plus its objective.

The model owns its loss (``loss(x) -> dict``), so the trainer can train any
variant without knowing which it is. Components come from :mod:`aekit.registry`
by the names in a :class:`~aekit.config.ModelConfig`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import nn

from aekit.config import ModelConfig
from aekit.errors import ConfigError, DataError
from aekit.nn.bottlenecks import Capabilities, Code
from aekit.registry import (
    ARCHITECTURES,
    BOTTLENECKS,
    CORRUPTIONS,
    LOSSES,
    PENALTIES,
    TrustCode,
    build_networks,
    own_networks,
)


class Autoencoder(nn.Module):
    """An autoencoder built from a :class:`~aekit.config.ModelConfig`.

    Parameters
    ----------
    config : ModelConfig
        Shapes and component names; ``encoder`` / ``decoder`` name the user's own
        factories (``"package.module:function"``), which replace the architecture's
        network on that side. An own encoder's output feeds the bottleneck through a
        linear head where its width differs from what the bottleneck takes (2 *
        code_dim for the Gaussian's two heads).
    trust_code : True, None or iterable of str, default True
        Which modules the factories may be imported from (see
        :func:`aekit.registry.resolve_factory`). True: the caller chose the config
        (a fit); loading a saved model passes the user's ``trust_code`` instead.

    Examples
    --------
    >>> model = Autoencoder(ModelConfig(input_shape=(1, 8, 8), code_dim=2))
    >>> x = torch.rand(4, 1, 8, 8)
    >>> tuple(model.encode(x).z.shape), tuple(model.reconstruct(x).shape)
    ((4, 2), (4, 1, 8, 8))
    >>> sorted(model.loss(x))
    ['loss', 'recon']
    """

    def __init__(self, config: ModelConfig, trust_code: TrustCode = True):
        super().__init__()
        self.config = config
        self.bottleneck = BOTTLENECKS.get(config.bottleneck)(config)
        self.encoder, self.decoder = build_networks(config, self.bottleneck.in_features, trust_code)
        self.recon_loss = LOSSES.get(config.loss)(config)
        self.corruption = CORRUPTIONS.get(config.corruption)(config.corruption_level) if config.corruption else None
        self.penalty = (
            PENALTIES.get(config.penalty)(config.penalty_weight, config.sparsity_target) if config.penalty else None
        )

    # -- the contract --------------------------------------------------------
    def encode(self, x: torch.Tensor, sample: bool = True) -> Code:
        """Encode a batch ``x`` of shape (batch, *input_shape) into a :class:`Code`.

        ``sample=False`` asks a stochastic bottleneck (the VAE's) for its mean as
        ``z`` without drawing noise: what deterministic uses (embeddings,
        reconstructions, anomaly scores) want, and it leaves the global RNG alone.
        """
        self._check_input(x)
        if self.config.missing:
            x = torch.nan_to_num(x, nan=0.0)  # a missing cell reads as the (scaled) mean
        h = self.encoder(x)
        if self.capabilities.stochastic:
            return self.bottleneck(h, sample=sample)
        return self.bottleneck(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decode codes ``z`` (batch, code_dim) to data space (batch, *input_shape)."""
        if z.ndim != 2 or z.shape[1] != self.config.code_dim:
            raise DataError(f"codes must have shape (batch, {self.config.code_dim}), got {tuple(z.shape)}")
        x_hat = self.recon_loss.to_data(self.decoder(z))
        if self.config.output_range is not None and not self.training:
            # Clipping to the data's known range only removes error; training sees raw outputs.
            x_hat = x_hat.clamp(*self.config.output_range)
        return x_hat

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The training objective on a batch: ``"loss"`` plus every named term (batch means).

        With a corruption (denoising) the input is corrupted first while the target
        stays ``x``, in evaluation mode too: the validation loss that early stopping
        watches must be the objective being trained, not clean reconstruction.
        ``reconstruct`` and ``reconstruction_error`` never corrupt.

        With ``binarize`` the batch is first replaced, in training only, by Bernoulli
        draws with the grey values as probabilities, the target as well as the input.

        Probabilistic bottlenecks (``capabilities.nats``) get the reconstruction as a
        negative log-likelihood in nats summed over features; the others a
        per-feature mean, comparable to PCA's mean squared error.

        With ``missing`` (tables), NaN cells are missing: the encoder sees 0 there
        and the loss counts only the observed cells, averaging over them, so no NaN
        ever reaches a gradient.
        """
        mask = None
        if self.config.missing:
            mask = ~torch.isnan(x)  # (batch, n_features): observed cells
            x = torch.where(mask, x, torch.zeros_like(x))
        if self.config.binarize and self.training:
            # Dynamic binarisation (as in Burda et al. 2016 and most VAE likelihood
            # papers): each batch sees fresh binary draws with the grey value as p.
            x = torch.bernoulli(x)
        x_in = x
        if self.corruption is not None:
            x_in = self.corruption(x)
            if self.config.output_range is not None:
                # Noisy images are still images: clipped to the data's range, as the noisy
                # inputs a denoiser meets are (Fashion-MNIST, sigma 0.3: 18.0 dB trained on
                # unclipped noise, 19.9 dB on clipped, tested on clipped).
                x_in = x_in.clamp(*self.config.output_range)
        code = self.encode(x_in)
        raw = self.decoder(code.z)
        masked = {} if mask is None else {"mask": mask}
        if self.capabilities.nats:
            recon = self.recon_loss.nll(raw, x, **masked)  # (batch,) nats
        else:
            recon = self.recon_loss(raw, x, **masked)  # (batch,)
        total = recon
        terms = {"recon": recon.mean()}
        for name, term in self.bottleneck.terms(code).items():
            terms[name] = term.value.mean()
            total = total + term.contribution()
        if self.penalty is not None:
            value = self.penalty(self.encoder, x_in, code.mean)  # (batch,)
            terms[self.config.penalty] = value.mean()
            total = total + self.penalty.weight * value
        terms["loss"] = total.mean()
        return terms

    def encode_indices(self, x: torch.Tensor) -> torch.Tensor:
        """VQ bottleneck only: codebook indices, shape (batch, n_tokens)."""
        self._need_indices("encode_indices")
        return self.encode(x).indices

    def decode_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """VQ bottleneck only: decode codebook indices (batch, n_tokens) to data space."""
        self._need_indices("decode_indices")
        n_codes = self.bottleneck.codebook_size
        if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= n_codes):
            raise DataError(f"indices must lie in [0, {n_codes - 1}], got [{int(indices.min())}, {int(indices.max())}]")
        return self.decode(self.bottleneck.lookup(indices))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` draws from the prior N(0, I): (n, *input_shape) in data space.

        Meaningful for a VAE, whose decoder was trained on codes from that prior; a
        plain autoencoder decodes such codes into the "holes" between its data.
        """
        z = torch.randn(n, self.config.code_dim, generator=generator)
        return self.decode(z)

    def epoch_metrics(self) -> dict[str, float]:
        """Called by the trainer after each training epoch: statistics the bottleneck
        gathered (codebook usage and perplexity for VQ), logged in the history."""
        end_epoch = getattr(self.recon_loss, "end_epoch", None)
        if end_epoch is not None:  # the likelihood's variance, before validation uses it
            end_epoch()
        stats = getattr(self.bottleneck, "epoch_stats", None)
        if stats is None:
            return {}
        out = stats()
        usage = out.get("codebook_usage")
        if usage is not None and usage < 0.1:
            warnings.warn(
                f"only {usage:.0%} of the codebook was used this epoch; the codebook is collapsing "
                "(try dead_code_reset=True, a smaller codebook_size or a lower commitment)",
                UserWarning,
                stacklevel=2,
            )
        return out

    def on_epoch_start(self, epoch: int) -> None:
        """Called by the trainer before each epoch (0-based): warm-ups and schedules live here."""
        set_epoch = getattr(self.bottleneck, "set_epoch", None)
        if set_epoch is not None:
            set_epoch(epoch)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decode the deterministic (mean) code: repeated calls give identical output."""
        return self.decode(self.encode(x, sample=False).mean)

    def reconstruction_error(self, x: torch.Tensor) -> torch.Tensor:
        """Mean squared error per sample in data space, shape (batch,); with
        ``missing``, the mean over each sample's observed (non-NaN) cells."""
        if not self.config.missing:
            return (self.reconstruct(x) - x).pow(2).flatten(1).mean(1)
        mask = ~torch.isnan(x)
        squared = (self.reconstruct(x) - torch.nan_to_num(x, nan=0.0)).pow(2) * mask
        return squared.flatten(1).sum(1) / mask.flatten(1).sum(1).clamp_min(1)

    # -- helpers -------------------------------------------------------------
    @torch.no_grad()
    def init_from_pca(self, components: torch.Tensor, mean: torch.Tensor) -> bool:
        """Start the linear path at the PCA solution; returns whether it applied.

        ``components`` (k, n_features) are orthonormal rows, ``mean`` (n_features,).
        The encoder's linear path becomes ``components @ (x - mean)`` and the
        decoder's ``components.T @ z + mean``, so the untrained model reconstructs
        exactly as PCA does. Applies to an architecture with a linear path (mlp,
        conv) built with one, or one that is linear throughout (``arch='linear'``,
        which then starts at its optimum: PCA's subspace), with an MSE loss and a
        passthrough code (the encoder output itself) of at most k dimensions; never
        to the user's own networks.
        """
        cfg = self.config
        if own_networks(cfg):
            return False
        spec = ARCHITECTURES.get(cfg.arch)
        if not (
            (spec.linear or (spec.has_linear_path and cfg.linear_path))
            and cfg.loss == "mse"
            and self.capabilities.passthrough
        ):
            return False
        k = cfg.code_dim
        if components.shape[0] < k:
            return False
        w = components[:k].to(torch.float32)  # (code_dim, n_features)
        mu = mean.to(torch.float32)  # (n_features,)
        self.encoder.init_linear(w, -(w @ mu))
        self.decoder.init_linear(w.T.contiguous(), mu)
        return True

    @property
    def capabilities(self) -> Capabilities:
        """What the bottleneck can do (``stochastic``, ``can_sample``, ``has_indices``,
        ``nats``, ``passthrough``, ``terms``): ask these, not the component's name."""
        return self.bottleneck.capabilities

    def _need_indices(self, method: str) -> None:
        if not self.capabilities.has_indices:
            raise ConfigError(
                f"{method} needs a quantising bottleneck (vq), this model's is {self.config.bottleneck!r}"
            )

    def _check_input(self, x: torch.Tensor) -> None:
        expected = self.config.input_shape
        if tuple(x.shape[1:]) != expected:
            raise DataError(
                f"this model expects samples of shape {expected} ({self.config.n_features} values), "
                f"got {tuple(x.shape[1:])}"
            )

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


@torch.no_grad()
def map_batches(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Apply ``fn`` to ``x`` in slices of ``batch_size`` rows and concatenate.

    Examples
    --------
    >>> map_batches(lambda b: b * 2, torch.arange(5.0), batch_size=2)
    tensor([0., 2., 4., 6., 8.])
    """
    if len(x) == 0:
        return fn(x)
    return torch.cat([fn(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
