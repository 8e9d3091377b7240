"""The streaming path of :class:`~aekit.AutoEncoder`: fit, evaluate and encode a
:class:`~aekit.data.stream.RowStream` (a ``.npy`` or Parquet file read in chunks)
with memory that does not grow with the file.

``AutoEncoder(...).fit(open_stream("big.npy"))`` reads the file

1. once in file order for the statistics: per-feature mean and variance and the
   covariance matrix in float64 (Chan, Golub & LeVeque 1979: each chunk's mean and
   scatter merged into the running ones, which stays accurate when the mean is
   far from 0), the range of every feature, and the validation rows;
2. once per epoch for training, in a shuffled chunk order through a bounded
   shuffle buffer (:class:`~aekit.data.stream.StreamingBatches`).

From the statistics: ``"standard"`` scaling exactly (population mean and standard
deviation, as in memory); ``"robust"`` from a seeded sample of about
``SAMPLE_BYTES`` of rows (the median and IQR of a sample of n rows are within about
1/sqrt(n) standard deviations of the file's); the PCA baseline exactly, from the
covariance of the scaled data (``PCABaseline.from_covariance``: an eigendecomposition
of a (d, d) matrix, so up to a few thousand features, as in memory).

Validation: the rows whose seeded hash of the row number falls below the
validation share (:class:`~aekit.data.stream.HashSelect`), the share lowered so
that they fill about ``VALIDATION_BYTES``; they are read once, kept in memory,
and never trained on. Streams hold numbers only: missing cells and mixed tables
are refused (fit those in memory).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from aekit._atomic import atomic_path, make_dir
from aekit.analysis.baselines import PCABaseline
from aekit.config import ModelConfig
from aekit.data import Dataset
from aekit.data.stream import HashSelect, ParquetStream, RowStream, StreamingBatches
from aekit.errors import ConfigError, DataError
from aekit.model import Autoencoder, map_batches
from aekit.data.scaling import Preprocessing
from aekit.registry import VARIANTS
from aekit.train import Trainer

VALIDATION_BYTES = 16 << 20  # rows kept in memory for validation and early stopping
SAMPLE_BYTES = 64 << 20  # rows sampled for robust scaling and for the VAE's bounds
_VALIDATION, _SAMPLE = 1, 2  # HashSelect purposes: independent draws


class Moments:
    """Count, mean (d,), scatter matrix (d, d) and per-feature range of rows seen a chunk at a time.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(5.0, 2.0, size=(1000, 3)).astype(np.float32)
    >>> m = Moments(3)
    >>> for i in range(0, 1000, 300):
    ...     m.update(x[i : i + 300])
    >>> bool(np.allclose(m.covariance(), np.cov(x, rowvar=False), rtol=1e-4)), bool(np.allclose(m.mean, x.mean(0)))
    (True, True)
    """

    def __init__(self, n_features: int):
        self.n = 0
        self.mean = np.zeros(n_features)
        self.scatter = np.zeros((n_features, n_features))  # sum of (x - mean)(x - mean)^T
        self.low = np.full(n_features, np.inf)
        self.high = np.full(n_features, -np.inf)

    def update(self, x: np.ndarray) -> None:
        """Add rows ``x`` (k, d)."""
        k = len(x)
        if k == 0:
            return
        m = x.mean(0, dtype=np.float64)
        c = x - m.astype(x.dtype)
        # Float32 chunk products (fast BLAS) summed in float64, as PCABaseline.fit does; then
        # Chan et al.'s merge: the two scatters plus the term for the distance between their means.
        delta, total = m - self.mean, self.n + k
        self.scatter += (c.T @ c).astype(np.float64) + np.outer(delta, delta) * (self.n * k / total)
        self.mean += delta * (k / total)
        self.n = total
        np.minimum(self.low, x.min(0), out=self.low)
        np.maximum(self.high, x.max(0), out=self.high)

    def variance(self) -> np.ndarray:
        """Population variance per feature (d,), as ``np.var``."""
        return np.diag(self.scatter) / max(self.n, 1)

    def covariance(self) -> np.ndarray:
        """Sample covariance (d, d), as ``np.cov``."""
        return self.scatter / max(self.n - 1, 1)


def fit_stream(est: Any, stream: RowStream, *, on_epoch_end: Any = None) -> Any:
    """Fit the AutoEncoder ``est`` on ``stream``; what ``est.fit(stream)`` calls (module docstring).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from aekit import AutoEncoder
    >>> from aekit.data.stream import open_stream
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
    >>> np.save(p, np.random.default_rng(0).normal(size=(500, 6)).astype(np.float32))
    >>> ae = AutoEncoder(code_dim=2, epochs=2).fit(open_stream(p, chunk_rows=64))
    >>> ae.transform(np.load(p)).shape, ae.preprocessing_.method
    ((500, 2), 'standard')
    """
    if est.scaling not in ("auto", "standard", "robust", "none"):
        raise ConfigError(f"scaling={est.scaling!r} is not one of: auto, standard, robust, none")
    stream.check_numeric()
    n, d = len(stream), stream.n_features
    if n < 2:
        raise DataError(f"training needs at least 2 samples, got n_samples={n} in {stream.name}")
    shape, kind = stream.sample_shape, stream.kind
    if est.input_shape is not None:
        shape = tuple(int(s) for s in est.input_shape)
        if math.prod(shape) != d:
            raise DataError(f"{stream.name} has {d} features, but input_shape={shape} needs {math.prod(shape)}")
        kind = "image" if len(shape) == 3 else kind
    train_config = est.train_config()
    seed = train_config.seed
    share = min(train_config.val_fraction, max(1, VALIDATION_BYTES // (4 * d)) / n)
    holdout = None
    if round(n * train_config.val_fraction) >= 1:  # as the in-memory split: none when it rounds to 0 rows
        holdout = HashSelect(seed, 0.0, share, _VALIDATION)
    sample = HashSelect(seed, 0.0, min(1.0, SAMPLE_BYTES // (4 * d) / n), _SAMPLE) if est.scaling == "robust" else None
    moments, (val, kept) = _first_pass(stream, [holdout, sample], est.verbose)

    loss = est.loss or VARIANTS.get(est.variant).model.get("loss", ModelConfig.loss)
    low, high = float(moments.low.min()), float(moments.high.max())
    if loss == "bce" and (low < 0 or high > 1):
        raise DataError(f"loss='bce' needs inputs in [0, 1], got values in [{low:.3g}, {high:.3g}]; scale the "
                        "data or use loss='mse'")
    standardise = est.scaling in ("standard", "robust") or (est.scaling == "auto" and kind == "table" and loss != "bce")
    unit_images = kind == "image" and not standardise and low >= 0 and high <= 1
    model_config = est.model_config(shape, (0.0, 1.0) if unit_images else None)
    one_hot = np.zeros(d, dtype=bool)  # (d,): columns scored by cross-entropy, never scaled
    for start, size in model_config.categorical or ():
        one_hot[start : start + size] = True
    if one_hot.any() and (moments.low[one_hot].min() < 0 or moments.high[one_hot].max() > 1):
        raise DataError(f"the categorical (one-hot) columns must hold values in [0, 1], got values in "
                        f"[{moments.low[one_hot].min():.3g}, {moments.high[one_hot].max():.3g}]")
    method = ("robust" if est.scaling == "robust" else "standard") if standardise else "none"
    preprocessing = _preprocessing(method, moments, kept, one_hot)
    shift = np.zeros(d) if preprocessing.shift is None else preprocessing.shift.astype(np.float64)
    scale = np.ones(d) if preprocessing.scale is None else preprocessing.scale.astype(np.float64)
    # Scaling is affine per feature, so the scaled data's covariance follows from the raw one.
    pca = PCABaseline.from_covariance((moments.mean - shift) / scale, moments.covariance() / np.outer(scale, scale),
                                      min(est.code_dim, d))
    if (model_config.code_dim >= d and model_config.bottleneck == "deterministic"
            and model_config.corruption is None and model_config.penalty is None):
        warnings.warn(f"code_dim={model_config.code_dim} is at least the number of features ({d}) with no "
                      "corruption or penalty: the autoencoder can learn the identity and its code says nothing; "
                      "use a smaller code_dim, variant='denoising' or variant='sparse'", UserWarning, stacklevel=3)

    def to_input(x: np.ndarray) -> np.ndarray:  # (k, *sample_shape) -> (k, *shape), scaled
        return preprocessing.transform(x).reshape(len(x), *shape)

    validation = None
    if val is not None and len(val):
        if preprocessing.shift is not None:  # in place: the rows are held once
            np.subtract(val, preprocessing.shift, out=val)
            np.divide(val, preprocessing.scale, out=val)
        validation = torch.from_numpy(val.reshape(len(val), *shape))
    train_rows = stream if holdout is None else stream.where(HashSelect(seed, share, 1.0, _VALIDATION))

    torch.manual_seed(seed)
    est.schema_ = None
    est.preprocessing_, est.pca_, est.kind_ = preprocessing, pca, kind
    est.input_shape_, est.n_features_in_ = shape, d
    est.model_ = Autoencoder(model_config)
    if model_config.pca_init:
        est.model_.init_from_pca(torch.from_numpy(pca.components_), torch.from_numpy(pca.mean_))
    trainer = Trainer(est.model_, train_config, checkpoint_dir=est.checkpoint_dir, progress=est.verbose,
                      on_epoch_end=on_epoch_end)
    est.history_ = trainer.fit(StreamingBatches(train_rows, to_input), resume=est.resume, validation=validation)
    est.best_epoch_ = trainer.best_epoch
    est.n_iter_ = len(est.history_)
    est.model_.cpu().eval()
    return est


def _first_pass(stream: RowStream, selects: list[HashSelect | None], progress: bool):
    """Moments of every row, and the rows each select keeps, flat (m, d) float32 (None where no select)."""
    d = stream.n_features
    moments = Moments(d)
    kept = [None if s is None else np.empty((len(stream.where(s)), d), np.float32) for s in selects]
    filled = [0] * len(selects)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(stream), unit="row", desc="statistics", dynamic_ncols=True)
    for rows, x in stream.chunks():
        flat = x.reshape(len(x), -1)  # (k, d)
        moments.update(flat)
        for i, select in enumerate(selects):
            if select is not None:
                part = flat[select(rows)]
                kept[i][filled[i] : filled[i] + len(part)] = part
                filled[i] += len(part)
        if bar is not None:
            bar.update(len(x))
    if bar is not None:
        bar.close()
    return moments, kept


def _preprocessing(method: str, moments: Moments, sample: np.ndarray | None, keep: np.ndarray) -> Preprocessing:
    """The scaling Preprocessing.fit would learn, from the streamed statistics (a sample for "robust")."""
    if method == "robust":
        return Preprocessing.fit(sample, "robust", keep=keep)
    if method == "none":
        return Preprocessing(method)
    shift, scale = moments.mean.copy(), np.sqrt(moments.variance())
    shift[~np.isfinite(shift)] = 0.0
    scale[~(scale > 1e-8)] = 1.0  # constant columns: nothing to scale
    shift[keep], scale[keep] = 0.0, 1.0
    return Preprocessing(method, shift.astype(np.float32), scale.astype(np.float32))


def model_inputs(est: Any, stream: RowStream) -> Iterator[tuple[np.ndarray, Any]]:
    """(row numbers (k,), chunk) pairs, each chunk as the estimator's methods take it: a
    :class:`Dataset` of samples, or for a model fitted on a table a DataFrame of its columns."""
    if getattr(est, "schema_", None) is not None and isinstance(stream, ParquetStream):
        yield from stream.frames()
        return
    for rows, x in stream.chunks():
        yield rows, Dataset(x=x, y=None, kind=stream.kind, name=stream.name)


def transform_stream(est: Any, stream: RowStream) -> Iterator[np.ndarray]:
    """``est.transform`` of each chunk in file order: codes (k, code_dim).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from aekit import AutoEncoder
    >>> from aekit.data.stream import open_stream
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
    >>> np.save(p, np.random.default_rng(0).random((50, 4)))
    >>> ae = AutoEncoder(code_dim=2, epochs=1).fit(np.load(p))
    >>> [codes.shape for codes in transform_stream(ae, open_stream(p, chunk_rows=32))]
    [(32, 2), (18, 2)]
    """
    for _, source in model_inputs(est, stream):
        yield est.transform(source)


def evaluate_stream(est: Any, stream: RowStream) -> dict[str, Any]:
    """``est.evaluate`` over a stream in one pass: means exact over every row; a VAE's
    bounds (``vae``) on a seeded sample of about ``SAMPLE_BYTES`` of rows (``vae["rows"]``)."""
    check_is_fitted(est, "model_")
    from aekit.analysis.vae import vae_metrics
    from aekit.estimators.autoencoder import _pca_errors

    model, k = est.model_, est.model_.config.code_dim
    sums = {"mse": 0.0, "pca": 0.0, "near_zero": 0.0, "abs": 0.0, "sigmoid": 0.0, "cells": 0, "n": 0}
    counts, tokens, sampled = None, 0, []
    vae = model.config.bottleneck == "gaussian"
    sample = HashSelect(0, 0.0, min(1.0, SAMPLE_BYTES // (4 * stream.n_features) / len(stream)), _SAMPLE)
    with torch.no_grad():
        for rows, source in model_inputs(est, stream):
            xs = est._model_input(source)
            sums["n"] += len(xs)
            sums["mse"] += float(est._errors(xs).sum())
            sums["pca"] += float(_pca_errors(est.pca_, xs).sum())
            z = map_batches(lambda b: model.encode(b, sample=False).mean, xs).double()
            sums["near_zero"] += float((z.abs() < 1e-2).sum())
            sums["abs"] += float(z.abs().sum())
            sums["sigmoid"] += float(torch.sigmoid(z).sum())
            sums["cells"] += z.numel()
            if model.config.bottleneck == "vq":
                indices = map_batches(model.encode_indices, xs).numpy()
                size = model.bottleneck.codebook_size
                counts = np.bincount(indices.ravel(), minlength=size) + (0 if counts is None else counts)
                tokens = int(indices.shape[1])
            if vae:
                sampled.append(xs[torch.from_numpy(sample(rows))])
    n, mse, pca_mse = sums["n"], sums["mse"] / sums["n"], sums["pca"] / sums["n"]
    metrics: dict[str, Any] = {
        "n_samples": int(n), "code_dim": int(k), "compression_ratio": est.n_features_in_ / k,
        "mse": mse, "pca_mse": pca_mse, "gain_vs_pca": 1.0 - mse / pca_mse if pca_mse > 0 else float("nan"),
        "code_sparsity": {"near_zero_share": sums["near_zero"] / sums["cells"],
                          "mean_abs_activation": sums["abs"] / sums["cells"],
                          "mean_sigmoid_activation": sums["sigmoid"] / sums["cells"]},
    }
    if counts is not None:
        p = counts[counts > 0] / counts.sum()
        metrics["vq"] = {"codebook_usage": float((counts > 0).mean()),
                         "perplexity": float(np.exp(-(p * np.log(p)).sum())), "tokens_per_sample": tokens}
    if vae and sampled:
        with torch.random.fork_rng():
            torch.manual_seed(0)  # the bounds sample z: fixed so evaluate is repeatable
            xs = torch.cat(sampled)
            metrics["vae"] = {**vae_metrics(model, xs), "rows": int(len(xs))}
    return metrics


class ArrayWriter:
    """Appends chunks of one (n_rows, ...) array to an open ``.npy`` or ``.csv`` file; see :func:`array_writer`."""

    def __init__(self, fh, suffix: str, n_rows: int, columns: list[str] | None):
        self.fh, self.suffix, self.n_rows, self.columns, self.rows = fh, suffix, n_rows, columns, 0

    def write(self, chunk: np.ndarray) -> None:
        """Append rows ``chunk`` (k, ...); the first chunk fixes the dtype and the row shape."""
        chunk = np.ascontiguousarray(chunk)
        if self.rows == 0:
            self._header(chunk)
        if self.rows + len(chunk) > self.n_rows:
            raise DataError(f"{len(chunk)} more rows would exceed the {self.n_rows} the output was opened for")
        if self.suffix == ".npy":
            self.fh.write(chunk.tobytes())
        else:
            np.savetxt(self.fh, chunk.reshape(len(chunk), -1), delimiter=",", fmt="%.7g")
        self.rows += len(chunk)

    def _header(self, chunk: np.ndarray) -> None:
        if self.suffix == ".npy":  # the header np.save writes for the whole array
            np.lib.format.write_array_header_1_0(self.fh, {
                "descr": np.lib.format.dtype_to_descr(chunk.dtype), "fortran_order": False,
                "shape": (self.n_rows, *chunk.shape[1:])})
        else:
            width = int(math.prod(chunk.shape[1:]))
            names = self.columns if self.columns and len(self.columns) == width else [f"x{i}" for i in range(width)]
            self.fh.write((",".join(names) + "\n").encode())


@contextlib.contextmanager
def array_writer(out: str | Path, n_rows: int, columns: list[str] | None = None) -> Iterator[ArrayWriter]:
    """Write an (n_rows, ...) array to ``out`` (.npy, or .csv with a header) a chunk at a time.

    The file is the one ``np.save`` (or aekit's CSV writer) gives for the whole
    array, written atomically: a failure, or fewer rows than ``n_rows``, leaves
    ``out`` as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "codes.npy"
    >>> with array_writer(out, n_rows=5) as w:
    ...     w.write(np.zeros((3, 2), np.float32)); w.write(np.ones((2, 2), np.float32))
    >>> np.load(out).sum(0)
    array([2., 2.], dtype=float32)
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".npy", ".csv"):
        raise ConfigError(f"output {out} must end in .npy or .csv")
    make_dir(out.parent)
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        writer = ArrayWriter(fh, suffix, n_rows, columns)
        yield writer
        if writer.rows != n_rows:
            raise DataError(f"{out}: {writer.rows} rows were written of the {n_rows} expected; nothing was saved")


def encode_file(est: Any, stream: RowStream, out: str | Path) -> tuple[int, tuple[int, ...]]:
    """Write the deterministic code of every row of ``stream`` to ``out`` (.npy or .csv), a chunk at a
    time (what ``aekit encode`` does for .npy and Parquet input); returns (rows, shape of one code)."""
    shape: tuple[int, ...] = ()
    columns = [f"z{i}" for i in range(est.model_.config.code_dim)]
    with array_writer(out, len(stream), columns) as writer:
        for codes in transform_stream(est, stream):
            writer.write(codes)
            shape = codes.shape[1:]
    return len(stream), shape
