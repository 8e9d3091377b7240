"""The registry's machinery: a named table, and the specs that say what an
architecture or a bottleneck takes and can do before anything is built."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aekit.errors import ConfigError
from aekit.nn.bottlenecks import Capabilities

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

    def remove(self, name: str) -> None:
        """Unregister ``name`` (a ConfigError listing the known names if it is not registered)."""
        self.get(name)
        del self._items[name], self._docs[name]

    @contextmanager
    def added(self, name: str, item: T, doc: str) -> Iterator[T]:
        """Register ``name`` for the duration of a ``with`` block (tests, experiments).

        Examples
        --------
        >>> r = Registry("colour")
        >>> with r.added("blue", 2, "the colour of the sky"):
        ...     r.names()
        ['blue']
        >>> r.names()
        []
        """
        self.add(name, item, doc)
        try:
            yield item
        finally:
            self.remove(name)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)


@dataclass(frozen=True)
class ArchitectureSpec:
    """An encoder/decoder architecture: how to build it, and what it takes and can do.

    Config validation asks these before any network is built.
    """

    #: ``build(model_config, enc_out) -> (encoder, decoder)``; the encoder emits ``enc_out`` values.
    build: Callable[..., Any]
    #: ranks of one sample it takes: 1 is (features,), 3 is (channels, height, width).
    input_ranks: tuple[int, ...]
    #: ``tied=True`` works: the decoder can reuse the encoder's linear weights transposed.
    can_tie: bool = False
    #: ``linear_path=True`` adds a linear path with ``init_linear``, so PCA can warm-start it.
    has_linear_path: bool = False
    #: the whole network is one linear map each way (no hidden layer, no nonlinearity), with
    #: ``init_linear``: PCA initialises all of it, and PCA's solution is its optimum for MSE.
    linear: bool = False
    #: ``grid(model_config) -> (height, width)``: where a token bottleneck's tokens lie (one per cell).
    token_grid: Callable[..., tuple[int, int]] | None = None
    #: ``describe(model_config) -> str``: the widths a model card shows beside the name.
    describe: Callable[..., str] | None = None

    def __call__(self, config, enc_out: int) -> tuple[Any, Any]:
        return self.build(config, enc_out)


@dataclass(frozen=True)
class BottleneckSpec:
    """A bottleneck: its class (whose ``capabilities`` are read without building) and its builder."""

    #: an ``nn.Module`` class with ``in_features``, ``forward(h) -> Code``, ``terms(code)`` and ``capabilities``.
    cls: type
    #: ``build(model_config) -> module``; None builds ``cls(model_config.code_dim)``.
    build: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(getattr(self.cls, "capabilities", None), Capabilities):
            raise TypeError(f"{self.cls.__name__} must declare a class attribute capabilities = Capabilities(...)")

    @property
    def capabilities(self) -> Capabilities:
        return self.cls.capabilities

    def __call__(self, config) -> Any:
        return self.cls(config.code_dim) if self.build is None else self.build(config)


@dataclass(frozen=True)
class Variant:
    """A named preset: ModelConfig (and TrainConfig) overrides."""

    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
