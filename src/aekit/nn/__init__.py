"""Pure ``torch.nn`` building blocks: no training, no I/O, no CLI."""

from __future__ import annotations

from torch import nn

from aekit.errors import ConfigError

#: Nonlinearities by name; the config stores the name.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
}


def activation(name: str) -> nn.Module:
    """A fresh activation module by name, e.g. ``activation("gelu")``."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ConfigError(f"activation={name!r} is not one of: {', '.join(ACTIVATIONS)}") from None
