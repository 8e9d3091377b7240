"""The scikit-learn facades: :class:`AutoEncoder` and :class:`AnomalyDetector`.

They map keyword arguments onto configs, hand fitting to :mod:`aekit.fitting` and
use the fitted model through the public model contract.
"""

from __future__ import annotations

from aekit.estimators.anomaly import AnomalyDetector
from aekit.estimators.autoencoder import AutoEncoder
from aekit.estimators.series import SeriesAnomalyDetector

__all__ = ["AnomalyDetector", "AutoEncoder", "SeriesAnomalyDetector"]
