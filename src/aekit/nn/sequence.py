"""Sequence encoders and decoders: samples of shape (length, channels), channels last.

Two architectures, both emitting one code per sequence:

- **conv1d.** Each encoder stage is a stride-2 1-D convolution (kernel 5, padding 2),
  so a length ``L`` becomes ``ceil(L / 2)``; stages stop before the length falls
  below 4. The code is read from the last feature map's mean and maximum over time
  (global pooling, as in Wang, Yan & Oates 2017, "Time series classification from
  scratch with deep neural networks"): a motion that happens a few steps earlier
  gives about the same code, where a flat linear map would give another one. The
  decoder maps the code to the smallest feature map and undoes each stage with a
  transposed convolution whose ``output_padding`` restores the exact length, so any
  length round-trips without cropping. With ``linear_path=True`` each side also has
  a linear map on the flat sequence (the pooled branch's last layer starting at zero),
  so PCA can warm-start it as it does the MLP and the 2-D conv.
- **gru.** A bidirectional GRU (Cho et al. 2014) reads the sequence; its last states,
  forwards and backwards, become the code. The decoder unrolls a GRU for ``L`` steps
  from the code: the code sets the initial state and is the input at every step
  (Srivastava, Mansimov & Salakhutdinov 2015, "Unsupervised learning of video
  representations using LSTMs", the conditioned decoder), and a linear map reads each
  step's state out to the channels.

Every bottleneck works with both: the encoder emits the ``enc_out`` values the
bottleneck takes (``code_dim``, or ``2 * code_dim`` for the Gaussian's two heads, or
the VQ's flat tokens), and the decoder takes the code ``z`` (batch, code_dim).
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

KERNEL = 5  # encoder kernel: 5 steps, padding 2, so a stage maps L to ceil(L / 2)
MIN_LENGTH = 4  # a stage that would leave fewer steps is not added
GRU_WIDTH = 64  # hidden units of each GRU direction and of the decoder's GRU


def stage_lengths(length: int, n_stages: int) -> list[int]:
    """Lengths before each stride-2 stage and after the last, stopping before one below 4.

    Examples
    --------
    >>> stage_lengths(150, 3), stage_lengths(100, 3), stage_lengths(5, 3)
    ([150, 75, 38, 19], [100, 50, 25, 13], [5])
    """
    lengths = [length]
    for _ in range(n_stages):
        nxt = math.ceil(lengths[-1] / 2)
        if nxt < MIN_LENGTH:
            break
        lengths.append(nxt)
    return lengths


class Conv1dEncoder(nn.Module):
    """Stride-2 1-D convolutions, mean and max over time, then a linear map to the bottleneck.

    Examples
    --------
    >>> enc = Conv1dEncoder((150, 2), out_features=8, channels=(8, 16))
    >>> tuple(enc(torch.zeros(3, 150, 2)).shape)
    (3, 8)
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        out_features: int,
        channels: Sequence[int] = (32, 64, 64),
        act: str = "gelu",
        linear_path: bool = False,
    ):
        super().__init__()
        length, c_in = input_shape
        self.lengths = stage_lengths(length, len(channels))
        chans = [c_in, *channels[: len(self.lengths) - 1]]
        layers: list[nn.Module] = []
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv1d(a, b, KERNEL, stride=2, padding=KERNEL // 2), activation(act)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(2 * chans[-1], out_features)  # mean and max of each feature channel
        self.linear: nn.Linear | None = None
        if linear_path:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
            self.linear = nn.Linear(length * c_in, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h: torch.Tensor = self.features(x.transpose(1, 2))  # (batch, channels, steps)
        pooled = torch.cat([h.mean(2), h.amax(2)], 1)  # (batch, 2 * channels)
        out: torch.Tensor = self.head(pooled)  # (batch, out_features)
        if self.linear is not None:
            out = out + self.linear(x.flatten(1))
        return out

    @torch.no_grad()
    def init_linear(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        """Set the linear path, e.g. from PCA; ``weight`` (out_features, length * channels)."""
        _set_linear(self.linear, weight, bias)


class Conv1dDecoder(nn.Module):
    """A linear map to the smallest feature map, then transposed 1-D convolutions back
    to exactly ``output_shape`` (length, channels).

    Examples
    --------
    >>> dec = Conv1dDecoder(8, (150, 2), channels=(8, 16))
    >>> tuple(dec(torch.zeros(3, 8)).shape)
    (3, 150, 2)
    >>> tuple(Conv1dDecoder(4, (7, 3)).forward(torch.zeros(2, 4)).shape)   # too short for a stage
    (2, 7, 3)
    """

    def __init__(
        self,
        code_dim: int,
        output_shape: Sequence[int],
        channels: Sequence[int] = (32, 64, 64),
        act: str = "gelu",
        linear_path: bool = False,
    ):
        super().__init__()
        self.output_shape = (int(output_shape[0]), int(output_shape[1]))
        length, c_out = self.output_shape
        lengths = stage_lengths(length, len(channels))
        chans = [c_out, *channels[: len(lengths) - 1]]
        self.start = (chans[-1], lengths[-1])
        self.head = nn.Linear(code_dim, chans[-1] * lengths[-1])
        # With no stage (short sequences) the head's output is the sequence: no activation.
        self.head_act = activation(act) if len(chans) > 1 else nn.Identity()
        layers: list[nn.Module] = []
        for i in range(len(chans) - 1, 0, -1):
            # ConvTranspose1d(k=3, s=2, p=1) gives 2 * in - 1 (+ output_padding).
            pad = lengths[i - 1] - (2 * lengths[i] - 1)
            layers.append(nn.ConvTranspose1d(chans[i], chans[i - 1], 3, stride=2, padding=1, output_padding=pad))
            if i > 1:
                layers.append(activation(act))
        self.features = nn.Sequential(*layers)
        self.linear: nn.Linear | None = None
        if linear_path:
            last = self.features[-1] if len(self.features) else self.head
            assert isinstance(last.weight, torch.Tensor) and isinstance(last.bias, torch.Tensor), "built with a bias"
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
            self.linear = nn.Linear(code_dim, length * c_out)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.head_act(self.head(z)).reshape(z.shape[0], *self.start)  # (batch, channels, steps)
        out: torch.Tensor = self.features(h).transpose(1, 2)  # (batch, length, channels)
        if self.linear is not None:
            flat: torch.Tensor = self.linear(z)
            out = out + flat.reshape(z.shape[0], *self.output_shape)
        return out

    @torch.no_grad()
    def init_linear(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        """Set the linear path, e.g. from PCA; ``weight`` (length * channels, code_dim)."""
        _set_linear(self.linear, weight, bias)


def _set_linear(linear: nn.Linear | None, weight: torch.Tensor, bias: torch.Tensor) -> None:
    if linear is None:
        raise ValueError("this network has no linear path (linear_path=False)")
    linear.weight.copy_(weight)
    linear.bias.copy_(bias)


class GRUEncoder(nn.Module):
    """A bidirectional GRU; its last forward and backward states map to the bottleneck.

    Examples
    --------
    >>> enc = GRUEncoder((20, 3), out_features=4, width=8)
    >>> tuple(enc(torch.zeros(2, 20, 3)).shape)
    (2, 4)
    """

    def __init__(self, input_shape: Sequence[int], out_features: int, width: int = GRU_WIDTH):
        super().__init__()
        self.gru = nn.GRU(int(input_shape[1]), width, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * width, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, last = self.gru(x)  # last: (2 directions, batch, width)
        out: torch.Tensor = self.head(torch.cat([last[0], last[1]], 1))  # (batch, out_features)
        return out


class GRUDecoder(nn.Module):
    """Unrolls a GRU for ``length`` steps from the code: the code sets the initial state
    and is fed at every step; a linear map reads each state out to the channels.

    Examples
    --------
    >>> dec = GRUDecoder(4, (20, 3), width=8)
    >>> tuple(dec(torch.zeros(2, 4)).shape)
    (2, 20, 3)
    """

    def __init__(self, code_dim: int, output_shape: Sequence[int], width: int = GRU_WIDTH):
        super().__init__()
        self.length = int(output_shape[0])
        self.start = nn.Linear(code_dim, width)
        self.gru = nn.GRU(code_dim, width, batch_first=True)
        self.out = nn.Linear(width, int(output_shape[1]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h0 = torch.tanh(self.start(z)).unsqueeze(0)  # (1, batch, width)
        steps = z.unsqueeze(1).expand(-1, self.length, -1).contiguous()  # (batch, length, code_dim)
        states, _ = self.gru(steps, h0)  # (batch, length, width)
        out: torch.Tensor = self.out(states)  # (batch, length, channels)
        return out


def build_conv1d(config: ModelConfig, enc_out: int) -> tuple[nn.Module, nn.Module]:
    """Encoder and decoder for ``arch='conv1d'`` from a :class:`~aekit.config.ModelConfig`."""
    encoder = Conv1dEncoder(config.input_shape, enc_out, config.channels, config.activation, config.linear_path)
    decoder = Conv1dDecoder(config.code_dim, config.input_shape, config.channels, config.activation, config.linear_path)
    return encoder, decoder


def build_gru(config: ModelConfig, enc_out: int) -> tuple[nn.Module, nn.Module]:
    """Encoder and decoder for ``arch='gru'``; ``hidden[0]`` sets the GRU width (default 64)."""
    width = config.hidden[0] if config.hidden else GRU_WIDTH
    return GRUEncoder(config.input_shape, enc_out, width), GRUDecoder(config.code_dim, config.input_shape, width)
