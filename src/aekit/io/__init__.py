"""Files: the model directory (:mod:`aekit.io.model_dir`, safetensors + JSON, nothing
unpickled) and arrays written a chunk at a time (:mod:`aekit.io.arrays`)."""

from __future__ import annotations

from aekit.io.model_dir import CONFIG, FORMAT, HISTORY, METRICS, WEIGHTS, SavedModel, load, save

__all__ = ["CONFIG", "FORMAT", "HISTORY", "METRICS", "WEIGHTS", "SavedModel", "load", "save"]
