"""Baselines, metrics and sweeps that put a model's numbers in context.

:mod:`~aekit.analysis.baselines`, :mod:`~aekit.analysis.embeddings` and
:mod:`~aekit.analysis.vae` are low in the house (the fit pipeline and the model
directory use the PCA baseline); :mod:`~aekit.analysis.sweep` trains estimators and
sits above them, so it is imported on first use rather than here.
"""

from __future__ import annotations

from typing import Any

from aekit.analysis.baselines import PCABaseline
from aekit.analysis.embeddings import compare_embeddings, knn_accuracy, linear_probe_accuracy

__all__ = ["PCABaseline", "compare_embeddings", "knn_accuracy", "linear_probe_accuracy", "run_sweep"]


def __getattr__(name: str) -> Any:
    if name == "run_sweep":  # PEP 562: a higher layer, imported when asked for
        import importlib

        return importlib.import_module("aekit.analysis.sweep").run_sweep
    raise AttributeError(f"module 'aekit.analysis' has no attribute {name!r}")
