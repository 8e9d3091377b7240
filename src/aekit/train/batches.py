"""The default batch source: samples held in one tensor, reshuffled every epoch.

A batch source is anything with ``__len__`` and ``batches(generator, batch_size, device)``
(and optionally ``to(device)``); the trainer reads nothing else of where rows come from.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch


class TensorBatches:
    """The default batch source: samples held in one tensor, reshuffled every epoch.

    Parameters
    ----------
    x : torch.Tensor
        The training samples, shape (n, *sample_shape), already on the training device.

    Examples
    --------
    >>> source = TensorBatches(torch.arange(10.0).reshape(5, 2))
    >>> [tuple(b.shape) for b in source.batches(torch.Generator().manual_seed(0), 2, torch.device("cpu"))]
    [(2, 2), (2, 2), (1, 2)]
    """

    def __init__(self, x: torch.Tensor):
        self.x = x

    @classmethod
    def holdout(cls, x: torch.Tensor, val_fraction: float, seed: int) -> tuple[TensorBatches, torch.Tensor | None]:
        """Hold out the last ``val_fraction`` of a permutation seeded by ``seed``: (training source, validation rows).

        No rows are held out when the share rounds to none or to all of them.

        Examples
        --------
        >>> source, val = TensorBatches.holdout(torch.arange(10.0)[:, None], 0.2, seed=0)
        >>> len(source), tuple(val.shape)
        (8, (2, 1))
        """
        x = x.to(torch.float32).contiguous()
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
        n_val = int(round(len(x) * val_fraction))
        if n_val < 1 or len(x) - n_val < 1:
            n_val = 0
        return cls(x[order[: len(x) - n_val]]), (x[order[len(x) - n_val :]] if n_val else None)

    def to(self, device: torch.device) -> TensorBatches:
        """The same samples on ``device`` (the trainer moves them once, not every batch)."""
        return TensorBatches(self.x.to(device))

    def __len__(self) -> int:
        return len(self.x)

    def batches(self, generator: torch.Generator, batch_size: int, device: torch.device) -> Iterator[torch.Tensor]:
        """One epoch: a permutation drawn from ``generator``, then batches of ``batch_size`` rows in its order."""
        perm = torch.randperm(len(self.x), generator=generator).to(device)
        for i in range(0, len(self.x), batch_size):
            yield self.x[perm[i : i + batch_size]]  # (batch, *sample_shape)
