"""A fitted estimator over a file read in chunks (:class:`~aekit.data.RowStream`):
codes of every row, written as they come, with memory that does not grow with the file.
Fitting on a stream is :mod:`aekit.fitting` (``AutoEncoder.fit(open_stream(path))``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aekit.data import Dataset
from aekit.data.stream import HashSelect, ParquetStream, RowStream
from aekit.fitting.evaluate import evaluate
from aekit.fitting.sources import SAMPLE, SAMPLE_BYTES
from aekit.io.arrays import array_writer


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
    sample = HashSelect(0, 0.0, min(1.0, SAMPLE_BYTES // (4 * stream.n_features) / len(stream)), SAMPLE)
    sampled: list[Any] = []  # filled as the chunks go by; read once they are done

    def chunks() -> Iterator[Any]:
        for rows, source in model_inputs(est, stream):
            xs = est._model_input(source)
            if est.model_.capabilities.stochastic:
                sampled.append(xs[torch.from_numpy(sample(rows))])
            yield xs

    return evaluate(est.model_, est.pca_, chunks(), bound_rows=sampled)


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
