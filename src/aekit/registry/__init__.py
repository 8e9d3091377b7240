"""Names -> components. One registry per kind of component, plus the user's own factories.

The CLI's choices, the explorer's menus and the parametrised tests all enumerate
these tables, so a component registered here shows up everywhere. Lookups of an
unknown name fail with the list of known ones. A new bottleneck is its own module
in ``aekit/nn/`` (a class declaring its :class:`~aekit.nn.bottlenecks.Capabilities`)
plus one ``BOTTLENECKS.add`` line here.

A user's own encoder or decoder is named by import path, ``"package.module:function"``
(:mod:`aekit.registry.factories`); a saved model imports it only where the caller
trusts that module (``trust_code``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aekit.errors import ConfigError
from aekit.nn.bottlenecks import DeterministicBottleneck
from aekit.nn.conv import build_conv, token_grid
from aekit.nn.corruption import GaussianNoise, Mask, SaltPepper
from aekit.nn.gaussian import GaussianBottleneck
from aekit.nn.losses import BCELoss, CategoricalLoss, MSELoss
from aekit.nn.mlp import build_linear, build_mlp, default_hidden
from aekit.nn.own import OwnDecoder, OwnEncoder
from aekit.nn.penalties import ContractivePenalty, KLSparsity, L1Penalty
from aekit.nn.sequence import build_conv1d, build_gru
from aekit.nn.vq import VQBottleneck
from aekit.registry.base import ArchitectureSpec, BottleneckSpec, Registry, Variant
from aekit.registry.factories import TrustCode, check_trusted, factory_kwargs, factory_module, resolve_factory, trusted

__all__ = [
    "ARCHITECTURES",
    "BOTTLENECKS",
    "CORRUPTIONS",
    "LOSSES",
    "PENALTIES",
    "VARIANTS",
    "ArchitectureSpec",
    "BottleneckSpec",
    "Registry",
    "TrustCode",
    "Variant",
    "build_networks",
    "check_components",
    "check_token_grid",
    "check_trusted",
    "default_model_options",
    "factory_kwargs",
    "factory_module",
    "grid_of",
    "own_networks",
    "resolve_factory",
    "trusted",
]


def _mlp_widths(config) -> str:
    hidden = config.hidden if config.hidden is not None else default_hidden(config.n_features, config.code_dim)
    return f"hidden widths {list(hidden)}, {config.activation}"


def _conv_channels(config) -> str:
    return f"channels {list(config.channels)}, {config.activation}"


def _conv_grid(config) -> tuple[int, int]:
    return token_grid(config.input_shape, config.channels)


ARCHITECTURES: Registry[ArchitectureSpec] = Registry("architecture")
ARCHITECTURES.add(
    "mlp",
    ArchitectureSpec(build_mlp, (1, 2, 3), can_tie=True, has_linear_path=True, describe=_mlp_widths),
    "fully connected; a PCA-initialised linear path beside the MLP by default",
)
ARCHITECTURES.add(
    "conv",
    ArchitectureSpec(build_conv, (3,), has_linear_path=True, token_grid=_conv_grid, describe=_conv_channels),
    "stride-2 convolutions for images of any size",
)
ARCHITECTURES.add(
    "linear",
    ArchitectureSpec(build_linear, (1, 2, 3), can_tie=True, linear=True),
    "one linear layer each way: spans the PCA subspace",
)
ARCHITECTURES.add(
    "conv1d",
    ArchitectureSpec(build_conv1d, (2,), has_linear_path=True, describe=_conv_channels),
    "sequences: stride-2 1-D convolutions, the code read from the mean and max over time; any length",
)
ARCHITECTURES.add(
    "gru",
    ArchitectureSpec(build_gru, (2,), describe=lambda c: f"GRU width {c.hidden[0] if c.hidden else 64}"),
    "sequences: a bidirectional GRU reads them, a GRU unrolls the code back over every step",
)

#: The sequence defaults (``arch='conv1d'`` without a linear path), chosen on GunPoint by
#: benchmarks/sequence_codes.py and reported on BasicMotions (BENCHMARKS.md).
SEQUENCE_DEFAULTS: dict[str, Any] = {"arch": "conv1d", "channels": (32, 64, 64), "linear_path": False}


def default_model_options(input_shape: tuple[int, ...], arch: str | None = None) -> dict[str, Any]:
    """Model options a sample shape implies when the user names no other architecture
    (``arch``): the sequence defaults for (length, channels) samples; nothing for tables
    and images (ModelConfig's defaults) or where another architecture was chosen.

    Examples
    --------
    >>> default_model_options((150, 1))["arch"], default_model_options((64,)), default_model_options((150, 1), "gru")
    ('conv1d', {}, {})
    """
    if len(input_shape) != 2 or arch not in (None, SEQUENCE_DEFAULTS["arch"]):
        return {}
    return dict(SEQUENCE_DEFAULTS)


def _gaussian(config) -> GaussianBottleneck:
    return GaussianBottleneck(
        config.code_dim, beta=config.beta, kl_warmup_epochs=config.kl_warmup_epochs, free_bits=config.free_bits
    )


def _vq(config) -> VQBottleneck:
    # Several small tokens per sample by default: one 32-wide token per image let a
    # K=512 codebook decay to 31 % use on Fashion-MNIST, eight 4-wide tokens kept 93 %.
    grid = config.token_grid  # conv: one token per cell of the last feature map
    if grid is not None:
        token_dim = config.code_dim // (grid[0] * grid[1])
    else:
        token_dim = config.token_dim or max(d for d in range(1, 5) if config.code_dim % d == 0)
    return VQBottleneck(
        config.code_dim,
        codebook_size=config.codebook_size,
        token_dim=token_dim,
        commitment=config.commitment,
        ema=config.vq_ema,
        decay=config.vq_decay,
        kmeans_init=config.kmeans_init,
        dead_code_reset=config.dead_code_reset,
    )


BOTTLENECKS: Registry[BottleneckSpec] = Registry("bottleneck")
BOTTLENECKS.add("deterministic", BottleneckSpec(DeterministicBottleneck), "the code is the encoder output")
BOTTLENECKS.add(
    "gaussian",
    BottleneckSpec(GaussianBottleneck, _gaussian),
    "VAE: mean and log-variance heads, reparameterised sample, KL to N(0, I)",
)
BOTTLENECKS.add(
    "vq",
    BottleneckSpec(VQBottleneck, _vq),
    "VQ-VAE: nearest of K codebook vectors per token, straight-through, EMA, dead-code reset",
)


# -- what a ModelConfig's components ask of each other ---------------------------------
#: How an error names the samples of each rank.
_RANK_NAMES = {
    1: "flat samples (features,)",
    2: "sequence samples (length, channels)",
    3: "image samples (channels, height, width)",
}


def _spell(names: list[str]) -> str:
    """``'a'``, ``'a' or 'b'``, ``'a', 'b' or 'c'``: names as an error lists the allowed ones."""
    quoted = [repr(n) for n in names] or ["(none registered)"]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def check_components(config) -> None:
    """Check the cross-option constraints of the components ``config`` (a ModelConfig) names.

    Each component states what it takes (an architecture's sample ranks, whether
    it can tie weights or lay tokens on a grid; a bottleneck's capabilities) and
    the error lists the registered names that would do. Unknown names fail with
    the known ones.
    """
    arch = ARCHITECTURES.get(config.arch)
    caps = BOTTLENECKS.get(config.bottleneck).capabilities
    shape = tuple(config.input_shape)
    own = own_networks(config)
    for side in ("encoder", "decoder"):
        if side in own:
            factory_module(own[side], side)  # the spelling only: nothing is imported here
        elif getattr(config, f"{side}_kwargs", None) is not None:
            raise ConfigError(f"{side}_kwargs needs {side}='package.module:function', the factory they are passed to")
    if own and config.tied:
        raise ConfigError(
            f"tied=True mirrors the built-in encoder's layers; it cannot tie your own "
            f"{' and '.join(own)} ({', '.join(own.values())})"
        )
    if len(own) == 2:
        return  # both networks are the user's: the architecture's constraints do not apply
    if config.tied and not arch.can_tie:
        tieable = [n for n in ARCHITECTURES if ARCHITECTURES.get(n).can_tie]
        raise ConfigError(
            f"tied=True needs arch={_spell(tieable)} (a decoder that mirrors linear layers), got arch={config.arch!r}"
        )
    if config.tied and not caps.passthrough:
        passthrough = [n for n in BOTTLENECKS if BOTTLENECKS.get(n).capabilities.passthrough]
        raise ConfigError(
            f"tied=True needs bottleneck={_spell(passthrough)} (the decoder mirrors the encoder's "
            f"layers), got bottleneck={config.bottleneck!r}"
        )
    if len(shape) not in arch.input_ranks:
        fits = [n for n in ARCHITECTURES if len(shape) in ARCHITECTURES.get(n).input_ranks]
        needs = " or ".join(_RANK_NAMES.get(r, f"rank-{r} samples") for r in arch.input_ranks)
        raise ConfigError(
            f"arch={config.arch!r} needs {needs}, got input_shape={shape!r}; use arch={_spell(fits)} for these samples"
        )
    check_token_grid(config)


def grid_of(config) -> tuple[int, int] | None:
    """(height, width) of the token grid where ``config``'s architecture lays out its
    bottleneck's tokens (a conv VQ-VAE); None where either does not, or a network is the user's own."""
    grid = ARCHITECTURES.get(config.arch).token_grid
    if grid is None or own_networks(config) or not BOTTLENECKS.get(config.bottleneck).capabilities.has_indices:
        return None
    return grid(config)


def check_token_grid(config) -> None:
    """A token grid's code is one token per cell: code_dim = cells * token_dim."""
    grid = grid_of(config)
    if grid is None:
        return
    h, w = grid
    cells = h * w
    where = f"with arch={config.arch!r} and bottleneck={config.bottleneck!r}"
    if config.code_dim % cells:
        raise ConfigError(
            f"code_dim={config.code_dim} {where}: the encoder's {h}x{w} feature map is a grid of {cells} tokens, "
            f"so code_dim must be a multiple of {cells} (token_dim = code_dim / {cells}), e.g. {4 * cells} for "
            "4-wide tokens; or change channels to change the grid"
        )
    if config.token_dim is not None and config.token_dim != config.code_dim // cells:
        raise ConfigError(
            f"token_dim={config.token_dim} {where} must be code_dim / cells = {config.code_dim} / "
            f"{cells} = {config.code_dim // cells} (or None)"
        )


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
LOSSES.add(
    "ce", _ce, "cross-entropy on one-hot categorical columns (ModelConfig.categorical), squared error on the rest"
)


VARIANTS: Registry[Variant] = Registry("variant")
VARIANTS.add("plain", Variant(), "deterministic code, reconstruction loss only")
VARIANTS.add(
    "denoising",
    Variant(model={"corruption": "gaussian", "corruption_level": 0.3}),
    "trained to reconstruct clean inputs from inputs with Gaussian noise (sigma 0.3)",
)
VARIANTS.add(
    "sparse",
    Variant(model={"penalty": "l1", "penalty_weight": 1e-3}),
    "an L1 penalty makes most code units near zero for any one input",
)
VARIANTS.add(
    "contractive",
    Variant(model={"penalty": "contractive", "penalty_weight": 1e-4}),
    "a Jacobian penalty makes the code insensitive to small input changes",
)
VARIANTS.add("tied", Variant(model={"tied": True}), "the decoder reuses the encoder's weights transposed")
VARIANTS.add(
    "linear",
    Variant(model={"arch": "linear", "linear_path": False}),
    "no nonlinearity: the learned subspace is PCA's",
)
VARIANTS.add(
    "vae",
    Variant(model={"bottleneck": "gaussian"}),
    "variational: a Gaussian code with a KL term to N(0, I); sample new data from the prior",
)
VARIANTS.add(
    "vq",
    Variant(model={"bottleneck": "vq"}),
    "vector-quantised: each token of the code becomes one of K codebook vectors (discrete tokens)",
)
VARIANTS.add(
    "beta_vae",
    Variant(model={"bottleneck": "gaussian", "beta": 4.0}),
    "a VAE with beta = 4: a stronger pull to the prior, more disentangled codes",
)


# -- the user's own networks in place of the architecture's --------------------------
def own_networks(config) -> dict[str, str]:
    """``{"encoder": path, "decoder": path}`` for the sides ``config`` builds from the user's factories."""
    return {side: getattr(config, side) for side in ("encoder", "decoder") if getattr(config, side, None)}


def build_networks(config, enc_out: int, trust_code: TrustCode = True) -> tuple[Any, Any]:
    """The encoder (emitting ``enc_out`` values) and decoder of ``config``: the architecture's,
    with either side replaced by the user's factory where ``config`` names one.

    A factory is called as ``factory(input_shape, code_dim, **kwargs)``; an encoder whose
    output width differs from ``enc_out`` gets a linear head (:class:`aekit.nn.own.OwnEncoder`).
    """
    own = own_networks(config)
    encoder = decoder = None
    if len(own) < 2:
        encoder, decoder = ARCHITECTURES.get(config.arch)(config, enc_out)
    for side, path in own.items():
        factory = resolve_factory(path, trust_code, side)
        kwargs = json.loads(getattr(config, f"{side}_kwargs") or "{}")
        try:
            net = factory(tuple(config.input_shape), config.code_dim, **kwargs)
        except Exception as exc:  # the user's code: any failure is named with its source
            raise ConfigError(
                f"{side}={path!r} failed when called as {path.split(':')[1]}(input_shape="
                f"{tuple(config.input_shape)}, code_dim={config.code_dim}, **{kwargs!r}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if side == "encoder":
            encoder = OwnEncoder(net, config.input_shape, enc_out, source=path)
        else:
            decoder = OwnDecoder(net, config.input_shape, config.code_dim, source=path)
    return encoder, decoder
