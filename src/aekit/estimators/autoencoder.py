"""The scikit-learn facade: ``AutoEncoder`` as an estimator and transformer.

``__init__`` only stores its keyword arguments; everything learned ends in an
underscore; ``fit`` returns ``self``. Works in a ``Pipeline``, under ``clone`` and
in ``GridSearchCV`` (``score`` is the negative mean reconstruction error, so the
search picks the model that reconstructs best).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from aekit.config import DataConfig, ModelConfig, TrainConfig
from aekit.data.stream import RowStream
from aekit.errors import DataError
from aekit.estimators.explore import ExploreMixin
from aekit.estimators.generate import GenerateMixin
from aekit.estimators.inputs import as_samples, check_range
from aekit.estimators.persistence import _MODEL_OPTIONS, ModelDirMixin
from aekit.estimators.streaming import evaluate_stream
from aekit.estimators.tables import TableMixin, _is_frame, _table_of
from aekit.fitting import pipeline
from aekit.fitting.decide import sequence_training
from aekit.fitting.evaluate import evaluate, model_errors
from aekit.fitting.sources import ArraySource, StreamSource
from aekit.model import map_batches
from aekit.registry import VARIANTS, default_model_options


class AutoEncoder(ModelDirMixin, GenerateMixin, ExploreMixin, TableMixin, TransformerMixin, BaseEstimator):
    """An autoencoder with the scikit-learn estimator API.

    Parameters
    ----------
    code_dim : int, default=32
        Width of the bottleneck code.
    variant : str, default="plain"
        Named preset from ``aekit.registry.VARIANTS``; explicit options override it.
    arch, hidden, channels, activation, linear_path, pca_init, bottleneck, loss, tied, corruption, \
    corruption_level, penalty, penalty_weight, sparsity_target, beta, kl_warmup_epochs, free_bits, \
    codebook_size, token_dim, commitment, vq_ema, vq_decay, kmeans_init, dead_code_reset, categorical, binarize, \
    encoder, decoder, encoder_kwargs, decoder_kwargs
        Model options (see :class:`aekit.config.ModelConfig`, which gives each one's
        reason; ``encoder``/``decoder``: your own networks); None takes the variant's value, else the default.
    input_shape : tuple, optional
        Shape of one sample, e.g. ``(1, 28, 28)`` to treat flat rows as images.
    kind : {"auto", "image", "table", "sequence"}, default="auto"
        What a sample is. "auto" decides from the shape and the values
        (:mod:`aekit.fitting.decide`): flat rows of intensities (values in [0, 1] or
        integers in [0, 255]) with a square width of at least 8x8 are images, e.g. 784
        -> (1, 28, 28); "table" keeps flat rows flat and scaled per column; 3-D arrays
        that are not grey images, and ``.ts`` data, are sequences (n, length, channels):
        scaled per channel, coded by ``arch="conv1d"`` unless told otherwise
        (``aekit.registry.SEQUENCE_DEFAULTS``; few sequences: :func:`~aekit.fitting.decide.sequence_training`).
    scaling : {"auto", "none", "minmax", "standard", "robust"}, default="auto"
        "auto": intensities share one range (used as they are in [0, 1], divided by
        the largest value for integers), other tables are standardised per column;
        "minmax" maps one range shared by every feature onto [0, 1]; "robust" centres
        table columns on the median and scales by the interquartile range (see
        :mod:`aekit.data.scaling`), so a few extreme rows do not set everyone's
        scale. One-hot columns are never scaled.
    epochs, steps, batch_size, lr, optimizer, weight_decay, schedule, val_fraction, patience, device, precision
        Training options (see :class:`aekit.config.TrainConfig`). The default budget
        is 4,000 optimiser steps with a batch size chosen from the number of rows
        (:mod:`aekit.train.budget`); ``epochs=`` overrides it.
    random_state : int, default=0
        Seeds initialisation, the validation split and the shuffle order.
    checkpoint_dir : path, optional
        Write a checkpoint after every epoch there; with ``resume=True`` continue from it.
    resume : bool, default=False
    verbose : bool, default=False
        Show the training progress bar.

    Attributes
    ----------
    model_ : aekit.model.Autoencoder
    pca_ : aekit.analysis.PCABaseline
        PCA with ``code_dim`` components fitted on the same (scaled) training data.
    preprocessing_ : aekit.data.scaling.Preprocessing
    history_ : list of dict
        Per-epoch losses, every term, learning rate and wall time.
    decisions_ : aekit.fitting.decide.Decisions
        What the fit decided about the data (kind, scaling, shape, output range) and why.
    validation_metrics_ : dict or None
        The fitted model's error beside PCA's on the validation rows (None when
        ``val_fraction`` held none out); see :meth:`evaluate`.
    input_shape_ : tuple
        The shape of one sample as the network sees it (e.g. (1, 8, 8) for flat rows of
        64 intensities).
    sample_shape_ : tuple
        The shape of one sample as it arrived (and as outputs are given back).
    n_features_in_ : int

    Tables: a pandas DataFrame (or a Dataset read from CSV or Parquet) is fitted
    through a :class:`~aekit.data.tables.TableSchema`: numeric columns scaled,
    boolean and text columns one-hot with a cross-entropy term (``loss="ce"``),
    missing cells masked out of the loss. New frames must have the same columns
    (any order); :meth:`impute` fills their gaps and ``reconstruct`` of a
    DataFrame returns a DataFrame. ``schema_`` and ``feature_names_in_`` are set.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X = load_digits().data / 16.0                        # (1797, 64)
    >>> ae = AutoEncoder(code_dim=8, epochs=3, random_state=0).fit(X)
    >>> ae.transform(X).shape
    (1797, 8)
    >>> ae.reconstruct(X).shape
    (1797, 64)
    >>> bool(ae.score(X) < 0)
    True
    """

    def __init__(
        self,
        code_dim: int = 32,
        *,
        variant: str = "plain",
        arch: str | None = None,
        hidden: tuple[int, ...] | None = None,
        channels: tuple[int, ...] | None = None,
        activation: str | None = None,
        linear_path: bool | None = None,
        pca_init: bool | None = None,
        bottleneck: str | None = None,
        loss: str | None = None,
        tied: bool | None = None,
        corruption: str | None = None,
        corruption_level: float | None = None,
        penalty: str | None = None,
        penalty_weight: float | None = None,
        sparsity_target: float | None = None,
        beta: float | None = None,
        kl_warmup_epochs: int | None = None,
        free_bits: float | None = None,
        codebook_size: int | None = None,
        token_dim: int | None = None,
        commitment: float | None = None,
        vq_ema: bool | None = None,
        vq_decay: float | None = None,
        kmeans_init: bool | None = None,
        dead_code_reset: bool | None = None,
        categorical: tuple[tuple[int, int], ...] | None = None,
        binarize: bool | None = None,
        encoder: str | None = None,
        decoder: str | None = None,
        encoder_kwargs: Any = None,
        decoder_kwargs: Any = None,
        input_shape: tuple[int, ...] | None = None,
        kind: str = "auto",
        scaling: str = "auto",
        epochs: int | None = TrainConfig.epochs,
        steps: int | None = TrainConfig.steps,
        batch_size: int | None = TrainConfig.batch_size,
        lr: float = TrainConfig.lr,
        optimizer: str = TrainConfig.optimizer,
        weight_decay: float = TrainConfig.weight_decay,
        schedule: str = TrainConfig.schedule,
        warmup: float = TrainConfig.warmup,
        val_fraction: float = TrainConfig.val_fraction,
        patience: int | str | None = TrainConfig.patience,
        random_state: int = 0,
        device: str = TrainConfig.device,
        precision: str = TrainConfig.precision,
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
        verbose: bool = False,
    ):
        self.code_dim = code_dim
        self.variant = variant
        self.arch = arch
        self.hidden = hidden
        self.channels = channels
        self.activation = activation
        self.linear_path = linear_path
        self.pca_init = pca_init
        self.bottleneck = bottleneck
        self.loss = loss
        self.tied = tied
        self.corruption = corruption
        self.corruption_level = corruption_level
        self.penalty = penalty
        self.penalty_weight = penalty_weight
        self.sparsity_target = sparsity_target
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs
        self.free_bits = free_bits
        self.codebook_size = codebook_size
        self.token_dim = token_dim
        self.commitment = commitment
        self.vq_ema = vq_ema
        self.vq_decay = vq_decay
        self.kmeans_init = kmeans_init
        self.dead_code_reset = dead_code_reset
        self.categorical = categorical
        self.binarize = binarize
        self.encoder, self.decoder = encoder, decoder
        self.encoder_kwargs, self.decoder_kwargs = encoder_kwargs, decoder_kwargs
        self.input_shape = input_shape
        self.kind = kind
        self.scaling = scaling
        self.epochs = epochs
        self.steps = steps
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.warmup = warmup
        self.val_fraction = val_fraction
        self.patience = patience
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.verbose = verbose

    # -- configs ---------------------------------------------------------------
    def model_config(
        self, input_shape: tuple[int, ...], output_range: tuple[float, float] | None = None, **overrides: Any
    ) -> ModelConfig:
        """The :class:`ModelConfig` this estimator builds for samples of ``input_shape``;
        ``overrides`` (what a table's schema dictates) win over everything."""
        preset = VARIANTS.get(self.variant)
        arch = self.arch or preset.model.get("arch")
        options: dict[str, Any] = {
            "output_range": output_range,
            **default_model_options(input_shape, arch),
            **preset.model,
        }
        for name in _MODEL_OPTIONS:
            value = getattr(self, name)
            if value is not None:
                options[name] = tuple(value) if isinstance(value, list) else value
        options.update(overrides)
        return ModelConfig(input_shape=tuple(input_shape), code_dim=self.code_dim, variant=self.variant, **options)

    def data_config(self) -> DataConfig:
        """The :class:`DataConfig` (scaling, input_shape) this estimator reads its rows with."""
        return DataConfig(kind=self.kind, scaling=self.scaling, input_shape=self.input_shape)

    def train_config(self) -> TrainConfig:
        """The :class:`TrainConfig` this estimator trains with."""
        preset = VARIANTS.get(self.variant)
        options = dict(
            epochs=self.epochs,
            steps=self.steps,
            batch_size=self.batch_size,
            lr=self.lr,
            optimizer=self.optimizer,
            weight_decay=self.weight_decay,
            schedule=self.schedule,
            warmup=self.warmup,
            val_fraction=self.val_fraction,
            patience=self.patience,
            seed=self.random_state,
            device=self.device,
            precision=self.precision,
        )
        options.update(preset.train)
        return TrainConfig(**options)

    # -- fitting -----------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, on_epoch_end: Any = None) -> AutoEncoder:
        """Train on ``X``: (n, features), (n, H, W), (n, C, H, W), a pandas DataFrame
        (a mixed table, see the class docstring) or an ``aekit.data.Dataset``.

        ``y`` is ignored (present for Pipeline compatibility). ``on_epoch_end``,
        if given, is called as ``on_epoch_end(record, model)`` after every epoch
        with that epoch's history record and the torch model (for logging, or
        measuring test error as training goes; its time is not counted in the
        record's ``seconds``).

        ``X`` may be a :class:`~aekit.data.stream.RowStream`
        (``aekit.data.open_stream("big.npy")``): a ``.npy`` or Parquet file read in
        chunks, for data bigger than memory (:class:`aekit.fitting.sources.StreamSource`).
        """
        train_config = self.train_config()
        loss = self.loss or VARIANTS.get(self.variant).model.get("loss", ModelConfig.loss)
        self.schema_ = None
        overrides: dict[str, Any] = {}
        if isinstance(X, RowStream):
            self.data_config()  # refuses a bad kind, scaling or input_shape by name, before any work
            source: Any = StreamSource(
                X,
                robust_sample=self.scaling == "robust",
                val_fraction=train_config.val_fraction,
                seed=train_config.seed,
                progress=self.verbose,
            )
        else:
            table = _table_of(X)
            if table is not None:
                x, kind = self._fit_schema(*table), "table"
                overrides = self._table_overrides(loss)
                loss = overrides.get("loss", loss)
            else:
                x, kind = self._as_samples(X, fitting=True)
                if kind == "sequence" and self.kind != "table":
                    train_config = sequence_training(train_config, len(x), given=(self.val_fraction, self.patience))
            self.data_config()  # refuses a bad kind, scaling or input_shape by name, before any work
            source = ArraySource(x, kind=kind, name=getattr(X, "name", "X"), missing=bool(overrides.get("missing")))
        fitted = pipeline.run(
            source,
            train_config=train_config,
            scaling=self.scaling,
            input_shape=self.input_shape,
            likelihood_in_unit_range=loss == "bce",
            kind=self.kind,
            columns=self.schema_ is not None,
            model_config=lambda d: self.model_config(d.input_shape, d.output_range, **overrides),
            checkpoint_dir=self.checkpoint_dir,
            resume=self.resume,
            progress=self.verbose,
            on_epoch_end=on_epoch_end,
        )
        self.model_, self.preprocessing_, self.pca_ = fitted.model, fitted.preprocessing, fitted.pca
        self.decisions_, self.validation_metrics_ = fitted.decisions, fitted.validation
        self.history_, self.best_epoch_, self.n_iter_ = fitted.history, fitted.best_epoch, len(fitted.history)
        self.kind_ = fitted.decisions.kind
        self.input_shape_ = fitted.decisions.input_shape
        # Outputs keep the shape rows arrived in (flat rows decided to be images come back flat),
        # unless input_shape was given: then it is the shape the user asked for.
        self.sample_shape_ = tuple(self.input_shape) if self.input_shape is not None else source.sample_shape
        self.n_features_in_ = int(math.prod(self.input_shape_))
        return self

    # -- using a fitted model ------------------------------------------------------
    def transform(self, X: Any) -> np.ndarray:
        """Deterministic codes (the mean code), shape (n, code_dim)."""
        xs = self._model_input(X)
        with torch.no_grad():
            return map_batches(lambda b: self.model_.encode(b, sample=False).mean, xs).numpy()

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Decode codes ``Z`` (n, code_dim) to samples in the input's units and shape."""
        check_is_fitted(self, "model_")
        z = np.asarray(Z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.model_.config.code_dim:
            raise DataError(f"codes must have shape (n, {self.model_.config.code_dim}), got {z.shape}")
        if not np.isfinite(z).all():
            raise DataError("codes contain NaN or infinite values")
        with torch.no_grad():
            out = map_batches(self.model_.decode, torch.from_numpy(z)).numpy()
        return self.preprocessing_.inverse_transform(out).reshape(len(z), *self._output_shape())

    def reconstruct(self, X: Any) -> Any:
        """Reconstructions of ``X`` in its own units and shape.

        A pandas DataFrame gets a DataFrame back with the same columns: every cell
        reconstructed (the most likely category, numbers in their units). To keep
        the observed cells and fill only the missing ones, use :meth:`impute`.
        """
        xs = self._model_input(X)
        with torch.no_grad():
            out = map_batches(self.model_.reconstruct, xs).numpy()
        out = self.preprocessing_.inverse_transform(out).reshape(len(xs), *self._output_shape())
        if _is_frame(X):
            return self.schema_.decode(out)
        return out

    def reconstruction_error(self, X: Any) -> np.ndarray:
        """Mean squared error per sample (in the scaled space the model sees), shape (n,);
        for tables, over each row's observed cells (a one-hot group as its cells)."""
        return self._errors(self._model_input(X))

    def encode_indices(self, X: Any) -> np.ndarray:
        """VQ models: the codebook index of every token, shape (n, n_tokens), int64."""
        xs = self._model_input(X)
        with torch.no_grad():
            return map_batches(self.model_.encode_indices, xs).numpy()

    def decode_indices(self, indices: Any) -> np.ndarray:
        """VQ models: decode token indices (n, n_tokens) to samples in the input's units and shape."""
        check_is_fitted(self, "model_")
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.int64)
        with torch.no_grad():
            out = map_batches(self.model_.decode_indices, idx).numpy()
        return self.preprocessing_.inverse_transform(out).reshape(len(idx), *self._output_shape())

    def score(self, X: Any, y: Any = None) -> float:
        """Negative mean reconstruction error: higher is better, as GridSearchCV expects."""
        return -float(self.reconstruction_error(X).mean())

    def evaluate(self, X: Any) -> dict[str, Any]:
        """Test metrics with PCA's beside them (same code size, same training data).

        Returns a dict with ``mse`` and ``pca_mse`` (mean squared error per
        feature), ``gain_vs_pca`` (1 - mse / pca_mse: positive means better than
        PCA), ``n_samples``, ``code_dim``, ``compression_ratio``, ``code_sparsity``
        (share of near-zero code units, mean activation) and, for a VAE, ``vae``:
        ELBO and importance-weighted bound in nats per sample, KL per latent
        dimension and the number of active units.
        """
        check_is_fitted(self, "model_")
        # A VAE's bounds sample z: fork_rng keeps the caller's global RNG state untouched.
        with torch.random.fork_rng():
            if isinstance(X, RowStream):  # one pass over a file read in chunks; the VAE's bounds on a sample
                return evaluate_stream(self, X)
            return evaluate(self.model_, self.pca_, [self._model_input(X)])

    def _errors(self, xs: torch.Tensor) -> np.ndarray:
        return model_errors(self.model_, xs)

    # -- helpers -------------------------------------------------------------------
    def _as_samples(self, X: Any, fitting: bool = False) -> tuple[np.ndarray, str]:
        """Validate ``X`` and return float32 samples (n, *sample_shape) and the kind."""
        shape = self.input_shape if fitting else getattr(self, "input_shape_", None)
        return as_samples(X, shape, type(self).__name__, self.kind)

    def _model_input(self, X: Any) -> torch.Tensor:
        check_is_fitted(self, "model_")
        table = _table_of(X)
        if getattr(self, "schema_", None) is not None and table is not None:
            x = self._encode_table(*table)
        elif table is not None and _is_frame(X):
            raise DataError(
                "this model was fitted on an array, not a table: pass an array (X.to_numpy()) of "
                f"{self.n_features_in_} features"
            )
        else:
            x, _ = self._as_samples(X)
            check_range(x, getattr(self, "decisions_", None))
        return torch.from_numpy(self.preprocessing_.transform(x))

    def _output_shape(self) -> tuple[int, ...]:
        return tuple(getattr(self, "sample_shape_", None) or self.input_shape_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.transformer_tags.preserves_dtype = ["float32"]  # torch computes in float32
        return tags
