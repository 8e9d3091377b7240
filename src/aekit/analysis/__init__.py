"""Baselines, metrics and sweeps that put a model's numbers in context."""

from aekit.analysis.baselines import PCABaseline
from aekit.analysis.embeddings import compare_embeddings, knn_accuracy, linear_probe_accuracy
from aekit.analysis.sweep import run_sweep

__all__ = ["PCABaseline", "compare_embeddings", "knn_accuracy", "linear_probe_accuracy", "run_sweep"]
