"""Frozen configuration dataclasses with a JSON round trip.

Every field carries a one-line reason in its ``metadata["doc"]``; ``describe()``
prints them, so a config can be read without running any class. Validation
happens in ``__post_init__`` with messages that name the bad value and the
allowed range.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from aekit.errors import ConfigError


def _f(default: Any, doc: str, *, choices: tuple[str, ...] | str | None = None, internal: bool = False) -> Any:
    """A dataclass field whose reason travels with it.

    ``choices``: the allowed values, or the name of the registry that lists them
    (``"ARCHITECTURES"``, ...: read when asked, so a component registered later shows up).
    ``internal``: set by the fit from the data, not an option a user gives.
    """
    if isinstance(default, (list, dict)):
        raise TypeError("mutable defaults are not allowed in frozen configs")
    return field(default=default, metadata={"doc": doc, "choices": choices, "internal": internal})


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name}={value!r} must be a positive integer")


def _positive_float(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}={value!r} must be a positive finite number")


def _int_tuple(name: str, values: Any) -> tuple[int, ...]:
    """``values`` as a tuple of ints, or a ConfigError naming ``name`` (a string is not a list of widths)."""
    try:
        if isinstance(values, (str, bytes)):
            raise TypeError
        return tuple(int(v) for v in values)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{name}={values!r} must be a list of positive integers, e.g. (256, 64)") from None


_SHAPES = "(features,), (length, channels) or (channels, height, width)"


def _choice(name: str, value: Any, allowed: tuple[str, ...] | list[str]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of: {', '.join(map(str, allowed))}")


@dataclass(frozen=True)
class ModelConfig:
    """What the network is: shapes, architecture and components by registry name."""

    input_shape: tuple[int, ...] = _f(
        (784,),
        "shape of one sample: (features,) for tables, (length, channels) for sequences, (channels, height, width) "
        "for images",
        internal=True,
    )
    code_dim: int = _f(32, "width of the bottleneck code z")
    variant: str = _f(
        "plain",
        "named preset of components (aekit.registry.VARIANTS); explicit options override it",
        choices="VARIANTS",
    )
    arch: str = _f(
        "mlp", "encoder/decoder architecture, a name in aekit.registry.ARCHITECTURES", choices="ARCHITECTURES"
    )
    hidden: tuple[int, ...] | None = _f(
        None, "MLP hidden widths of the encoder (decoder mirrors them); None derives them from the input size"
    )
    channels: tuple[int, ...] = _f((32, 64), "conv channels per stride-2 stage of the encoder (decoder mirrors them)")
    activation: str = _f(
        "gelu", "nonlinearity between hidden layers, a name in aekit.nn.ACTIVATIONS", choices="ACTIVATIONS"
    )
    linear_path: bool = _f(
        True, "mlp and conv: a linear encoder/decoder path beside the nonlinear one, so the model contains PCA"
    )
    pca_init: bool = _f(
        True,
        "warm-start the linear path from the closed-form PCA solution (mse loss only): training starts at PCA's error",
    )
    bottleneck: str = _f(
        "deterministic",
        "how the encoder output becomes the code z, a name in aekit.registry.BOTTLENECKS",
        choices="BOTTLENECKS",
    )
    loss: str = _f(
        "mse",
        "reconstruction loss, a name in aekit.registry.LOSSES; bce makes the decoder output probabilities",
        choices="LOSSES",
    )
    categorical: tuple[tuple[int, int], ...] | None = _f(
        None,
        "loss='ce' only: (start, size) of each one-hot categorical column among the features; the rest are numeric",
    )
    missing: bool = _f(
        False,
        "tables only: NaN marks a missing cell: the encoder sees 0 (the scaled mean) and the loss and reconstruction "
        "error skip it",
        internal=True,
    )
    binarize: bool = _f(
        False,
        "loss='bce' only: train on Bernoulli draws of each value, redrawn every batch (dynamic binarisation of grey "
        "images)",
    )
    output_range: tuple[float, float] | None = _f(
        None, "decoded values are clipped to this range outside training, e.g. (0, 1) for images", internal=True
    )
    tied: bool = _f(False, "mlp/linear only: the decoder reuses the encoder's weights transposed (half the weights)")
    corruption: str | None = _f(
        None,
        "denoising: corrupt the training input (target stays clean), a name in aekit.registry.CORRUPTIONS",
        choices="CORRUPTIONS",
    )
    corruption_level: float = _f(0.0, "noise sigma for gaussian, drop probability for mask and salt_pepper")
    penalty: str | None = _f(
        None,
        "a penalty on the code, a name in aekit.registry.PENALTIES (l1, kl_sparsity, contractive)",
        choices="PENALTIES",
    )
    penalty_weight: float = _f(0.0, "lambda: the penalty's weight in the loss")
    sparsity_target: float = _f(0.05, "kl_sparsity only: target mean activation rho of sigmoid(code)")
    beta: float = _f(1.0, "gaussian bottleneck: weight of the KL term (beta-VAE for beta > 1)")
    kl_warmup_epochs: int = _f(0, "gaussian bottleneck: epochs over which the KL weight rises linearly to beta")
    free_bits: float = _f(0.0, "gaussian bottleneck: nats per latent dimension the KL may use for free")
    codebook_size: int = _f(512, "vq bottleneck: number of codebook vectors K")
    token_dim: int | None = _f(
        None,
        "vq bottleneck: size of one token; the code is code_dim // token_dim tokens (None: the largest divisor of "
        "code_dim up to 4; with arch='conv', code_dim / grid cells)",
    )
    commitment: float = _f(0.25, "vq bottleneck: weight of the commitment loss pulling encoder outputs to their codes")
    vq_ema: bool = _f(
        True, "vq bottleneck: update the codebook by exponential moving averages instead of a codebook loss"
    )
    vq_decay: float = _f(0.99, "vq bottleneck: EMA decay of the codebook statistics")
    kmeans_init: bool = _f(True, "vq bottleneck: initialise the codebook by k-means on the first training batch")
    dead_code_reset: bool = _f(True, "vq bottleneck: move codes unused for a while onto recent encoder outputs")
    encoder: str | None = _f(
        None,
        "your own encoder, 'package.module:function' called as f(input_shape, code_dim, **encoder_kwargs) -> "
        "nn.Module mapping (batch, *input_shape) to (batch, width); a linear head fits width to the bottleneck; "
        "loading imports it only with trust_code",
    )
    decoder: str | None = _f(
        None,
        "your own decoder, 'package.module:function' called as f(input_shape, code_dim, **decoder_kwargs) -> "
        "nn.Module mapping (batch, code_dim) to (batch, *input_shape), raw outputs (logits for loss='bce'); loading "
        "imports it only with trust_code",
    )
    encoder_kwargs: str | None = _f(
        None, "keyword arguments of the encoder factory: a JSON object (a dict is kept as its JSON text)"
    )
    decoder_kwargs: str | None = _f(
        None, "keyword arguments of the decoder factory: a JSON object (a dict is kept as its JSON text)"
    )

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.input_shape)
        object.__setattr__(self, "input_shape", shape)
        if len(shape) not in (1, 2, 3) or any(s <= 0 for s in shape):
            raise ConfigError(f"input_shape={shape!r} must be {_SHAPES} with positive sizes")
        _positive_int("code_dim", self.code_dim)
        if self.hidden is not None:
            object.__setattr__(self, "hidden", _int_tuple("hidden", self.hidden))
            for h in self.hidden:
                _positive_int("hidden width", h)
        object.__setattr__(self, "channels", _int_tuple("channels", self.channels))
        if not self.channels:
            raise ConfigError("channels=() must name at least one conv stage")
        for c in self.channels:
            _positive_int("channels", c)
        if self.output_range is not None:
            lo, hi = (float(v) for v in self.output_range)
            if not lo < hi:
                raise ConfigError(f"output_range={self.output_range!r} must be (low, high) with low < high")
            object.__setattr__(self, "output_range", (lo, hi))
        if self.corruption is None and self.corruption_level:
            raise ConfigError(
                f"corruption_level={self.corruption_level!r} needs a corruption (gaussian, mask or salt_pepper)"
            )
        if self.penalty is None and self.penalty_weight:
            raise ConfigError(
                f"penalty_weight={self.penalty_weight!r} needs a penalty (l1, kl_sparsity or contractive)"
            )
        # The architecture and bottleneck state what they take (sample ranks, tied weights,
        # token grids, capabilities); the registry checks this config against them.
        from aekit.registry import check_components, factory_kwargs  # lazy: config stays importable without torch

        for name in ("encoder_kwargs", "decoder_kwargs"):  # canonical JSON text: hashable, round-trips as it is
            object.__setattr__(self, name, factory_kwargs(name, getattr(self, name)))
        check_components(self)
        self._check_categorical()
        if self.missing and len(shape) != 1:
            raise ConfigError(
                f"missing=True (masked missing cells) needs flat table samples (features,), got input_shape={shape!r}"
            )
        if self.binarize and self.loss != "bce":
            raise ConfigError(
                f"binarize=True draws binary targets for a Bernoulli likelihood: it needs loss='bce', "
                f"got loss={self.loss!r}"
            )

    def _check_categorical(self) -> None:
        """One-hot groups: only with loss='ce', inside a flat sample, disjoint, 2+ wide."""
        if self.categorical is None:
            if self.loss == "ce":
                raise ConfigError("loss='ce' needs categorical=[(start, size), ...]: the one-hot columns it scores")
            return
        try:
            groups = tuple((int(start), int(size)) for start, size in self.categorical)
        except (TypeError, ValueError):
            raise ConfigError(f"categorical={self.categorical!r} must be a list of (start, size) pairs") from None
        object.__setattr__(self, "categorical", groups)
        if self.loss != "ce":
            raise ConfigError(
                f"categorical groups need loss='ce' (cross-entropy on one-hot columns), got loss={self.loss!r}"
            )
        if len(self.input_shape) != 1:
            raise ConfigError(
                f"categorical groups need flat table samples (features,), got input_shape={self.input_shape!r}"
            )
        if not groups:
            raise ConfigError("categorical=() names no group; loss='ce' needs at least one")
        end = 0
        for start, size in sorted(groups):
            if size < 2 or start < end or start + size > self.input_shape[0]:
                raise ConfigError(
                    f"categorical group (start={start}, size={size}) must have size >= 2, lie within the "
                    f"{self.input_shape[0]} features and not overlap another group"
                )
            end = start + size

    def _check_token_grid(self) -> None:
        """A conv VQ-VAE's code is a grid of tokens: code_dim = cells * token_dim (checked by the registry)."""
        from aekit.registry import check_token_grid

        check_token_grid(self)

    @property
    def token_grid(self) -> tuple[int, int] | None:
        """(height, width) of the grid the architecture lays the bottleneck's tokens on (a conv
        VQ-VAE's last feature map); None for other models."""
        from aekit.registry import grid_of

        return grid_of(self)

    @property
    def n_features(self) -> int:
        return math.prod(self.input_shape)


@dataclass(frozen=True)
class TrainConfig:
    """How the network is trained. The trainer reads nothing else."""

    epochs: int | None = _f(None, "passes over the training data; None: as many as the step budget takes")
    steps: int | None = _f(
        None, "the step budget when epochs is None; None: 4000 (aekit.train.budget, chosen on digits and shapes12)"
    )
    batch_size: int | None = _f(
        None, "samples per optimiser step; None: the power of two nearest rows / 40, within [32, 512]"
    )
    lr: float = _f(2e-3, "peak learning rate")
    optimizer: str = _f("adamw", "adam or adamw", choices=("adam", "adamw"))
    weight_decay: float = _f(0.0, "decoupled weight decay (adamw) or L2 (adam)")
    schedule: str = _f(
        "onecycle",
        "learning-rate schedule over all steps: onecycle, cosine or constant",
        choices=("onecycle", "cosine", "constant"),
    )
    warmup: float = _f(0.3, "share of the steps the onecycle schedule spends rising to lr")
    val_fraction: float = _f(
        0.1, "share of the training data held out for validation and early stopping (0 disables both)"
    )
    patience: int | str | None = _f(
        "auto",
        "epochs without validation improvement before stopping; auto: a tenth of the epochs, at least 10; "
        "None trains every epoch",
    )
    seed: int = _f(0, "seeds initialisation, the validation split and the shuffle order")
    device: str = _f("auto", "auto (cuda, then mps, then cpu), or an explicit torch device string")
    precision: str = _f(
        "auto",
        "auto (bfloat16 autocast where the hardware runs it fast), bf16 or fp32",
        choices=("auto", "bf16", "fp32"),
    )

    def __post_init__(self) -> None:
        for name in ("epochs", "steps", "batch_size"):
            if getattr(self, name) is not None:
                _positive_int(name, getattr(self, name))
        _positive_float("lr", self.lr)
        _choice("optimizer", self.optimizer, ("adam", "adamw"))
        if not (isinstance(self.weight_decay, (int, float)) and 0 <= self.weight_decay < math.inf):
            raise ConfigError(f"weight_decay={self.weight_decay!r} must be a finite number >= 0")
        _choice("schedule", self.schedule, ("onecycle", "cosine", "constant"))
        if not (0 <= self.warmup < 1):
            raise ConfigError(f"warmup={self.warmup!r} must be in [0, 1)")
        if not (isinstance(self.val_fraction, (int, float)) and 0 <= self.val_fraction < 1):
            raise ConfigError(f"val_fraction={self.val_fraction!r} must be in [0, 1)")
        if self.patience is not None and self.patience != "auto":
            _positive_int("patience", self.patience)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63 - 3:
            raise ConfigError(f"seed={self.seed!r} must be an integer from 0 to 2**63 - 4")
        _choice("precision", self.precision, ("auto", "bf16", "fp32"))
        if not isinstance(self.device, str) or not self.device:
            raise ConfigError(
                f"device={self.device!r} must be 'auto' or a torch device string such as 'cpu' or 'cuda:0'"
            )


SCALINGS = ("auto", "none", "minmax", "standard", "robust")
KINDS = ("auto", "image", "table", "sequence")


@dataclass(frozen=True)
class DataConfig:
    """How the rows are read before the network sees them (the fit's *decide* step)."""

    kind: str = _f(
        "auto",
        "what a sample is; auto decides from the shape and values (flat rows of intensities with a square "
        "width are images; (n, length, channels) arrays that are not grey images, and .ts files, are sequences); "
        "table keeps flat rows flat and scaled per column; sequence reads (n, length, channels), or (n, length) "
        "as one channel, scaled per channel",
        choices=KINDS,
    )
    scaling: str = _f(
        "auto",
        "auto: intensities (values in [0, 1], or integers in [0, 255]) share one range, other tables are "
        "standardised per column; minmax maps one shared range onto [0, 1]; robust scales each column by "
        "median and IQR; none leaves values as they are",
        choices=SCALINGS,
    )
    input_shape: tuple[int, ...] | None = _f(
        None,
        "shape of one sample, e.g. (1, 28, 28) to treat flat rows as images, (150, 1) as sequences; None keeps the "
        "data's own shape",
    )

    def __post_init__(self) -> None:
        _choice("scaling", self.scaling, SCALINGS)
        _choice("kind", self.kind, KINDS)
        if self.input_shape is not None:
            shape = _int_tuple("input_shape", self.input_shape)
            if len(shape) not in (1, 2, 3) or any(v <= 0 for v in shape):
                raise ConfigError(f"input_shape={self.input_shape!r} must be {_SHAPES} with positive sizes")
            object.__setattr__(self, "input_shape", shape)


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (tuples become lists)."""
    out = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Build ``cls`` from a dict, rejecting unknown keys by name.

    Examples
    --------
    >>> cfg = from_dict(ModelConfig, {"input_shape": [1, 8, 8], "code_dim": 4})
    >>> cfg.input_shape, cfg.code_dim
    ((1, 8, 8), 4)
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} option(s) {unknown}; allowed: {sorted(names)}")
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()}
    return cls(**kwargs)


def describe(cls: type) -> str:
    """One line per field: name, default and the reason it exists."""
    lines = []
    for f in dataclasses.fields(cls):
        lines.append(f"{f.name} = {f.default!r}: {f.metadata.get('doc', '')}")
    return "\n".join(lines)
