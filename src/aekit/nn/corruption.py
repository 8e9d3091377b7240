"""Input corruptions for denoising autoencoders.

Vincent, Larochelle, Bengio & Manzagol (2008), "Extracting and composing robust
features with denoising autoencoders": the encoder sees a corrupted ``x_tilde``
while the loss compares the reconstruction with the clean ``x``, so the code has
to capture structure that survives the corruption rather than the identity map.
Section 2.3 of the paper uses masking noise; Gaussian and salt-and-pepper noise
are the other two corruptions studied in its journal version (Vincent et al. 2010).

Each corruption always corrupts: the caller decides when (the model only during
training), so the same module can also make noisy inputs for an evaluation.
All draw from torch's global RNG, so a checkpoint that saves the torch RNG state
resumes with exactly the same corrupted batches, and ``torch.manual_seed`` makes
them reproducible. They work on any shape (batch, ...): pixels and table cells alike.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from aekit.errors import ConfigError


def _check_level(level: float, name: str, upper: float | None) -> float:
    """``level`` as a float, or a ConfigError naming it and its allowed range."""
    if isinstance(level, bool) or not isinstance(level, (int, float)):
        raise ConfigError(f"corruption_level={level!r} must be a number for {name}")
    level = float(level)
    if upper is None:
        if not (0.0 <= level < math.inf):  # also rejects nan
            raise ConfigError(f"corruption_level={level!r} must be >= 0 (and finite) for {name}")
    elif not (0.0 <= level < upper):
        raise ConfigError(f"corruption_level={level!r} must be in [0, {upper:g}) for {name}")
    return level


class GaussianNoise(nn.Module):
    """Additive isotropic Gaussian noise: ``x_tilde = x + level * eps``, ``eps ~ N(0, I)``.

    Parameters
    ----------
    level : float
        The noise standard deviation sigma, ``>= 0``, in the units of the input
        the model sees (after any scaling the data pipeline applies).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> x_tilde = GaussianNoise(0.5)(torch.zeros(4000, 5))
    >>> tuple(x_tilde.shape), round(x_tilde.std().item(), 1)
    ((4000, 5), 0.5)
    """

    def __init__(self, level: float):
        super().__init__()
        self.level = _check_level(level, "gaussian noise", upper=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Corrupt ``x`` (batch, ...); ``x_tilde`` has the same shape and dtype."""
        if self.level == 0.0:
            return x
        return x + self.level * torch.randn_like(x)

    def extra_repr(self) -> str:
        return f"level={self.level}"


class Mask(nn.Module):
    """Masking noise: each element independently set to 0 with probability ``level``.

    Vincent et al. (2008), section 2.3: "a fixed number nu*d of components of x
    are chosen at random, and their value is forced to 0"; we draw each element
    independently (the usual variant), so the share zeroed is ``level`` on average.
    Unlike dropout, survivors are *not* rescaled: the target is the clean input.

    Parameters
    ----------
    level : float
        Probability that an element is zeroed, in [0, 1).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> x_tilde = Mask(0.25)(torch.ones(1000, 8))
    >>> round((x_tilde == 0).float().mean().item(), 2), set(x_tilde.unique().tolist())
    (0.25, {0.0, 1.0})
    """

    def __init__(self, level: float):
        super().__init__()
        self.level = _check_level(level, "mask", upper=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Corrupt ``x`` (batch, ...); ``x_tilde`` has the same shape and dtype."""
        if self.level == 0.0:
            return x
        # Float32 uniforms whatever x's dtype, so the draw does not depend on it.
        drop = torch.rand(x.shape, device=x.device) < self.level
        return x.masked_fill(drop, 0)

    def extra_repr(self) -> str:
        return f"level={self.level}"


class SaltPepper(nn.Module):
    """Salt-and-pepper noise: each element with probability ``level`` becomes 0 or 1.

    Half of the corrupted elements become 0 ("pepper") and half 1 ("salt"), the
    extremes of inputs scaled to [0, 1] (Vincent et al. 2010, section 4.2).

    Parameters
    ----------
    level : float
        Probability that an element is replaced, in [0, 1).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> x_tilde = SaltPepper(0.2)(torch.full((1000, 10), 0.5))
    >>> [round((x_tilde == v).float().mean().item(), 1) for v in (0.0, 1.0, 0.5)]
    [0.1, 0.1, 0.8]
    """

    def __init__(self, level: float):
        super().__init__()
        self.level = _check_level(level, "salt and pepper noise", upper=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Corrupt ``x`` (batch, ...); ``x_tilde`` has the same shape and dtype."""
        if self.level == 0.0:
            return x
        # One uniform per element decides both whether and how it is corrupted:
        # u < level/2 -> 0, level/2 <= u < level -> 1.
        u = torch.rand(x.shape, device=x.device)
        pepper = u < self.level / 2
        salt = (u < self.level) & ~pepper
        return x.masked_fill(pepper, 0).masked_fill(salt, 1)

    def extra_repr(self) -> str:
        return f"level={self.level}"


#: Corruptions by name; the config stores the name and ``corruption_level``.
CORRUPTIONS: dict[str, type[nn.Module]] = {
    "gaussian": GaussianNoise,
    "mask": Mask,
    "salt_pepper": SaltPepper,
}
