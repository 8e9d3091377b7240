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
from aekit.nn.losses import BCELoss, MSELoss
from aekit.nn.mlp import build_linear, build_mlp

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

#: ``cls(code_dim)`` with ``in_features``, ``forward(h) -> Code`` and ``terms(code)``
BOTTLENECKS: Registry[Callable[..., Any]] = Registry("bottleneck")
BOTTLENECKS.add("deterministic", DeterministicBottleneck, "the code is the encoder output")

#: ``cls()`` with ``forward(raw, x) -> per-sample loss`` and ``to_data(raw)``
LOSSES: Registry[Callable[..., Any]] = Registry("loss")
LOSSES.add("mse", MSELoss, "squared error; real-valued outputs")
LOSSES.add("bce", BCELoss, "Bernoulli likelihood; outputs are probabilities in [0, 1]")


@dataclass(frozen=True)
class Variant:
    """A named preset: ModelConfig (and TrainConfig) overrides."""

    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)


VARIANTS: Registry[Variant] = Registry("variant")
VARIANTS.add("plain", Variant(), "deterministic code, reconstruction loss only")
VARIANTS.add("linear", Variant(model={"arch": "linear", "pca_init": False, "linear_path": False}),
             "no nonlinearity: the learned subspace is PCA's")
