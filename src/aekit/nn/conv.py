"""Convolutional encoder and decoder for images of any size.

Each encoder stage is a stride-2 3x3 convolution, so a side of length ``h``
becomes ``ceil(h / 2)``; the decoder records those sizes and undoes each stage
with a transposed convolution whose ``output_padding`` restores the exact size,
so 8x8, 12x12, 28x28 and 32x32 (any channels) all round-trip without cropping.
Stages stop early rather than shrink a side below 2 pixels.

With ``linear_path=True`` (the default, as for the MLP) each side also has a
linear map on the flat image, and the convolutional branch's last layer starts at
zero: initialised from PCA, the untrained model reconstructs exactly as PCA does
and training adds what convolutions find beyond it.

With ``token_dim`` set (the VQ-VAE, van den Oord et al. 2017, sec. 4.2) the code
keeps its spatial layout: a 1x1 convolution turns the last feature map into
``token_dim`` channels, and each grid cell becomes one token, so a 28x28 image with
two stages becomes a 7x7 grid of tokens. The flat code is cell-major,
``(batch, grid_h, grid_w, token_dim)`` flattened, so token ``i`` is cell
``divmod(i, grid_w)``; the decoder reads the grid back with a 1x1 convolution.
Changing one token then changes only the pixels its cell's transposed
convolutions reach. A grid code has no linear path (a flat linear map would
ignore the layout).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from aekit.errors import ConfigError
from aekit.nn import activation

if TYPE_CHECKING:
    from aekit.config import ModelConfig


def _stage_sizes(height: int, width: int, n_stages: int) -> list[tuple[int, int]]:
    """Spatial sizes before each stage and after the last, e.g. 28 -> 14 -> 7."""
    sizes = [(height, width)]
    for _ in range(n_stages):
        h, w = sizes[-1]
        if min(h, w) < 4:  # another stage would leave a side of 1 pixel
            break
        sizes.append((math.ceil(h / 2), math.ceil(w / 2)))
    return sizes


def token_grid(input_shape: Sequence[int], channels: Sequence[int]) -> tuple[int, int]:
    """(height, width) of the encoder's last feature map: the token grid of a conv VQ-VAE.

    Examples
    --------
    >>> token_grid((1, 28, 28), (32, 64)), token_grid((1, 12, 12), (8, 16)), token_grid((3, 8, 8), (8, 16, 32))
    ((7, 7), (3, 3), (2, 2))
    """
    _, height, width = input_shape
    return _stage_sizes(height, width, len(channels))[-1]


class ConvEncoder(nn.Module):
    """Stride-2 convolutions then a linear map to the bottleneck's input.

    With ``token_dim`` the head is a 1x1 convolution to ``token_dim`` channels and
    the output is the cell-major flattened grid, ``out_features = grid_h * grid_w *
    token_dim`` (no linear path).

    Examples
    --------
    >>> enc = ConvEncoder((1, 12, 12), out_features=2, channels=(8, 16))
    >>> tuple(enc(torch.zeros(3, 1, 12, 12)).shape)
    (3, 2)
    >>> grid = ConvEncoder((1, 12, 12), out_features=18, channels=(8, 16), token_dim=2)  # 3x3 cells
    >>> tuple(grid(torch.zeros(3, 1, 12, 12)).shape)
    (3, 18)
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        out_features: int,
        channels: Sequence[int] = (32, 64),
        act: str = "gelu",
        linear_path: bool = False,
        token_dim: int | None = None,
    ):
        super().__init__()
        c_in, height, width = input_shape
        self.sizes = _stage_sizes(height, width, len(channels))
        self.channels = [c_in, *channels[: len(self.sizes) - 1]]
        layers: list[nn.Module] = []
        for a, b in zip(self.channels[:-1], self.channels[1:]):
            layers += [nn.Conv2d(a, b, kernel_size=3, stride=2, padding=1), activation(act)]
        self.features = nn.Sequential(*layers)
        h, w = self.sizes[-1]
        self.flat = self.channels[-1] * h * w
        self.token_dim = token_dim
        self.head: nn.Conv2d | nn.Linear
        self.linear: nn.Linear | None
        if token_dim is not None:
            _check_grid(out_features, token_dim, (h, w))
            self.head = nn.Conv2d(self.channels[-1], token_dim, kernel_size=1)
            self.linear = None
            return
        self.head = nn.Linear(self.flat, out_features)
        self.linear = _linear_path(self.head, math.prod(input_shape), out_features) if linear_path else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.token_dim is not None:
            grid: torch.Tensor = self.head(self.features(x))  # (batch, token_dim, H, W)
            return grid.permute(0, 2, 3, 1).flatten(1)  # (batch, H * W * token_dim), cell-major
        feats: torch.Tensor = self.features(x)  # (batch, C, H, W)
        out: torch.Tensor = self.head(feats.flatten(1))  # (batch, out_features)
        if self.linear is not None:
            out = out + self.linear(x.flatten(1))
        return out

    @torch.no_grad()
    def init_linear(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        """Set the linear path, e.g. from PCA; ``weight`` (out_features, C*H*W)."""
        _set_linear(self.linear, weight, bias)


class ConvDecoder(nn.Module):
    """A linear map to the smallest feature map, then transposed convolutions
    back up to exactly ``output_shape``.

    With ``token_dim`` the code is read as the encoder's cell-major token grid and
    the head is a 1x1 convolution from ``token_dim`` channels (no linear path).

    Examples
    --------
    >>> dec = ConvDecoder(2, (1, 12, 12), channels=(8, 16))
    >>> tuple(dec(torch.zeros(3, 2)).shape)
    (3, 1, 12, 12)
    >>> grid = ConvDecoder(18, (1, 12, 12), channels=(8, 16), token_dim=2)  # 3x3 cells of 2
    >>> tuple(grid(torch.zeros(3, 18)).shape)
    (3, 1, 12, 12)
    """

    def __init__(
        self,
        code_dim: int,
        output_shape: Sequence[int],
        channels: Sequence[int] = (32, 64),
        act: str = "gelu",
        linear_path: bool = False,
        token_dim: int | None = None,
    ):
        super().__init__()
        self.output_shape = tuple(output_shape)
        c_out, height, width = output_shape
        sizes = _stage_sizes(height, width, len(channels))
        chans = [c_out, *channels[: len(sizes) - 1]]
        self.start = (chans[-1], *sizes[-1])
        self.token_dim = token_dim
        self.head: nn.Conv2d | nn.Linear
        if token_dim is not None:
            _check_grid(code_dim, token_dim, sizes[-1])
            self.head = nn.Conv2d(token_dim, chans[-1], kernel_size=1)
            linear_path = False
        else:
            self.head = nn.Linear(code_dim, math.prod(self.start))
        # With no stage left (tiny images) the head's output is the image: no activation.
        self.head_act = activation(act) if len(chans) > 1 else nn.Identity()
        layers: list[nn.Module] = []
        for i in range(len(chans) - 1, 0, -1):
            (h_in, w_in), (h_out, w_out) = sizes[i], sizes[i - 1]
            # ConvTranspose2d(k=3, s=2, p=1) gives 2*in - 1 (+ output_padding).
            pad = (h_out - (2 * h_in - 1), w_out - (2 * w_in - 1))
            layers.append(nn.ConvTranspose2d(chans[i], chans[i - 1], 3, stride=2, padding=1, output_padding=pad))
            if i > 1:
                layers.append(activation(act))
        self.features = nn.Sequential(*layers)
        last = self.features[-1] if len(self.features) else self.head
        self.linear: nn.Linear | None = _linear_path(last, code_dim, math.prod(output_shape)) if linear_path else None

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h: torch.Tensor
        if self.token_dim is not None:
            _, grid_h, grid_w = self.start
            grid = z.reshape(z.shape[0], grid_h, grid_w, self.token_dim).permute(0, 3, 1, 2)  # (batch, token_dim, H, W)
            h = self.head_act(self.head(grid))
        else:
            h = self.head_act(self.head(z)).reshape(z.shape[0], *self.start)
        out: torch.Tensor = self.features(h)
        if self.linear is not None:
            flat: torch.Tensor = self.linear(z)
            out = out + flat.reshape(z.shape[0], *self.output_shape)
        return out

    @torch.no_grad()
    def init_linear(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        """Set the linear path, e.g. from PCA; ``weight`` (C*H*W, code_dim)."""
        _set_linear(self.linear, weight, bias)


def _check_grid(code_dim: int, token_dim: int, grid: tuple[int, int]) -> None:
    if code_dim != grid[0] * grid[1] * token_dim:
        raise ConfigError(
            f"a {grid[0]}x{grid[1]} token grid of token_dim={token_dim} needs code_dim="
            f"{grid[0] * grid[1] * token_dim}, got code_dim={code_dim}"
        )


def _linear_path(last: nn.Module, n_in: int, n_out: int) -> nn.Linear:
    """A linear map beside the conv branch, whose last layer ``last`` starts at zero."""
    weight, bias = last.weight, last.bias
    # The branch ends in a Linear, Conv2d or ConvTranspose2d, all built here with a bias.
    assert isinstance(weight, torch.Tensor) and isinstance(bias, torch.Tensor), "last layer needs weight and bias"
    nn.init.zeros_(weight)
    nn.init.zeros_(bias)
    return nn.Linear(n_in, n_out)


def _set_linear(linear: nn.Linear | None, weight: torch.Tensor, bias: torch.Tensor) -> None:
    if linear is None:
        raise ValueError("this network has no linear path (linear_path=False)")
    linear.weight.copy_(weight)
    linear.bias.copy_(bias)


def build_conv(config: ModelConfig, enc_out: int) -> tuple[nn.Module, nn.Module]:
    """Encoder and decoder for ``arch='conv'`` from a :class:`~aekit.config.ModelConfig`.

    A bottleneck with discrete tokens (``vq``) gets the spatial token grid
    (``config.token_grid``): one token per cell of the last feature map,
    ``token_dim = code_dim / cells`` (checked by the config).
    """
    token_dim: int | None = None
    grid = config.token_grid
    if grid is not None:
        token_dim = config.code_dim // (grid[0] * grid[1])
    encoder = ConvEncoder(
        config.input_shape, enc_out, config.channels, config.activation, config.linear_path, token_dim
    )
    decoder = ConvDecoder(
        config.code_dim, config.input_shape, config.channels, config.activation, config.linear_path, token_dim
    )
    return encoder, decoder
