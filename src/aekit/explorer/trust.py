"""What the explorer reads on a model folder's word: the data spec it records is data, not an instruction.

A model folder may come from someone else. Its ``config.json`` records the data set it
was fitted on (``aekit fit`` writes it), and ``aekit explore MODEL`` uses that record
when no ``--data`` is given. The record is followed only when it names

* a builtin set (``builtin:NAME?...``), whose parameters
  :func:`aekit.data.builtins.load_builtin` checks against their documented bounds before
  allocating anything, or
* a file or folder inside the model folder (after following symlinks).

Anything else (``/home/you/secret.npy``, ``../../data.csv``, a symlink out of the folder)
is refused with a message that names the path and the command that opens it on the
user's own word: ``aekit explore MODEL --data PATH``. What the user names is read as
given. Loading never unpickles: arrays are read with ``allow_pickle=False``, models
through safetensors and JSON.
"""

from __future__ import annotations

from pathlib import Path

from aekit.data import BUILTIN_PREFIX
from aekit.errors import ConfigError


def recorded_data_spec(model_dir: str | Path, spec: str) -> str:
    """The data spec to load for a model folder that records ``spec``; refuse one pointing elsewhere.

    Parameters
    ----------
    model_dir : path
        The model folder.
    spec : str
        The data spec its ``config.json`` records. A relative path is taken relative to
        the model folder.

    Returns
    -------
    str
        ``spec`` itself for a builtin set; the resolved path for a file or folder inside
        ``model_dir``.

    Raises
    ------
    ConfigError
        A path outside the model folder (or missing from it), naming the path and
        ``aekit explore MODEL --data PATH``.

    Examples
    --------
    >>> recorded_data_spec("some-model", "builtin:digits")
    'builtin:digits'
    >>> recorded_data_spec("some-model", "/etc/passwd")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    aekit.errors.ConfigError: model folder some-model records its data at '/etc/passwd', outside the folder; ...
    """
    if spec.startswith(BUILTIN_PREFIX):
        return spec
    folder = Path(model_dir).resolve()
    recorded = Path(spec)
    candidate = (recorded if recorded.is_absolute() else folder / recorded).resolve()
    if candidate.is_relative_to(folder) and candidate != folder and candidate.exists():
        return str(candidate)
    where = "outside the folder" if not candidate.is_relative_to(folder) else "not found inside the folder"
    raise ConfigError(
        f"model folder {model_dir} records its data at {spec!r}, {where}; "
        "a model folder may come from someone else, so the explorer opens only builtin sets, files inside "
        f"the folder and what you name. If you trust that path, open it with: aekit explore {model_dir} "
        f"--data {spec}"
    )
