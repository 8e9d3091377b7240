"""What the fuzzer feeds each aekit reader, and the one property every input must keep.

Each :class:`Target` pairs a Hypothesis strategy that draws a *case* (the files to
write, the path to load, the options to load it with) with the code that loads it.
:func:`attempt` runs one case and classifies the outcome:

``loaded``
    the reader returned, and the result is sane (float32, finite where it must be,
    the documented shape; a model transforms its own training data to finite codes);
``error``
    the reader raised an :class:`aekit.errors.AekitError` whose message names the
    file (or the folder or model directory) it was given;
``failure``
    anything else: another exception (TypeError, ValueError, MemoryError, a
    RuntimeWarning from aekit's own code, a Pillow or pyarrow error ...), an
    error message that does not name the file, an insane result, or a hang
    (the input ran past its time limit).

The strategies are in ``fuzz/files.py`` and ``fuzz/models.py``.
``tests/test_fuzz_readers.py`` asserts the property over a few hundred inputs per
reader; ``fuzz/run.py`` runs thousands and prints a table (see fuzz/README.md).
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from aekit.errors import AekitError
from fuzz.cases import Case
from fuzz.files import csv_cases, idx_cases, image_cases, npy_cases, npz_cases, parquet_cases
from fuzz.models import config_cases, load_model, safetensors_cases

__all__ = ["TARGETS", "Case", "Outcome", "Target", "attempt"]


# -- the property ----------------------------------------------------------------------------
class Hang(BaseException):
    """Raised by the per-input alarm; a BaseException so no ``except Exception`` swallows it."""


@dataclass
class Outcome:
    kind: str  # "loaded", "error" or "failure"
    detail: str = ""


def _alarm(signum, frame):
    raise Hang()


def attempt(target: Target, case: Case, workdir: Path, timeout: float = 20.0) -> Outcome:
    """Write ``case`` under ``workdir``, load it with ``target`` and classify the outcome."""
    folder = Path(tempfile.mkdtemp(dir=workdir))
    try:
        for name, data in case.files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        path = folder / case.target
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # As pyproject.toml's pytest settings: a RuntimeWarning from aekit's code is a bug.
                warnings.filterwarnings("error", category=RuntimeWarning, module="aekit")
                problem = target.load(path, case)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    except Hang:
        return Outcome("failure", f"hang: still running after {timeout} s")
    except AekitError as exc:
        message = str(exc)
        names = {Path(name).name for name in case.files} | {Path(case.target).name}
        if not any(name and name in message for name in names):
            return Outcome("failure", f"{type(exc).__name__} does not name the file: {message}")
        return Outcome("error", f"{type(exc).__name__}: {message}")
    except BaseException as exc:  # noqa: BLE001 - classifying everything is the point
        if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, AekitError):
            raise
        return Outcome("failure", "".join(traceback.format_exception(exc)[-12:]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if problem:
        return Outcome("failure", f"loaded, but {problem}")
    return Outcome("loaded")


@dataclass
class Target:
    name: str
    strategy: st.SearchStrategy
    load: Callable[[Path, Case], str | None]  # returns a problem with the result, or None


# -- loading and sanity ---------------------------------------------------------------------
def _load_data(path: Path, case: Case) -> str | None:
    from aekit.data import load

    ds = load(path, **case.options)
    x = ds.x
    if x.dtype != np.float32 or not x.flags.c_contiguous:
        return f"x is {x.dtype}, contiguous={x.flags.c_contiguous}"
    if x.ndim != {"image": 4, "sequence": 3}.get(ds.kind, 2) or len(x) < 1 or x.size == 0:
        return f"x has shape {x.shape} for kind {ds.kind}"
    masked = case.options.get("missing") == "mask" and ds.kind == "table"
    if not (np.isfinite(x).all() or (masked and not np.isinf(x).any())):
        return "x holds non-finite values"
    if ds.y is not None and (ds.y.shape != (len(x),) or ds.y.dtype != np.int64):
        return f"y has shape {ds.y.shape} and dtype {ds.y.dtype}"
    if "limit" in case.options and len(x) > case.options["limit"]:
        return f"limit={case.options['limit']} but {len(x)} rows came back"
    return None


TARGETS = {
    "idx": Target("idx", idx_cases(), _load_data),
    "npy": Target("npy", npy_cases(), _load_data),
    "npz": Target("npz", npz_cases(), _load_data),
    "csv": Target("csv", csv_cases(), _load_data),
    "parquet": Target("parquet", parquet_cases(), _load_data),
    "images": Target("images", image_cases(), _load_data),
    "config": Target("config", config_cases(), load_model),
    "safetensors": Target("safetensors", safetensors_cases(), load_model),
}
