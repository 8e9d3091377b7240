"""The user's own encoder and decoder, checked once and fitted to the bottleneck.

A factory (``aekit.registry.resolve_factory``) returns any ``nn.Module``. The
encoder's output feeds the bottleneck, which wants ``in_features`` values (the
code width for a plain or VQ code, twice it for the Gaussian's mean and
log-variance heads); where the encoder's width differs, a linear head maps one to
the other, so one encoder serves every bottleneck. Both networks are probed once
with a dummy batch of two, so a wrong shape is named when the model is built, not
deep inside the first training step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from aekit.errors import ConfigError


def _probe(net: nn.Module, shape: tuple[int, ...], side: str, source: str) -> tuple[int, ...]:
    """The output shape of ``net`` on zeros of ``shape``, in eval mode and without gradients.

    Eval mode keeps the probe out of batch-norm statistics; on the meta device
    (loading checks shapes first) the zeros are meta tensors and nothing is computed.
    """
    if not isinstance(net, nn.Module):
        raise ConfigError(f"{side}={source!r} must return a torch.nn.Module, got {type(net).__name__}")
    was_training = net.training
    try:
        net.eval()
        with torch.no_grad():
            out = net(torch.zeros(shape))
    except Exception as exc:  # the user's code: name it and the batch it was given
        raise ConfigError(f"{side}={source!r} fails on a batch of shape {shape}: {type(exc).__name__}: {exc}") from exc
    finally:
        net.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise ConfigError(f"{side}={source!r} must return a tensor, got {type(out).__name__}")
    return tuple(out.shape)


class OwnEncoder(nn.Module):
    """The user's encoder ``net`` (batch, *input_shape) -> (batch, width), plus a linear head
    to ``out_features`` where ``width`` differs.

    Examples
    --------
    >>> enc = OwnEncoder(nn.Sequential(nn.Flatten(), nn.Linear(6, 5)), (6,), 4, source="demo")
    >>> enc.width, enc.head
    (5, Linear(in_features=5, out_features=4, bias=True))
    >>> tuple(enc(torch.zeros(3, 6)).shape)
    (3, 4)
    """

    def __init__(self, net: nn.Module, input_shape: Sequence[int], out_features: int, source: str):
        super().__init__()
        shape = _probe(net, (2, *input_shape), "encoder", source)
        if len(shape) != 2 or shape[0] != 2:
            raise ConfigError(
                f"encoder={source!r} must map (batch, *input_shape) to (batch, width); on a batch "
                f"of shape {(2, *input_shape)} it returned {shape}"
            )
        self.net = net
        self.width = shape[1]
        # Only where needed: an encoder already as wide as the bottleneck's input is used as it is.
        self.head = nn.Linear(self.width, out_features) if self.width != out_features else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h: torch.Tensor = self.net(x)  # (batch, width); a tensor, as _probe checked at build time
        return h if self.head is None else self.head(h)  # (batch, out_features)


class OwnDecoder(nn.Module):
    """The user's decoder ``net`` (batch, code_dim) -> (batch, *output_shape), raw outputs
    (logits where the loss is ``bce``); a flat (batch, n_features) output is reshaped.

    Examples
    --------
    >>> dec = OwnDecoder(nn.Linear(2, 16), (1, 4, 4), 2, source="demo")
    >>> tuple(dec(torch.zeros(3, 2)).shape)
    (3, 1, 4, 4)
    """

    def __init__(self, net: nn.Module, output_shape: Sequence[int], code_dim: int, source: str):
        super().__init__()
        self.output_shape = tuple(output_shape)
        shape = _probe(net, (2, code_dim), "decoder", source)
        if shape not in ((2, *self.output_shape), (2, math.prod(self.output_shape))):
            raise ConfigError(
                f"decoder={source!r} must map (batch, code_dim) to (batch, *input_shape) = "
                f"(batch, {', '.join(map(str, self.output_shape))}); on a batch of shape "
                f"{(2, code_dim)} it returned {shape}"
            )
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(z)  # a tensor, as _probe checked at build time
        return out.reshape(len(z), *self.output_shape)  # (batch, *output_shape)
