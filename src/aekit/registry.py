"""Names -> components. One registry per kind of component.

The CLI's choices, the explorer's menus and the parametrised tests all enumerate
these tables, so a component registered here shows up everywhere. Lookups of an
unknown name fail with the list of known ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aekit.errors import ConfigError
from aekit.nn.bottlenecks import DeterministicBottleneck
from aekit.nn.conv import build_conv
from aekit.nn.corruption import GaussianNoise, Mask, SaltPepper
from aekit.nn.gaussian import GaussianBottleneck
from aekit.nn.losses import BCELoss, CategoricalLoss, MSELoss
from aekit.nn.mlp import build_linear, build_mlp
from aekit.nn.penalties import ContractivePenalty, KLSparsity, L1Penalty
from aekit.nn.vq import VQBottleneck

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of components of one kind.

    Examples
    --------
    >>> r = Registry("colour")
    >>> r.add("red", 1, "the colour of stop signs")
    >>> r.get("red"), r.names()
    (1, ['red'])
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._docs: dict[str, str] = {}

    def add(self, name: str, item: T, doc: str) -> None:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        self._docs[name] = doc

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self._items)}") from None

    def doc(self, name: str) -> str:
        self.get(name)
        return self._docs[name]

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)


#: ``build(model_config, enc_out) -> (encoder, decoder)``
ARCHITECTURES: Registry[Callable[..., Any]] = Registry("architecture")
ARCHITECTURES.add("mlp", build_mlp, "fully connected; a PCA-initialised linear path beside the MLP by default")
ARCHITECTURES.add("conv", build_conv, "stride-2 convolutions for images of any size")
ARCHITECTURES.add("linear", build_linear, "one linear layer each way: spans the PCA subspace")

def _deterministic(config) -> DeterministicBottleneck:
    return DeterministicBottleneck(config.code_dim)


def _gaussian(config) -> GaussianBottleneck:
    return GaussianBottleneck(config.code_dim, beta=config.beta, kl_warmup_epochs=config.kl_warmup_epochs,
                              free_bits=config.free_bits)


def _vq(config) -> VQBottleneck:
    # Several small tokens per sample by default: one 32-wide token per image let a
    # K=512 codebook decay to 31 % use on Fashion-MNIST, eight 4-wide tokens kept 93 %.
    grid = config.token_grid  # conv: one token per cell of the last feature map
    if grid is not None:
        token_dim = config.code_dim // (grid[0] * grid[1])
    else:
        token_dim = config.token_dim or max(d for d in range(1, 5) if config.code_dim % d == 0)
    return VQBottleneck(config.code_dim, codebook_size=config.codebook_size, token_dim=token_dim,
                        commitment=config.commitment, ema=config.vq_ema, decay=config.vq_decay,
                        kmeans_init=config.kmeans_init, dead_code_reset=config.dead_code_reset)


#: ``build(model_config)`` -> module with ``in_features``, ``forward(h) -> Code`` and ``terms(code)``
BOTTLENECKS: Registry[Callable[..., Any]] = Registry("bottleneck")
BOTTLENECKS.add("deterministic", _deterministic, "the code is the encoder output")
BOTTLENECKS.add("gaussian", _gaussian, "VAE: mean and log-variance heads, reparameterised sample, KL to N(0, I)")
BOTTLENECKS.add("vq", _vq, "VQ-VAE: nearest of K codebook vectors per token, straight-through, EMA, dead-code reset")

#: ``cls(level)``: corrupts the training input only; the target stays clean
CORRUPTIONS: Registry[Callable[..., Any]] = Registry("corruption")
CORRUPTIONS.add("gaussian", GaussianNoise, "additive Gaussian noise with sigma = corruption_level")
CORRUPTIONS.add("mask", Mask, "each pixel or cell set to 0 with probability corruption_level")
CORRUPTIONS.add("salt_pepper", SaltPepper, "each pixel or cell set to 0 or 1 with probability corruption_level")

#: ``cls(weight, target)`` with ``forward(encoder, x_in, z) -> per-sample penalty``
PENALTIES: Registry[Callable[..., Any]] = Registry("penalty")
PENALTIES.add("l1", L1Penalty, "sum of |z|: sparse codes")
PENALTIES.add("kl_sparsity", KLSparsity, "KL between the target and the mean sigmoid activation of each unit")
PENALTIES.add("contractive", ContractivePenalty, "squared Frobenius norm of the encoder's Jacobian")

def _mse(config) -> MSELoss:
    return MSELoss()


def _bce(config) -> BCELoss:
    return BCELoss()


def _ce(config) -> CategoricalLoss:
    return CategoricalLoss(config.categorical, config.n_features)


#: ``build(model_config)`` -> module with ``forward(raw, x) -> per-sample loss``, ``nll`` and ``to_data(raw)``
LOSSES: Registry[Callable[..., Any]] = Registry("loss")
LOSSES.add("mse", _mse, "squared error; real-valued outputs")
LOSSES.add("bce", _bce, "Bernoulli likelihood; outputs are probabilities in [0, 1]")
LOSSES.add("ce", _ce, "cross-entropy on one-hot categorical columns (ModelConfig.categorical), squared error on the rest")


@dataclass(frozen=True)
class Variant:
    """A named preset: ModelConfig (and TrainConfig) overrides."""

    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)


VARIANTS: Registry[Variant] = Registry("variant")
VARIANTS.add("plain", Variant(), "deterministic code, reconstruction loss only")
VARIANTS.add("denoising", Variant(model={"corruption": "gaussian", "corruption_level": 0.3}),
             "trained to reconstruct clean inputs from inputs with Gaussian noise (sigma 0.3)")
VARIANTS.add("sparse", Variant(model={"penalty": "l1", "penalty_weight": 1e-3}),
             "an L1 penalty makes most code units near zero for any one input")
VARIANTS.add("contractive", Variant(model={"penalty": "contractive", "penalty_weight": 1e-4}),
             "a Jacobian penalty makes the code insensitive to small input changes")
VARIANTS.add("tied", Variant(model={"tied": True}), "the decoder reuses the encoder's weights transposed")
VARIANTS.add("linear", Variant(model={"arch": "linear", "pca_init": False, "linear_path": False}),
             "no nonlinearity: the learned subspace is PCA's")
VARIANTS.add("vae", Variant(model={"bottleneck": "gaussian"}),
             "variational: a Gaussian code with a KL term to N(0, I); sample new data from the prior")
VARIANTS.add("vq", Variant(model={"bottleneck": "vq"}),
             "vector-quantised: each token of the code becomes one of K codebook vectors (discrete tokens)")
VARIANTS.add("beta_vae", Variant(model={"bottleneck": "gaussian", "beta": 4.0}),
             "a VAE with beta = 4: a stronger pull to the prior, more disentangled codes")
