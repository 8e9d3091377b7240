"""The one fit pipeline. ``AutoEncoder.fit`` on an array, a table, a file read in chunks,
and under ``torchrun``, all run :func:`run` and nothing else.

Steps, in order (each a few lines below, named as in ARCHITECTURE.md):

1. validate     the source checks its rows (:meth:`validate`: numbers, at least 2 rows)
2. decide       kind, scaling and shape from the options and the value range (:mod:`~aekit.fitting.decide`)
3. scale        the source learns the scaling (:class:`~aekit.data.scaling.Preprocessing`)
4. warm-start   the PCA baseline of the scaled rows, the model's starting point and its yardstick
5. build        the network from the :class:`~aekit.config.ModelConfig` (registry components)
6. train        :class:`~aekit.train.Trainer` on the source's batches, validation rows held out
7. checkpoint   written by the trainer after every epoch, so a killed run resumes (``resume=True``)
8. evaluate     the validation rows, beside PCA's error on them (:mod:`~aekit.fitting.evaluate`)
9. record       everything learned, as one :class:`Fitted`, which the estimator stores
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aekit.analysis.baselines import PCABaseline
from aekit.config import ModelConfig, TrainConfig
from aekit.data.scaling import Preprocessing
from aekit.errors import ConfigError, DataError
from aekit.fitting.decide import Decisions, decide
from aekit.fitting.evaluate import evaluate
from aekit.model import Autoencoder
from aekit.train import Trainer, budget

log = logging.getLogger("aekit")


@dataclass
class Fitted:
    """What one fit learned (the estimator's underscore attributes)."""

    model: Autoencoder
    preprocessing: Preprocessing
    pca: PCABaseline
    decisions: Decisions
    history: list[dict[str, Any]]
    best_epoch: int | None
    validation: dict[str, Any] | None  # evaluate() on the validation rows; None when none were held out


def run(
    source: Any,
    *,
    model_config: Callable[[Decisions], ModelConfig],
    train_config: TrainConfig,
    scaling: str,
    input_shape: tuple[int, ...] | None,
    likelihood_in_unit_range: bool,
    kind: str = "auto",
    columns: bool = False,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    on_epoch_end: Callable[..., None] | None = None,
) -> Fitted:
    """Fit a model on ``source`` (:class:`~aekit.fitting.sources.ArraySource` or ``StreamSource``).

    ``model_config(decisions)`` builds the network's config once the data's shape and
    range are known (the estimator maps its options and the variant preset onto it).
    ``kind``, ``scaling`` and ``input_shape`` are the user's overrides of the decisions
    (:func:`~aekit.fitting.decide.decide`); ``columns``: a table with a schema.

    Examples
    --------
    >>> from aekit.fitting.sources import ArraySource
    >>> x = np.random.default_rng(0).random((64, 5), dtype=np.float32)
    >>> fitted = run(ArraySource(x, kind="table"), train_config=TrainConfig(epochs=2),
    ...              model_config=lambda d: ModelConfig(input_shape=d.input_shape, code_dim=2),
    ...              scaling="auto", input_shape=None, likelihood_in_unit_range=False)
    >>> fitted.decisions.scaling, len(fitted.history), sorted(fitted.validation)[:2]
    ('standard', 2, ['code_dim', 'code_sparsity'])
    """
    # 1. validate
    source.validate()
    # 2. decide
    low, high = source.column_range()
    decisions = decide(
        kind=kind,
        scaling=scaling,
        input_shape=input_shape,
        sample_shape=source.sample_shape,
        source_kind=source.kind,
        low=low,
        high=high,
        integers=_whole_numbers_matter(source, low, high),
        likelihood_in_unit_range=likelihood_in_unit_range,
        columns=columns,
    )
    config = model_config(decisions)
    keep = _one_hot_columns(config, low, high)
    # 3. scale
    minmax_range = decisions.value_range if decisions.scaling == "minmax" else None
    channels = decisions.input_shape[-1] if decisions.kind == "sequence" else None  # (length, channels): per channel
    preprocessing = source.scaling(decisions.scaling, keep, minmax_range, channels)
    _check_magnitude(preprocessing, low, high)
    # 4. warm-start
    pca = source.pca(preprocessing, min(config.code_dim, config.n_features))
    # 5. build
    torch.manual_seed(train_config.seed)
    model = _build(config)
    _warn_identity(model)
    if config.pca_init:
        model.init_from_pca(torch.from_numpy(pca.components_), torch.from_numpy(pca.mean_))
    # 6. train, 7. checkpoint (after every epoch, inside the trainer)
    batches = source.batches(preprocessing, decisions.input_shape, train_config.val_fraction, train_config.seed)
    train_config, plan = budget.resolve(train_config, len(batches.source))
    decisions = decisions.with_budget(plan.to_dict())
    log.info("aekit decided: %s", decisions.describe())
    if progress:
        print(f"aekit decided: {decisions.describe()}", file=sys.stderr)
    trainer = Trainer(model, train_config, checkpoint_dir=checkpoint_dir, progress=progress, on_epoch_end=on_epoch_end)
    history = trainer.fit(batches.source, resume=resume, validation=batches.validation)
    model.cpu().eval()
    # 8. evaluate
    validation = None
    if batches.validation is not None:
        with torch.random.fork_rng():
            validation = evaluate(model, pca, [batches.validation.cpu()], bounds=False)
    # 9. record
    return Fitted(model, preprocessing, pca, decisions, history, trainer.best_epoch, validation)


def _one_hot_columns(config: ModelConfig, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """(n_features,) mask of the columns scored by cross-entropy: never scaled, values in [0, 1]."""
    keep = np.zeros(config.n_features, dtype=bool)
    for start, size in config.categorical or ():
        keep[start : start + size] = True
    if keep.any():
        lo, hi = np.nanmin(low[keep]), np.nanmax(high[keep])
        if lo < 0 or hi > 1:
            raise DataError(
                f"the categorical (one-hot) columns must hold values in [0, 1], got values in [{lo:.3g}, {hi:.3g}]"
            )
    return keep


def _check_magnitude(preprocessing: Preprocessing, low: np.ndarray, high: np.ndarray) -> None:
    """Refuse values whose squares would overflow float32 (scaling is affine, so its extremes are the range's)."""
    shift = 0.0 if preprocessing.shift is None else preprocessing.shift.astype(np.float64)
    scale = 1.0 if preprocessing.scale is None else preprocessing.scale.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        ends = np.abs(np.concatenate([(low - shift) / scale, (high - shift) / scale]))
    ends = ends[~np.isnan(ends)]  # an all-missing column has no range
    top = float(ends.max()) if ends.size else 0.0
    if top > 1e18:
        raise DataError(
            f"values reach {top:.3g} after scaling ({preprocessing.method}); squared errors would "
            "overflow float32: rescale the data (e.g. scaling='standard')"
        )


def _warn_identity(model: Autoencoder) -> None:
    config = model.config
    if (
        config.code_dim >= config.n_features
        and model.capabilities.passthrough
        and config.corruption is None
        and config.penalty is None
    ):
        warnings.warn(
            f"code_dim={config.code_dim} is at least the number of features ({config.n_features}) with "
            "no corruption or penalty: the autoencoder can learn the identity and its code says nothing; "
            "use a smaller code_dim, variant='denoising' or variant='sparse'",
            UserWarning,
            stacklevel=4,
        )


def _build(config: ModelConfig) -> Autoencoder:
    try:
        return Autoencoder(config)
    except (RuntimeError, MemoryError) as exc:  # sizes that cannot be allocated
        raise ConfigError(
            f"cannot build this network: {str(exc).splitlines()[0][:200]}; check code_dim, hidden, "
            "channels and codebook_size (too large for this machine?)"
        ) from None


def _whole_numbers_matter(source: Any, low: np.ndarray, high: np.ndarray) -> bool:
    """Whether every value is a whole number, asked only where the decision depends on it (values in
    [0, 255] reaching above 1): a pass over the data the other cases skip."""
    with np.errstate(invalid="ignore"):
        lo = float(np.nanmin(low)) if np.isfinite(low).any() else 0.0
        hi = float(np.nanmax(high)) if np.isfinite(high).any() else 0.0
    return lo >= 0 and 1 < hi <= 255 and source.integers()
