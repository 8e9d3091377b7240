"""Baselines, metrics and sweeps that put a model's numbers in context."""

from aekit.analysis.baselines import PCABaseline

__all__ = ["PCABaseline"]
