"""Training batches from a :class:`~aekit.data.row_stream.RowStream`, shuffled through a bounded buffer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from aekit.data.row_stream import RowStream

if TYPE_CHECKING:
    import torch

BUFFER_BYTES = 128 << 20  # the shuffle buffer's default budget (at most 65,536 rows)


class StreamingBatches:
    """A :class:`~aekit.train.Trainer` batch source over a :class:`RowStream`.

    Each epoch reads the blocks in an order drawn from the trainer's generator and
    fills a shuffle buffer of ``stream.buffer_rows`` rows (default: 65,536 or 128
    MiB). When it is full, a permutation drawn from the generator picks batches
    until half of it is left, which mixes with the next blocks; at the end of the
    file the rest goes out, the last batch possibly short. Every row comes once
    per epoch; memory holds the buffer plus one chunk. All randomness comes from
    the generator, so a seeded run repeats and a resumed one continues exactly.

    Parameters
    ----------
    stream : RowStream
        The training rows (a view without the validation rows).
    transform : callable, optional
        Samples (k, *sample_shape) -> model input (k, *input_shape) float32, e.g.
        the fitted preprocessing, applied per chunk.

    Examples
    --------
    >>> import tempfile, pathlib, torch
    >>> from aekit.data.stream import open_stream
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
    >>> np.save(p, np.arange(20.0).reshape(10, 2))
    >>> source = StreamingBatches(open_stream(p, chunk_rows=3, buffer_rows=4))
    >>> batches = list(source.batches(torch.Generator().manual_seed(0), 2, torch.device("cpu")))
    >>> len(source), len(batches), sorted(torch.cat(batches)[:, 0].tolist()) == list(np.arange(0.0, 20, 2))
    (10, 5, True)
    """

    def __init__(self, stream: RowStream, transform: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self.stream = stream
        self.transform = transform

    def __len__(self) -> int:
        return len(self.stream)

    def batches(self, generator: torch.Generator, batch_size: int, device: torch.device) -> Iterator[torch.Tensor]:
        """One epoch of shuffled batches (batch, *input_shape), float32, on ``device``."""
        import torch  # here, so that aekit.data itself does not need torch

        s = self.stream
        cap = s.buffer_rows or min(65536, max(1, BUFFER_BYTES // (4 * s.n_features)))
        cap = max(cap, 2 * batch_size)  # half a buffer must hold a batch, or nothing could go out
        order = torch.randperm(len(s.blocks()), generator=generator).tolist()
        buf, m = None, 0
        for _, x in s.chunks(order):
            if self.transform is not None:
                x = self.transform(x)
            if buf is None:  # (cap + chunk_rows, *input_shape): a full buffer plus one more chunk
                buf = np.empty((cap + s.chunk_rows, *x.shape[1:]), np.float32)
            buf[m : m + len(x)] = x
            m += len(x)
            if m >= cap:
                perm = torch.randperm(m, generator=generator).numpy()
                n_out = min(-(-(m - cap // 2) // batch_size) * batch_size, m // batch_size * batch_size)
                for i in range(0, n_out, batch_size):
                    yield torch.from_numpy(buf[perm[i : i + batch_size]]).to(device)  # (batch, *input_shape)
                m = _compact(buf, perm[:n_out], m)
        if m:
            assert buf is not None, "rows were read, so the buffer was made"
            perm = torch.randperm(m, generator=generator).numpy()
            for i in range(0, m, batch_size):
                yield torch.from_numpy(buf[perm[i : i + batch_size]]).to(device)


def _compact(buf: np.ndarray, gone: np.ndarray, m: int, piece: int = 4096) -> int:
    """Move the rows of ``buf[:m]`` not in ``gone`` to the front, in place; returns how many stay.

    Only the rows beyond the new end move, into the holes before it, a piece at a
    time: no copy of the whole rest (half a buffer) is ever held.
    """
    r = m - len(gone)
    emitted = np.zeros(m, dtype=bool)
    emitted[gone] = True
    holes = np.flatnonzero(emitted[:r])  # free slots before the new end
    movers = r + np.flatnonzero(~emitted[r:m])  # rows kept beyond it; as many as holes
    for i in range(0, len(holes), piece):
        buf[holes[i : i + piece]] = buf[movers[i : i + piece]]
    return r
