"""The *decide* step: what the rows are (kind), how they are scaled, and their shape.

Decided once per fit from the options and the source's value range, recorded as
:class:`Decisions` (``AutoEncoder.decisions_``) with the reason for each choice.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from aekit.errors import ConfigError, DataError

SCALINGS = ("auto", "standard", "robust", "none")


@dataclass(frozen=True)
class Decisions:
    """What the fit decided about the data, and why.

    Examples
    --------
    >>> d = decide(kind="table", scaling="auto", input_shape=None, sample_shape=(3,),
    ...            low=np.zeros(3), high=np.ones(3), likelihood_in_unit_range=False)
    >>> d.scaling, d.input_shape, d.output_range
    ('standard', (3,), None)
    """

    kind: str  # "image" or "table"
    scaling: str  # the Preprocessing method: "none", "standard" or "robust"
    input_shape: tuple[int, ...]  # the shape of one sample as the network sees it
    output_range: tuple[float, float] | None  # decoded values are clipped to it outside training
    reasons: tuple[str, ...]  # one sentence per decision

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["input_shape"] = list(self.input_shape)
        out["output_range"] = None if self.output_range is None else list(self.output_range)
        out["reasons"] = list(self.reasons)
        return out


def check_scaling(scaling: Any) -> None:
    if scaling not in SCALINGS:
        raise ConfigError(f"scaling={scaling!r} is not one of: {', '.join(SCALINGS)}")


def decide(
    *,
    kind: str,
    scaling: str,
    input_shape: tuple[int, ...] | None,
    sample_shape: tuple[int, ...],
    low: np.ndarray,
    high: np.ndarray,
    likelihood_in_unit_range: bool,
) -> Decisions:
    """Kind, scaling and shape for rows whose features range over ``[low, high]`` (each (d,)).

    ``likelihood_in_unit_range``: the reconstruction loss is a Bernoulli likelihood
    (values must be probabilities, so they are never standardised).
    """
    check_scaling(scaling)
    reasons = []
    shape = tuple(sample_shape)
    if input_shape is not None:
        shape = tuple(int(s) for s in input_shape)
        if math.prod(shape) != math.prod(sample_shape):
            raise DataError(
                f"the data has {math.prod(sample_shape)} features, but input_shape={shape} needs {math.prod(shape)}"
            )
        if len(shape) == 3:
            kind = "image"
        reasons.append(f"input_shape={shape} was given")
    with np.errstate(invalid="ignore"):
        lo = float(np.nanmin(low)) if np.isfinite(low).any() else 0.0
        hi = float(np.nanmax(high)) if np.isfinite(high).any() else 0.0
    if likelihood_in_unit_range and (lo < 0 or hi > 1):
        raise DataError(
            f"loss='bce' needs inputs in [0, 1], got values in [{lo:.3g}, {hi:.3g}]; scale the data or use loss='mse'"
        )
    standardise = scaling in ("standard", "robust") or (
        scaling == "auto" and kind == "table" and not likelihood_in_unit_range
    )
    method = ("robust" if scaling == "robust" else "standard") if standardise else "none"
    if scaling != "auto":
        reasons.append(f"scaling={scaling!r} was given")
    elif standardise:
        reasons.append("a table: each column standardised (mean 0, standard deviation 1)")
    else:
        reasons.append(f"{'a Bernoulli likelihood' if likelihood_in_unit_range else 'images'}: values used as they are")
    # Images in [0, 1] stay there: decoded pixels are clipped to it outside training.
    unit_images = kind == "image" and not standardise and lo >= 0 and hi <= 1
    if unit_images:
        reasons.append("images in [0, 1]: reconstructions are clipped to [0, 1]")
    return Decisions(
        kind=kind,
        scaling=method,
        input_shape=shape,
        output_range=(0.0, 1.0) if unit_images else None,
        reasons=tuple(reasons),
    )
