"""Training on several processes and machines with PyTorch's DistributedDataParallel.

Launched by ``torchrun``, which sets ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT`` in every process. :func:`setup` joins that
process group (gloo for CPU tensors, and NCCL for CUDA tensors where CUDA exists);
outside torchrun everything here is a no-op and ``world_size() == 1``.

How one training step splits (Goyal et al. 2017, "Accurate, Large Minibatch SGD",
sec. 3: normalise each worker's loss by the total minibatch, not its own share):

- ``batch_size`` is the *global* batch. Every rank draws the same seeded
  permutation (the shuffle generator starts from the same seed everywhere), cuts
  the same global batches, and takes the r-th of ``world_size`` contiguous shards
  of each (:class:`ShardedBatches`). Together the ranks see every row once.
- Each rank's loss is a mean over its shard; DDP averages gradients over ranks.
  With equal shards that *is* the single-process gradient of the global batch.
  Unequal shards (a global batch not divisible by ``world_size``, the short last
  batch) are weighted by ``rows * world_size / batch_rows`` so the average stays
  the global mean. A rank whose shard is empty (a last batch smaller than
  ``world_size``) runs one stand-in row with weight 0: DDP needs every rank in
  every backward.
- The per-step loss terms are summed over ranks (one small all-reduce), so the
  history is global and a non-finite loss stops every rank at the same step.
- Buffers (a VQ codebook and its EMA statistics, a likelihood's variance) follow
  rank 0: DDP broadcasts them before each forward and :meth:`DistributedRun.sync_buffers`
  once more after each epoch, so every rank validates and checkpoints the same model.
- Randomness inside the model (corruption, VAE sampling, dynamic binarisation)
  draws from a separate torch RNG stream per rank, so shards get independent noise.
  The checkpoint keeps every rank's stream, so a resumed run continues exactly.

What matches one process with the same global batch:

- Losses that are means of per-sample terms with no randomness (plain, sparse L1,
  contractive, tied, linear; MLP and conv) give the same weights up to float32
  summation order (3 epochs of Adam: 6e-8 for an MLP, 2e-6 for a conv model).
- Random draws (denoising, VAE sampling, binarisation) differ from one process's:
  the same training, other noise.
- Statistics of a batch inside a loss are per shard: the VAE's optimal variance
  sigma2, the KL-sparsity penalty's mean activation, free bits' batch-mean KL.
  The VQ EMA codebook, its k-means start and dead-code resets learn from rank 0's
  shards only, and codebook usage and sigma2's epoch average are rank 0's too
  (buffers follow rank 0). Every rank holds the same model; it is not the model one
  process would train. Exact versions need an all-reduce inside those modules.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import torch
import torch.distributed as dist
from torch import nn

from aekit.errors import ConfigError, TrainingError

#: Rank r seeds its torch RNG with ``seed + r * RANK_SEED_STRIDE``: independent noise per rank.
RANK_SEED_STRIDE = 1_000_003
_TORCHRUN_VARS = ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
_owned = False  # whether setup() created the process group (and so must destroy it)


def launched() -> bool:
    """Whether this process was started as one of several by torchrun (``WORLD_SIZE > 1``).

    Examples
    --------
    >>> import os
    >>> launched() == (int(os.environ.get("WORLD_SIZE", "1")) > 1)
    True
    """
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        raise ConfigError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} must be an integer") from None


def setup() -> bool:
    """Join the process group torchrun describes; True when training is distributed.

    Idempotent: a group already initialised (by an earlier call or the caller) is
    used as it is. Backend ``gloo`` for CPU tensors, plus ``nccl`` for CUDA tensors
    where CUDA exists (each process then uses GPU ``LOCAL_RANK``). Outside torchrun
    it does nothing and returns False.

    Examples
    --------
    >>> setup() if not launched() else False  # a plain ``python`` process
    False
    """
    global _owned
    if not dist.is_available():
        return False
    if dist.is_initialized():
        return dist.get_world_size() > 1
    if not launched():
        return False
    missing = [name for name in _TORCHRUN_VARS if name not in os.environ]
    if missing:
        raise ConfigError(
            f"WORLD_SIZE={os.environ['WORLD_SIZE']} asks for several processes but {missing} "
            "are not set; launch with torchrun (see the README, 'Training on several machines')"
        )
    backend = "gloo"
    if torch.cuda.is_available():
        backend = "cpu:gloo,cuda:nccl"
        if local_rank() < torch.cuda.device_count():
            torch.cuda.set_device(local_rank())
    dist.init_process_group(backend=backend)  # env:// rendezvous from torchrun's variables
    _owned = True
    atexit.register(teardown)
    return dist.get_world_size() > 1


def teardown() -> None:
    """Destroy the process group if :func:`setup` created it; safe to call twice.

    Examples
    --------
    >>> teardown()  # nothing to do outside torchrun
    """
    global _owned
    if _owned and dist.is_initialized():
        dist.destroy_process_group()
    _owned = False


def is_active() -> bool:
    """Whether a process group of more than one process is running.

    Examples
    --------
    >>> is_active() or world_size() == 1
    True
    """
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank, 0 to ``world_size() - 1``; 0 outside a process group.

    Examples
    --------
    >>> rank() if not is_active() else 0
    0
    """
    return dist.get_rank() if is_active() else 0


def world_size() -> int:
    """Number of training processes; 1 outside a process group.

    Examples
    --------
    >>> world_size() if not is_active() else 1
    1
    """
    return dist.get_world_size() if is_active() else 1


def local_rank() -> int:
    """This process's index on its machine (torchrun's ``LOCAL_RANK``); 0 outside torchrun.

    Examples
    --------
    >>> local_rank() if "LOCAL_RANK" not in os.environ else 0
    0
    """
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    """True on rank 0, the process that writes files and prints; True outside torchrun.

    Examples
    --------
    >>> is_main() or is_active()
    True
    """
    return rank() == 0


def barrier() -> None:
    """Wait until every process gets here; a no-op outside a process group.

    Examples
    --------
    >>> barrier()
    """
    if is_active():
        dist.barrier()


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first, the others after it: one download fills a shared cache.

    Examples
    --------
    >>> with main_first():
    ...     x = 1 + 1
    >>> x
    2
    """
    if is_active() and not is_main():
        barrier()
    try:
        yield
    finally:
        if is_active() and is_main():
            barrier()


def gather(obj: Any) -> list[Any]:
    """``obj`` from every rank, in rank order (any picklable object, e.g. an RNG state).

    Examples
    --------
    >>> gather("state") if not is_active() else ["state"]
    ['state']
    """
    if not is_active():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def agree(value: Any, error: Exception | None, what: str, hint: str = "") -> None:
    """Raise on every rank if any rank failed, or if the ranks disagree on ``value``.

    A failure on one rank alone would leave the others waiting in a collective
    forever. ``what`` names the value in the message, ``hint`` says what to do.

    Examples
    --------
    >>> agree(3, None, "the epoch to resume from")  # one process agrees with itself
    """
    seen = gather((value, None if error is None else f"{type(error).__name__}: {error}"))
    if error is not None:
        raise error
    for r, (_, message) in enumerate(seen):
        if message is not None:
            raise TrainingError(f"rank {r} failed while settling {what}: {message}")
    values = {r: v for r, (v, _) in enumerate(seen)}
    if len({repr(v) for v in values.values()}) > 1:
        raise TrainingError(f"the ranks disagree on {what}: {values} (by rank){hint}")


def training_device(device: torch.device) -> torch.device:
    """The device this process trains on: a CUDA device becomes GPU ``LOCAL_RANK``.

    Examples
    --------
    >>> training_device(torch.device("cpu"))
    device(type='cpu')
    """
    if device.type != "cuda" or not is_active():
        return device
    if local_rank() >= torch.cuda.device_count():
        raise ConfigError(
            f"LOCAL_RANK={local_rank()} has no GPU: this machine has {torch.cuda.device_count()}; "
            "start at most that many processes per node (torchrun --nproc_per_node)"
        )
    return torch.device("cuda", local_rank())


@contextlib.contextmanager
def warnings_from_main_only(rank: int) -> Iterator[None]:
    """Ranks other than 0 drop the warnings raised in the block, so each is shown once.

    Examples
    --------
    >>> with warnings_from_main_only(1):
    ...     warnings.warn("said by every rank")  # silent on rank 1
    """
    if rank == 0:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


class Shard(NamedTuple):
    """One rank's part of a global batch."""

    x: torch.Tensor  # (rows, *sample_shape); (1, *sample_shape) stand-in row when rows == 0
    rows: int  # real rows of this rank
    batch_rows: int  # rows of the global batch


class ShardedBatches:
    """A batch source cut into per-rank shards: the distributed sampler.

    Parameters
    ----------
    source : batch source
        ``__len__`` and ``batches(generator, batch_size, device)`` (e.g.
        :class:`aekit.train.TensorBatches`), with the same data on every rank.
    rank, world_size : int, optional
        Default: this process's.

    Every rank draws the same global batches (the same generator state) and keeps
    the ``rank``-th of ``world_size`` contiguous shards of each, sizes differing by
    at most one row (``torch.tensor_split``). ``len()`` is the global sample count.

    Examples
    --------
    >>> from aekit.train import TensorBatches
    >>> source = TensorBatches(torch.arange(7.0)[:, None])  # 7 samples, shape (7, 1)
    >>> g = lambda: torch.Generator().manual_seed(0)
    >>> [(s.rows, s.batch_rows) for s in ShardedBatches(source, 1, 2).shards(g(), 5, torch.device("cpu"))]
    [(2, 5), (1, 2)]
    >>> whole = torch.cat([s.x for r in (0, 1) for s in ShardedBatches(source, r, 2).shards(g(), 7, "cpu")])
    >>> sorted(whole.flatten().tolist())
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    """

    def __init__(self, source: Any, rank: int | None = None, world_size: int | None = None):
        self.source = source
        active = is_active()
        self.world_size = (dist.get_world_size() if active else 1) if world_size is None else world_size
        self.rank = (dist.get_rank() if active else 0) if rank is None else rank
        if not 0 <= self.rank < self.world_size:
            raise ConfigError(
                f"rank={self.rank} must lie in [0, {self.world_size - 1}] for world_size={self.world_size}"
            )

    def __len__(self) -> int:
        return len(self.source)

    def shards(self, generator: torch.Generator, batch_size: int, device: torch.device | str) -> Iterator[Shard]:
        """This rank's shard of each global batch of ``batch_size`` rows, in order."""
        for xb in self.source.batches(generator, batch_size, torch.device(device)):  # (batch, *sample_shape)
            part = torch.tensor_split(xb, self.world_size)[self.rank]
            if len(part):
                yield Shard(part, len(part), len(xb))
            else:  # fewer rows than ranks: a stand-in row keeps this rank in DDP's gradient all-reduce;
                # rank 0 never gets one, so buffers it changes are overwritten from rank 0's
                yield Shard(xb[-1:], 0, len(xb))


class _Objective(nn.Module):
    """DDP wraps a module's ``forward``; the model's training entry point is ``loss``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.model.loss(x)


class DistributedRun:
    """What :class:`aekit.train.Trainer` needs from the process group during one ``fit``.

    Parameters
    ----------
    model : nn.Module
        With ``loss(x) -> dict``, already on ``device`` and loaded from any checkpoint:
        DDP copies rank 0's parameters and buffers to every rank when it wraps them.
    device : torch.device

    Examples
    --------
    A process group of one (torchrun would start several):

    >>> from aekit.config import ModelConfig
    >>> from aekit.model import Autoencoder
    >>> dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    >>> run = DistributedRun(Autoencoder(ModelConfig(input_shape=(6,), code_dim=2)), torch.device("cpu"))
    >>> shard = Shard(torch.rand(4, 6), rows=4, batch_rows=4)  # the whole global batch
    >>> terms = run.loss(shard)
    >>> run.weighted(terms["loss"], shard) is terms["loss"]  # equal shards: weight 1
    True
    >>> sums = run.batch_sums(terms, shard)  # each term summed over the global batch's rows
    >>> bool(torch.isclose(sums["loss"], 4 * terms["loss"]))
    True
    >>> run.close(); dist.destroy_process_group()
    """

    def __init__(self, model: nn.Module, device: torch.device):
        self.model = model
        self.device = device
        self.rank = rank()
        self.world_size = world_size()
        device_ids = [device.index] if device.type == "cuda" else None
        # DDP's default copies rank 0's buffers to every rank before each forward: buffers a
        # forward changes (VQ's EMA codebook, the likelihood's variance) stay one model's.
        self.ddp = nn.parallel.DistributedDataParallel(_Objective(model), device_ids=device_ids)

    def loss(self, shard: Shard) -> dict[str, torch.Tensor]:
        """The model's terms on this rank's shard (means over it), through DDP."""
        return self.ddp(shard.x)

    def weighted(self, loss: torch.Tensor, shard: Shard) -> torch.Tensor:
        """``loss`` scaled so that DDP's mean over ranks is the mean over the global batch.

        Equal shards keep weight 1; a rank with ``rows`` of ``batch_rows`` gets
        ``rows * world_size / batch_rows`` (0 for a stand-in row).
        """
        weight = shard.rows * self.world_size / shard.batch_rows
        return loss if weight == 1.0 else loss * weight

    def batch_sums(self, terms: dict[str, torch.Tensor], shard: Shard) -> dict[str, torch.Tensor]:
        """Each term (a mean over the shard) summed over the global batch's rows: one all-reduce."""
        sums = torch.stack([value.detach().float() for value in terms.values()]).to(self.device) * shard.rows
        dist.all_reduce(sums)  # (n_terms,)
        return dict(zip(terms, sums))

    @torch.no_grad()
    def evaluate(
        self, evaluate: Callable[[torch.Tensor], dict[str, float]], x: torch.Tensor, names: list[str]
    ) -> dict[str, float]:
        """Means of ``names`` over ``x`` (n, *sample_shape): each rank evaluates a shard, then one all-reduce.

        ``evaluate(part)`` returns means over ``part``; the result is the same on every rank.
        """
        part = torch.tensor_split(x, self.world_size)[self.rank]
        means = evaluate(part) if len(part) else {}
        sums = torch.tensor(
            [means.get(name, 0.0) * len(part) for name in names], dtype=torch.float64, device=self.device
        )
        dist.all_reduce(sums)
        return {name: float(value) / len(x) for name, value in zip(names, sums)}

    @torch.no_grad()
    def sync_buffers(self) -> None:
        """Copy rank 0's buffers to every rank (the last forward of an epoch changed them locally)."""
        for buffer in self.model.buffers():
            dist.broadcast(buffer, src=0)

    def close(self) -> None:
        """Drop the DDP wrapper (and its gradient hooks) once training is over."""
        self.ddp = None
