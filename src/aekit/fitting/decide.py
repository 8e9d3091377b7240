"""The *decide* step: what a sample is (kind and shape) and how it is scaled, from the
options and the values, decided once per fit and recorded with a reason for each choice.

A user's array does not say what it is. The rules (``kind="auto"``, ``scaling="auto"``):

- Samples that are already images, (n, H, W) or (n, C, H, W), are images.
- Flat rows whose values share one bounded range, all in [0, 1] or all integers in
  [0, 255], are *intensities* when they are wide: a square width of at least 8x8 makes
  them images (784 -> 1x28x28, 64 -> 1x8x8), and any width of at least
  :data:`WIDE` (256) keeps them flat with one range for every feature (3072 becomes
  3x32x32 only when told, ``input_shape=(3, 32, 32)``). No per-column
  standardisation there: it would blow up the border pixels that are almost always 0.
- Other flat rows are a table: each column standardised. That includes narrow rows in
  [0, 1] or of small integers: 11 of the 17 ADBench tables in ``../shared/data`` look
  like that (ALOI's 27 histogram bins, letter's 32 integer features, thyroid's 6
  columns in [0, 1], ...), and they are columns on their own scales, not pixels.
- Sequences, samples of shape (length, channels) (``.ts`` files, 3-D arrays that are
  not grey images: :mod:`aekit.data.sequences`), are sequences: each channel
  standardised over all sequences and steps (:mod:`aekit.data.scaling`), the shape kept.
  ``kind="sequence"`` makes flat rows (n, length) one-channel sequences.
- Intensities in [0, 1] are used as they are; integers in [0, 255] are divided by the
  largest value seen (``"minmax"`` from 0: 255 for 8-bit pixels, 16 for scikit-learn's
  digits). Either way reconstructions are clipped to the range, and
  :meth:`AutoEncoder.transform` warns when new rows leave it.

``kind=``, ``scaling=`` and ``input_shape=`` override each rule.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from aekit.config import DataConfig, TrainConfig
from aekit.errors import ConfigError, DataError


@dataclass(frozen=True)
class Decisions:
    """What the fit decided about the data, and why.

    Examples
    --------
    >>> d = decide(kind="auto", scaling="auto", input_shape=None, sample_shape=(64,), source_kind="table",
    ...            low=np.zeros(64), high=np.ones(64), integers=False)
    >>> d.kind, d.scaling, d.input_shape, d.output_range
    ('image', 'none', (1, 8, 8), (0.0, 1.0))
    """

    kind: str  # "image", "table" or "sequence"
    scaling: str  # the Preprocessing method: "none", "minmax", "standard" or "robust"
    input_shape: tuple[int, ...]  # the shape of one sample as the network sees it
    output_range: tuple[float, float] | None  # decoded values (model units) are clipped to it outside training
    value_range: tuple[float, float] | None = None  # the range assumed of the values (user units), if any
    reasons: tuple[str, ...] = ()  # one sentence per decision
    budget: dict[str, Any] = field(default_factory=dict, compare=False)  # the training budget, once known

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("input_shape", "output_range", "value_range", "reasons"):
            out[key] = None if out[key] is None else list(out[key])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decisions:
        """Read back :meth:`to_dict`'s output (from config.json); a malformed record raises ValueError."""

        def pair(value: Any) -> tuple[float, float] | None:
            return None if value is None else (float(value[0]), float(value[1]))

        return cls(
            kind=str(data["kind"]),
            scaling=str(data["scaling"]),
            input_shape=tuple(int(v) for v in data["input_shape"]),
            output_range=pair(data.get("output_range")),
            value_range=pair(data.get("value_range")),
            reasons=tuple(str(r) for r in data.get("reasons", ())),
            budget=dict(data.get("budget") or {}),
        )

    def with_budget(self, budget: dict[str, Any]) -> Decisions:
        return replace(self, budget=budget)

    def describe(self) -> str:
        """One paragraph for people: what was decided and why."""
        shape = "x".join(map(str, self.input_shape))
        lines = [f"{self.kind} samples of shape {shape}, scaling {self.scaling!r}: " + "; ".join(self.reasons)]
        if self.budget:
            lines.append(f"training budget: {self.budget.get('reason', self.budget)}")
        return "\n".join(lines)


def check_choices(kind: Any, scaling: Any) -> None:
    """Refuse a kind or scaling that is not an option, as :class:`~aekit.config.DataConfig` does."""
    DataConfig(kind=kind, scaling=scaling)


def sequence_training(train: TrainConfig, n_samples: int, given: tuple[Any, Any] = (0.1, "auto")) -> TrainConfig:
    """The training a set of ``n_samples`` sequences gets when ``given``, the user's
    ``(val_fraction, patience)``, are their defaults: no rows held out when fewer than 32 would be.

    A UCR-sized set holds a few dozen sequences, so its validation tenth is 4 or 5 of
    them, and the epoch they pick is noise: on GunPoint (45 rows trained, 5 held out)
    early stopping restored epochs at 40 % of the one-cycle schedule, learning rate still
    high, and the 8-D codes' kNN-1 accuracy was 0.913 median over 5 seeds (0.76 to 0.94);
    every row and the whole schedule gave 0.953 (0.927 to 0.967,
    ``benchmarks/sequence_codes.py``; chosen on GunPoint, reported on BasicMotions).

    Examples
    --------
    >>> sequence_training(TrainConfig(), 50).val_fraction, sequence_training(TrainConfig(), 5000).val_fraction
    (0.0, 0.1)
    """
    if given != (TrainConfig.val_fraction, TrainConfig.patience) or round(n_samples * train.val_fraction) >= 32:
        return train
    return replace(train, val_fraction=0.0)


WIDE = 256  # flat intensities at least this wide keep one shared range even when not square
MIN_SIDE = 8  # the smallest square image decided from a flat width


def square_image(width: int) -> tuple[int, int, int] | None:
    """(1, s, s) for a width that is a square of at least 8x8, else None.

    Examples
    --------
    >>> square_image(784), square_image(64), square_image(3072), square_image(36)
    ((1, 28, 28), (1, 8, 8), None, None)
    """
    side = math.isqrt(width)
    return (1, side, side) if side * side == width and side >= MIN_SIDE else None


def decide(
    *,
    kind: str,
    scaling: str,
    input_shape: tuple[int, ...] | None,
    sample_shape: tuple[int, ...],
    source_kind: str,
    low: np.ndarray,
    high: np.ndarray,
    integers: bool,
    likelihood_in_unit_range: bool = False,
    columns: bool = False,
) -> Decisions:
    """Kind, scaling and shape for samples of ``sample_shape`` whose features range over ``[low, high]``.

    ``source_kind``: what the source says ("image" for (n, C, H, W) samples, "sequence" for
    (n, length, channels), else "table");
    ``integers``: every finite value is a whole number; ``likelihood_in_unit_range``: the
    reconstruction loss is a Bernoulli likelihood (values are probabilities, never
    standardised); ``columns``: a table with a schema (DataFrame columns, one-hot groups,
    missing cells), always scaled per column.
    """
    check_choices(kind, scaling)
    reasons: list[str] = []
    d = math.prod(sample_shape)
    with np.errstate(invalid="ignore"):
        lo = float(np.nanmin(low)) if np.isfinite(low).any() else 0.0
        hi = float(np.nanmax(high)) if np.isfinite(high).any() else 0.0
    if likelihood_in_unit_range and (lo < 0 or hi > 1):
        raise DataError(
            f"loss='bce' needs inputs in [0, 1], got values in [{lo:.3g}, {hi:.3g}]; scale the data or use loss='mse'"
        )
    unit = lo >= 0 and hi <= 1
    bytes_ = not unit and integers and lo >= 0 and hi <= 255
    # Whole numbers up to 255 (8-bit pixels, counts on a small scale): one range, from 0 to the largest seen.
    value_range = (0.0, 1.0) if unit else (0.0, hi) if bytes_ else None
    wide = len(sample_shape) == 1 and (square_image(d) is not None or d >= WIDE)
    # Intensities share one range, unless the user said these are table columns.
    intensities = value_range is not None and not columns and kind != "table" and (wide or source_kind == "image")

    # The kind and the shape.
    if input_shape is not None:
        shape = tuple(int(s) for s in input_shape)
        if math.prod(shape) != d:
            raise DataError(f"the data has {d} features, but input_shape={shape} needs {math.prod(shape)}")
        if kind == "table" and len(shape) in (2, 3):
            what = "an image; use kind='image'" if len(shape) == 3 else "a sequence; use kind='sequence'"
            raise ConfigError(f"kind='table' with input_shape={shape}: a shape of rank {len(shape)} is {what}")
        kind = {1: "table", 2: "sequence", 3: "image"}[len(shape)]
        reasons.append(f"input_shape={shape} was given")
    elif kind == "sequence" or (kind == "auto" and source_kind == "sequence"):
        if len(sample_shape) not in (1, 2):
            raise ConfigError(
                f"kind='sequence' needs samples (length, channels), or flat rows (length,) as one channel; "
                f"got samples of shape {tuple(sample_shape)}"
            )
        shape = tuple(sample_shape) if len(sample_shape) == 2 else (d, 1)
        how = "kind='sequence' was given" if kind == "sequence" else "samples arrived as sequences"
        reasons.append(f"{how}: {shape[0]} steps of {shape[1]} channel(s)")
        kind = "sequence"
    elif kind == "table" or (kind == "auto" and source_kind == "table" and not intensities):
        shape = (d,)
        why = "kind='table' was given" if kind == "table" else "columns on their own scales: a table"
        if kind == "auto" and columns:
            why = "a table of named columns"
        reasons.append(why)
        kind = "table"
    elif source_kind == "image" and len(sample_shape) == 3:
        shape, kind = tuple(sample_shape), "image"
        reasons.append("samples arrived as images")
    else:  # flat intensities (auto) or kind="image" on flat rows
        square = square_image(d)
        if square is None:
            if kind == "image":
                raise ConfigError(
                    f"kind='image' on rows of {d} values: the width is not a square, so give the shape, "
                    f"e.g. input_shape=(3, 32, 32) for 3072"
                )
            shape, kind = (d,), "table"
            reasons.append(f"flat rows of intensities; {d} is not a square width, so they stay flat")
        else:
            shape = square
            reasons.append(
                "kind='image' was given"
                if kind == "image"
                else f"flat rows of intensities, {d} = {square[1]}x{square[2]}"
            )
            kind = "image"

    # The scaling.
    if scaling != "auto":
        method = scaling
        reasons.append(f"scaling={scaling!r} was given")
    elif likelihood_in_unit_range:
        method = "none"
        reasons.append("a Bernoulli likelihood: values used as they are")
    elif kind == "sequence":
        method = "standard"
        reasons.append("each channel standardised over all sequences and steps")
    elif (intensities or kind == "image") and value_range is not None:
        method = "none" if unit else "minmax"
        reasons.append(
            "values in [0, 1]: used as they are, one range for every feature"
            if unit
            else f"integers in [0, {hi:g}]: divided by {hi:g}, one range for every feature"
        )
    elif kind == "image":
        method = "none"
        reasons.append(f"images with values in [{lo:.3g}, {hi:.3g}]: used as they are")
    else:
        method = "standard"
        reasons.append("each column standardised (mean 0, standard deviation 1)")
    if method not in ("none", "minmax") or value_range is None:
        value_range = None
    scaled_unit = value_range is not None and (method == "minmax" or unit)
    if scaled_unit:
        reasons.append("reconstructions are clipped to the range")
    return Decisions(
        kind=kind,
        scaling=method,
        input_shape=shape,
        output_range=(0.0, 1.0) if scaled_unit else None,
        value_range=value_range if scaled_unit else None,
        reasons=tuple(reasons),
    )
