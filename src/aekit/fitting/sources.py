"""Where the training rows come from: the one interface the fit pipeline reads.

A *source* answers the questions the pipeline asks, each in the way its storage
allows:

- :class:`ArraySource`: samples held in memory (an array, a Dataset, an encoded table).
- :class:`StreamSource`: a ``.npy`` or Parquet file read in chunks
  (:class:`~aekit.data.RowStream`), with memory that does not grow with the file.

Both give the same answers on the same rows: the value range per feature, the
scaling (:class:`~aekit.data.scaling.Preprocessing`), the PCA baseline of the scaled
rows, and the training batches with the validation rows held out. A DDP shard is not
a third source: under torchrun every rank reads the same source and the trainer
takes its shard of every batch (:class:`aekit.train.distributed.ShardedBatches`).

The stream's statistics come from one pass in file order: per-feature mean and
variance and the covariance in float64 (Chan, Golub & LeVeque 1979: each chunk's
mean and scatter merged into the running ones), the range of every feature, the
validation rows (a seeded hash of the row number, :class:`~aekit.data.stream.HashSelect`,
the share lowered so they fill about ``VALIDATION_BYTES``) and, for ``"robust"``
scaling, a seeded sample of about ``SAMPLE_BYTES`` of rows (the median and IQR of a
sample of n rows are within about 1/sqrt(n) standard deviations of the file's).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from aekit.analysis.baselines import PCABaseline
from aekit.data.scaling import Preprocessing
from aekit.data.stream import HashSelect, RowStream, StreamingBatches
from aekit.errors import DataError
from aekit.train import TensorBatches

VALIDATION_BYTES = 16 << 20  # stream rows kept in memory for validation and early stopping
SAMPLE_BYTES = 64 << 20  # stream rows sampled for robust scaling and for the VAE's bounds
VALIDATION, SAMPLE = 1, 2  # HashSelect purposes: independent draws


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
        self.integers = True  # every value seen so far is a whole number

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
        if self.integers:
            self.integers = bool(np.array_equal(x, np.round(x)))

    def variance(self) -> np.ndarray:
        """Population variance per feature (d,), as ``np.var``."""
        return np.diag(self.scatter) / max(self.n, 1)

    def covariance(self) -> np.ndarray:
        """Sample covariance (d, d), as ``np.cov``."""
        return self.scatter / max(self.n - 1, 1)


@dataclass
class Batches:
    """What the trainer gets: a batch source and the validation rows (or None)."""

    source: TensorBatches | StreamingBatches  # __len__ and batches(generator, batch_size, device)
    validation: torch.Tensor | None  # (n_val, *shape), scaled


class ArraySource:
    """Samples held in memory, shape (n, *sample_shape), float32; NaN marks a missing table cell.

    Examples
    --------
    >>> src = ArraySource(np.random.default_rng(0).random((20, 3), dtype=np.float32), kind="table")
    >>> src.n_samples, src.sample_shape, [round(float(v), 2) for v in src.column_range()[1]]
    (20, (3,), [0.86, 0.98, 1.0])
    """

    def __init__(self, x: np.ndarray, *, kind: str, name: str = "X", missing: bool = False):
        self.x, self.kind, self.name, self.missing = x, kind, name, missing
        self.n_samples, self.sample_shape = len(x), tuple(x.shape[1:])
        self.n_features = int(np.prod(self.sample_shape))

    def validate(self) -> None:
        """At least 2 rows (the estimator checked the values with ``check_array`` when it made the array)."""
        if self.n_samples < 2:
            raise DataError(f"training needs at least 2 samples, got n_samples={self.n_samples} in {self.name}")

    def column_range(self) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) of every feature over the observed cells, each (d,); NaN for an all-missing column."""
        flat = self.x.reshape(len(self.x), -1)
        with warnings.catch_warnings():  # an all-missing table is reported elsewhere
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmin(flat, 0), np.nanmax(flat, 0)

    def integers(self) -> bool:
        """Whether every observed value is a whole number (NaN cells skipped), a block of rows at a time."""
        flat = self.x.reshape(len(self.x), -1)
        for i in range(0, len(flat), 4096):
            block = flat[i : i + 4096]
            if not np.all((block == np.round(block)) | np.isnan(block)):
                return False
        return True

    def scaling(
        self,
        method: str,
        keep: np.ndarray,
        value_range: tuple[float, float] | None = None,
        channels: int | None = None,
    ) -> Preprocessing:
        """:meth:`Preprocessing.fit` on the rows; ``channels``: sequences, scaled per channel."""
        return Preprocessing.fit(self.x, method, keep=keep, value_range=value_range, channels=channels)

    def pca(self, preprocessing: Preprocessing, k: int) -> PCABaseline:
        # PCA sees a missing cell as the column's (scaled) mean, 0, as the autoencoder's encoder does.
        xs = preprocessing.transform(self.x)
        return PCABaseline(k).fit(np.nan_to_num(xs, nan=0.0) if self.missing else xs)

    def batches(self, preprocessing: Preprocessing, shape: tuple[int, ...], val_fraction: float, seed: int) -> Batches:
        xs = torch.from_numpy(preprocessing.transform(self.x).reshape(len(self.x), *shape))
        source, validation = TensorBatches.holdout(xs, val_fraction, seed)
        return Batches(source, validation)


class StreamSource:
    """A :class:`~aekit.data.RowStream` read in chunks: one pass for the statistics, one per epoch."""

    def __init__(
        self, stream: RowStream, *, robust_sample: bool, val_fraction: float, seed: int, progress: bool = False
    ):
        self.stream, self.name, self.kind = stream, stream.name, stream.kind
        self.n_samples, self.n_features, self.sample_shape = len(stream), stream.n_features, stream.sample_shape
        self.missing = False
        self._robust_sample, self._val_fraction, self._seed, self._progress = (
            robust_sample,
            val_fraction,
            seed,
            progress,
        )
        self._moments: Moments | None = None

    def validate(self) -> None:
        """Numbers only (missing cells and mixed tables are fitted in memory) and at least 2 rows."""
        self.stream.check_numeric()
        if self.n_samples < 2:
            raise DataError(f"training needs at least 2 samples, got n_samples={self.n_samples} in {self.name}")

    def _statistics(self) -> Moments:
        """The first pass, once: moments, the validation rows and the robust-scaling sample."""
        if self._moments is not None:
            return self._moments
        n, d, seed = self.n_samples, self.n_features, self._seed
        self._share = min(self._val_fraction, max(1, VALIDATION_BYTES // (4 * d)) / n)
        self._holdout = None
        if round(n * self._val_fraction) >= 1:  # as the in-memory split: none when it rounds to 0 rows
            self._holdout = HashSelect(seed, 0.0, self._share, VALIDATION)
        sample = HashSelect(seed, 0.0, min(1.0, SAMPLE_BYTES // (4 * d) / n), SAMPLE) if self._robust_sample else None
        self._moments, (self._val, self._sample) = self._first_pass([self._holdout, sample])
        return self._moments

    def column_range(self) -> tuple[np.ndarray, np.ndarray]:
        moments = self._statistics()
        return moments.low, moments.high

    def integers(self) -> bool:
        """Whether every value in the file is a whole number."""
        return self._statistics().integers

    def scaling(
        self,
        method: str,
        keep: np.ndarray,
        value_range: tuple[float, float] | None = None,
        channels: int | None = None,
    ) -> Preprocessing:
        """The scaling Preprocessing.fit would learn, from the streamed statistics (a sample for "robust")."""
        if channels is not None:
            raise DataError(
                f"{self.name}: sequences are fitted in memory, not streamed; load the file (aekit.data.load) instead"
            )
        moments = self._statistics()
        if method == "minmax":
            low, high = value_range or (float(moments.low.min()), float(moments.high.max()))
            return Preprocessing.shared_range(self.n_features, low, high, keep=keep)
        if method == "robust":
            assert self._sample is not None, "robust scaling streams with robust_sample=True"
            return Preprocessing.fit(self._sample, "robust", keep=keep)
        if method == "none":
            return Preprocessing(method)
        shift, scale = moments.mean.copy(), np.sqrt(moments.variance())
        shift[~np.isfinite(shift)] = 0.0
        scale[~(scale > 1e-8)] = 1.0  # constant columns: nothing to scale
        shift[keep], scale[keep] = 0.0, 1.0
        return Preprocessing(method, shift.astype(np.float32), scale.astype(np.float32))

    def pca(self, preprocessing: Preprocessing, k: int) -> PCABaseline:
        """Exact PCA of the scaled rows: scaling is affine per feature, so their covariance follows from the raw one."""
        moments, d = self._statistics(), self.n_features
        shift = np.zeros(d) if preprocessing.shift is None else preprocessing.shift.astype(np.float64)
        scale = np.ones(d) if preprocessing.scale is None else preprocessing.scale.astype(np.float64)
        return PCABaseline.from_covariance(
            (moments.mean - shift) / scale, moments.covariance() / np.outer(scale, scale), k
        )

    def batches(self, preprocessing: Preprocessing, shape: tuple[int, ...], val_fraction: float, seed: int) -> Batches:
        def to_input(x: np.ndarray) -> np.ndarray:  # (k, *sample_shape) -> (k, *shape), scaled
            return preprocessing.transform(x).reshape(len(x), *shape)

        self._statistics()
        validation = None
        val = self._val
        if val is not None and len(val):
            if preprocessing.shift is not None:  # in place: the rows are held once
                assert preprocessing.scale is not None, "shift and scale are set together"
                np.subtract(val, preprocessing.shift, out=val)
                np.divide(val, preprocessing.scale, out=val)
            validation = torch.from_numpy(val.reshape(len(val), *shape))
        rows = self.stream
        if self._holdout is not None:
            rows = self.stream.where(HashSelect(seed, self._share, 1.0, VALIDATION))
        return Batches(StreamingBatches(rows, to_input), validation)

    def _first_pass(self, selects: list[HashSelect | None]) -> tuple[Moments, list[np.ndarray | None]]:
        """Moments of every row, and the rows each select keeps, flat (m, d) float32 (None where no select)."""
        stream, d = self.stream, self.n_features
        moments = Moments(d)
        kept = [None if s is None else np.empty((len(stream.where(s)), d), np.float32) for s in selects]
        filled = [0] * len(selects)
        bar = None
        if self._progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(stream), unit="row", desc="statistics", dynamic_ncols=True)
        for rows, x in stream.chunks():
            flat = x.reshape(len(x), -1)  # (k, d)
            moments.update(flat)
            for i, (select, into) in enumerate(zip(selects, kept)):
                if select is not None and into is not None:  # into is None exactly where select is
                    part = flat[select(rows)]
                    into[filled[i] : filled[i] + len(part)] = part
                    filled[i] += len(part)
            if bar is not None:
                bar.update(len(x))
        if bar is not None:
            bar.close()
        return moments, kept
