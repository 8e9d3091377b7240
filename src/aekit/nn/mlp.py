"""Fully connected encoder and decoder, optionally with a linear path beside them.

With ``linear_path=True`` each side is ``linear(x) + mlp(x)``, the MLP's last layer
starting at zero. Initialising the linear path from PCA (``init_linear``) makes the
untrained model *be* PCA, so training can only improve on the closed-form linear
baseline; the nonlinear branch then learns the residual. This is the lever that
lets the default model beat PCA within a minute of CPU time (see BENCHMARKS.md).
With ``linear_path=False`` this is the textbook MLP autoencoder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from aekit.nn import activation

if TYPE_CHECKING:
    from aekit.config import ModelConfig


def default_hidden(n_features: int, code_dim: int) -> tuple[int, ...]:
    """Hidden widths derived from the input size, used when ``hidden=None``.

    Two layers that shrink from about the input width towards the code, capped at
    512 so a 28x28 image gets (512, 256) and an 8x8 image (64, 32).

    Examples
    --------
    >>> default_hidden(784, 32), default_hidden(64, 8), default_hidden(3, 2)
    ((512, 256), (64, 32), (16, 16))
    """
    first = min(512, max(16, 2 ** math.ceil(math.log2(max(n_features, 1)))))
    second = min(first, max(16, first // 2, 2 * code_dim))
    return (first, second)


def _stack(widths: Sequence[int], act: str) -> nn.Sequential:
    """Linear layers through ``widths`` with ``act`` between them (not after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(activation(act))
    return nn.Sequential(*layers)


class _LinearPlusMLP(nn.Module):
    """``linear(x) + mlp(x)`` on flat inputs; the shared body of both sides."""

    def __init__(self, n_in: int, hidden: Sequence[int], n_out: int, act: str, linear_path: bool):
        super().__init__()
        self.mlp = _stack([n_in, *hidden, n_out], act)
        self.linear = nn.Linear(n_in, n_out) if linear_path else None
        if linear_path:
            # The residual starts at zero so the model starts as its linear path.
            last = self.mlp[-1]
            assert isinstance(last, nn.Linear), "_stack always ends with a linear layer"
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.mlp(x)
        if self.linear is not None:
            out = out + self.linear(x)
        return out

    @torch.no_grad()
    def init_linear(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        """Set the linear map, e.g. from PCA; ``weight`` (n_out, n_in), ``bias`` (n_out,).

        The linear path where there is one; else a network with no hidden layer is one
        linear map itself (``arch='linear'``), and that layer is set.
        """
        layer = self.linear if self.linear is not None else _only_layer(self.mlp)
        if layer is None:
            raise ValueError("this network has no linear path (linear_path=False) and is not linear")
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)


def _only_layer(stack: nn.Sequential) -> nn.Linear | None:
    """The one layer of a stack with no hidden layer (a linear map), else None."""
    if len(stack) == 1 and isinstance(stack[0], nn.Linear):
        return stack[0]
    return None


class MLPEncoder(_LinearPlusMLP):
    """Flattens a sample and maps it to the bottleneck's input.

    Examples
    --------
    >>> enc = MLPEncoder((1, 8, 8), out_features=4, hidden=(32,))
    >>> tuple(enc(torch.zeros(5, 1, 8, 8)).shape)
    (5, 4)
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        out_features: int,
        hidden: Sequence[int] = (256,),
        act: str = "gelu",
        linear_path: bool = True,
    ):
        self.input_shape = tuple(input_shape)
        super().__init__(math.prod(self.input_shape), hidden, out_features, act, linear_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.flatten(1))  # (batch, n_features) -> (batch, out_features)


class MLPDecoder(_LinearPlusMLP):
    """Maps a code back to a raw sample of ``output_shape``.

    Examples
    --------
    >>> dec = MLPDecoder(code_dim=4, output_shape=(1, 8, 8), hidden=(32,))
    >>> tuple(dec(torch.zeros(5, 4)).shape)
    (5, 1, 8, 8)
    """

    def __init__(
        self,
        code_dim: int,
        output_shape: Sequence[int],
        hidden: Sequence[int] = (256,),
        act: str = "gelu",
        linear_path: bool = True,
    ):
        self.output_shape = tuple(output_shape)
        super().__init__(code_dim, hidden, math.prod(self.output_shape), act, linear_path)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return super().forward(z).reshape(z.shape[0], *self.output_shape)


class TiedMLPDecoder(nn.Module):
    """A decoder that reuses its encoder's weight matrices, transposed, in reverse
    order (tied weights); it owns only its biases, so the pair has about half the
    weights of an untied one.

    Its biases start at zero: with the encoder's zero-initialised last layer, the
    nonlinear branch then outputs exactly zero at the start (every activation in
    aekit maps 0 to 0), so a PCA-initialised tied model also starts as PCA.

    Examples
    --------
    >>> enc = MLPEncoder((6,), out_features=2, hidden=(4,))
    >>> dec = TiedMLPDecoder(enc, output_shape=(6,))
    >>> tuple(dec(torch.zeros(3, 2)).shape), sum(p.numel() for p in dec.parameters())
    ((3, 6), 16)
    """

    def __init__(self, encoder: MLPEncoder, output_shape: Sequence[int], act: str = "gelu"):
        super().__init__()
        self.output_shape = tuple(output_shape)
        # Kept in a list, not as a submodule: the encoder owns (and saves) these weights.
        self._encoder = [encoder]
        layers = [m for m in encoder.mlp if isinstance(m, nn.Linear)]
        self.biases = nn.ParameterList([nn.Parameter(torch.zeros(layer.in_features)) for layer in reversed(layers)])
        self.act = activation(act)
        if encoder.linear is not None:
            self.linear_bias = nn.Parameter(torch.zeros(encoder.linear.in_features))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        encoder = self._encoder[0]
        layers = [m for m in encoder.mlp if isinstance(m, nn.Linear)][::-1]
        h = z
        for i, (layer, bias) in enumerate(zip(layers, self.biases)):
            h = torch.nn.functional.linear(h, layer.weight.t(), bias)
            if i < len(layers) - 1:
                h = self.act(h)
        if encoder.linear is not None:
            h = h + torch.nn.functional.linear(z, encoder.linear.weight.t(), self.linear_bias)
        return h.reshape(z.shape[0], *self.output_shape)

    @torch.no_grad()
    def init_linear(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        """Only the bias is the decoder's own; the weight is the encoder's, transposed
        (its linear path's, or its one layer's where the encoder is a linear map)."""
        encoder = self._encoder[0]
        linear = encoder.linear if encoder.linear is not None else _only_layer(encoder.mlp)
        if linear is None:
            raise ValueError("this network has no linear path (linear_path=False) and is not linear")
        if not torch.allclose(weight, linear.weight.t()):
            raise ValueError("a tied decoder's linear weight must be the encoder's transposed")
        (self.linear_bias if encoder.linear is not None else self.biases[0]).copy_(bias)


def build_mlp(config: ModelConfig, enc_out: int) -> tuple[nn.Module, nn.Module]:
    """Encoder and decoder for ``arch='mlp'`` from a :class:`~aekit.config.ModelConfig`."""
    hidden = config.hidden if config.hidden is not None else default_hidden(config.n_features, config.code_dim)
    encoder = MLPEncoder(config.input_shape, enc_out, hidden, config.activation, config.linear_path)
    if config.tied:
        return encoder, TiedMLPDecoder(encoder, config.input_shape, config.activation)
    decoder = MLPDecoder(
        config.code_dim, config.input_shape, tuple(reversed(hidden)), config.activation, config.linear_path
    )
    return encoder, decoder


def build_linear(config: ModelConfig, enc_out: int) -> tuple[nn.Module, nn.Module]:
    """Encoder and decoder with no hidden layer and no nonlinearity (``arch='linear'``)."""
    encoder = MLPEncoder(config.input_shape, enc_out, (), config.activation, linear_path=False)
    if config.tied:
        return encoder, TiedMLPDecoder(encoder, config.input_shape, config.activation)
    decoder = MLPDecoder(config.code_dim, config.input_shape, (), config.activation, linear_path=False)
    return encoder, decoder
