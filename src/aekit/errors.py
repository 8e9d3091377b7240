"""Errors aekit raises on purpose.

Every message names the bad value (file, row, column, option) and says what is
allowed, so a user can act on it without reading a traceback.
"""

from __future__ import annotations


class AekitError(Exception):
    """Base class of every error aekit raises deliberately."""


class DataError(AekitError, ValueError):
    """Input data that cannot be used: unreadable, empty, non-finite, wrong shape."""


class DataTypeError(DataError, TypeError):
    """Input of a kind aekit cannot use at all: sparse, complex or non-numeric."""


class ConfigError(AekitError, ValueError):
    """An option outside its allowed range, or an unknown component name."""


class ModelFileError(AekitError, OSError):
    """A model directory file that is missing, truncated, tampered with or mismatched."""


class TrainingError(AekitError, RuntimeError):
    """Training could not continue (for example a non-finite loss)."""


class TrainingInterrupted(AekitError, KeyboardInterrupt):
    """Ctrl-C during training; the message says what was saved and how to resume."""
