"""Training: the loop (:mod:`aekit.train.loop`) and DistributedDataParallel under torchrun
(:mod:`aekit.train.distributed`). The trainer trains any module with ``loss(x) -> dict``
on any batch source; it knows nothing about variants, data kinds or where rows come from.
"""

from __future__ import annotations

from aekit.train import distributed
from aekit.train.batches import TensorBatches
from aekit.train.loop import (
    CHECKPOINT_FILE,
    Trainer,
    remove_checkpoint,
)
from aekit.train.settings import (
    cpu_has_fast_bf16,
    lr_at,
    resolve_device,
    resolve_precision,
)

__all__ = [
    "CHECKPOINT_FILE",
    "TensorBatches",
    "Trainer",
    "cpu_has_fast_bf16",
    "distributed",
    "lr_at",
    "remove_checkpoint",
    "resolve_device",
    "resolve_precision",
]
