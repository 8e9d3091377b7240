"""The training budget in optimisation steps, chosen from the number of rows.

A budget counted in epochs tuned for 60,000 rows gives 1,400 rows a few hundred
steps: far from converged. The default is instead a number of *steps*, with the batch
size chosen so that small sets still take many steps and large ones use the hardware:

- ``batch_size``: the power of two nearest ``n_rows / 40``, within [32, 512];
- ``steps``: :data:`STEPS` (4,000), so ``epochs = ceil(steps / steps_per_epoch)``;
- ``patience``: a tenth of those epochs, at least 10, before early stopping.

Counted on the rows trained on (the validation tenth held out): Fashion-MNIST's 54,000
get batch 512, 106 steps an epoch, 38 epochs (the earlier default was 35, about 40 s);
1,260 digits get batch 32, 40 steps an epoch, 100 epochs. Chosen on scikit-learn's digits and the shapes12 builtin;
BENCHMARKS.md reports it on sets it was not chosen on. Explicit ``epochs=``,
``batch_size=``, ``steps=`` or ``patience=`` override each part.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from aekit.config import TrainConfig

STEPS = 4000
MIN_BATCH, MAX_BATCH = 32, 512
ROWS_PER_STEP = 40  # n_rows / ROWS_PER_STEP is the batch size before rounding and clipping


@dataclass(frozen=True)
class Budget:
    """What a fit trains for, once the number of rows is known."""

    steps: int  # optimiser steps planned (epochs * steps_per_epoch)
    batch_size: int
    epochs: int
    patience: int | None  # epochs without improvement before stopping; None: never
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def default_batch_size(n_rows: int) -> int:
    """The power of two nearest ``n_rows / 40``, within [32, 512].

    Examples
    --------
    >>> default_batch_size(1400), default_batch_size(8000), default_batch_size(60000)
    (32, 256, 512)
    """
    if n_rows <= 0:
        return MIN_BATCH
    power = 2 ** round(math.log2(max(n_rows / ROWS_PER_STEP, 1)))
    return int(min(MAX_BATCH, max(MIN_BATCH, power)))


def resolve(config: TrainConfig, n_rows: int) -> tuple[TrainConfig, Budget]:
    """``config`` with its automatic parts (``None`` epochs or batch size, ``"auto"`` patience)
    made concrete for ``n_rows`` training rows, and the budget that says how.

    Examples
    --------
    >>> cfg, budget = resolve(TrainConfig(), 1400)
    >>> cfg.batch_size, cfg.epochs, cfg.patience, budget.steps
    (32, 91, 10, 4004)
    >>> resolve(TrainConfig(epochs=5, batch_size=100), 1400)[0].epochs
    5
    """
    batch = config.batch_size if config.batch_size is not None else default_batch_size(n_rows)
    per_epoch = max(1, math.ceil(n_rows / batch))
    if config.epochs is not None:
        epochs = config.epochs
        why = f"epochs={epochs} given"
    else:
        steps = config.steps if config.steps is not None else STEPS
        epochs = max(1, math.ceil(steps / per_epoch))
        why = f"{steps} steps ({'given' if config.steps is not None else 'the default budget'}) of {per_epoch} a pass"
    patience = config.patience
    if patience == "auto":
        patience = max(10, math.ceil(epochs / 10))
    why += f", batch {batch} ({'given' if config.batch_size is not None else f'from {n_rows} rows'})"
    resolved = dataclasses.replace(config, epochs=epochs, batch_size=batch, patience=patience)
    return resolved, Budget(epochs * per_epoch, batch, epochs, patience, why)
