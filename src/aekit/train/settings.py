"""Where and how a run trains: the device, the autocast precision, the learning rate at each step."""

from __future__ import annotations

import math

import torch

from aekit.config import TrainConfig
from aekit.errors import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; anything else is passed to torch."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"device={name!r} is not a torch device ({exc}); use auto, cpu, cuda or mps") from None


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU has native bfloat16 dot products (AVX512-BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo") as fh:
            flags = fh.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype to train with, or None for float32.

    ``auto`` uses bfloat16 where the hardware runs it natively and falls back to
    float32 elsewhere; ``bf16`` insists (and still falls back, with no error, on a
    device that cannot autocast at all).
    """
    if precision == "fp32":
        return None
    if device.type == "cuda":
        ok = torch.cuda.is_bf16_supported()
    elif device.type == "cpu":
        ok = precision == "bf16" or cpu_has_fast_bf16()
    else:
        ok = False
    return torch.bfloat16 if ok else None


def lr_at(config: TrainConfig, step: int, total: int) -> float:
    """The learning rate at optimiser step ``step`` of ``total``."""
    peak = config.lr
    t = min(step / max(total, 1), 1.0)
    if config.schedule == "constant":
        return peak
    if config.schedule == "cosine":
        return peak * 0.5 * (1 + math.cos(math.pi * t))
    # onecycle (Smith & Topin 2017): linear warm-up from peak/25, cosine down to peak/1e4.
    start, end = peak / 25, peak / 1e4
    if t < config.warmup:
        return start + (peak - start) * t / config.warmup
    u = (t - config.warmup) / max(1 - config.warmup, 1e-12)
    return end + (peak - end) * 0.5 * (1 + math.cos(math.pi * u))
