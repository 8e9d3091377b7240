"""The ``aekit`` command: one module per command group, registered on :data:`main`.

:mod:`aekit.cli.common` holds the group and the helpers the command modules share;
importing a command module registers its commands.
"""

from __future__ import annotations

from aekit.cli import anomaly, explore, export, generate, model, report, series, sweep  # noqa: F401  (registers commands)
from aekit.cli.common import main

__all__ = ["main"]
