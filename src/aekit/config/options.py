"""The option table: every user-facing option of the config groups, stated once in their
fields (default, allowed values, reason). The estimator's parameters, the ``aekit fit``
flags, the TOML keys and the README's table are read off :func:`options`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from aekit.config import DataConfig, ModelConfig, TrainConfig

#: Config groups whose fields are user options, in the order the docs list them.
GROUPS: dict[str, type] = {"model": ModelConfig, "train": TrainConfig, "data": DataConfig}
#: Option names whose estimator parameter follows scikit-learn's spelling instead.
PARAM_NAMES = {"seed": "random_state"}


@dataclass(frozen=True)
class Option:
    """One user-facing option, read off a config field: the estimator parameter, the CLI
    flag, the TOML key and the README row all come from here.

    Examples
    --------
    >>> opt = next(o for o in options() if o.name == "code_dim")
    >>> opt.group, opt.flag, opt.default
    ('model', '--code-dim', 32)
    >>> next(o for o in options() if o.name == "seed").param
    'random_state'
    """

    name: str  # the config field, the TOML key and the key in config.json
    group: str  # "model", "train" or "data"
    default: Any
    doc: str
    type: str  # the field's annotation, as written
    choices_from: tuple[str, ...] | str | None

    @property
    def param(self) -> str:
        """The estimator's keyword argument."""
        return PARAM_NAMES.get(self.name, self.name)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def choices(self) -> tuple[str, ...] | None:
        """The allowed values: fixed, or the names in a registry as it is now."""
        if self.choices_from is None or isinstance(self.choices_from, tuple):
            return self.choices_from
        if self.choices_from == "ACTIVATIONS":
            from aekit.nn import ACTIVATIONS

            return tuple(ACTIVATIONS)
        import aekit.registry as registry

        return tuple(getattr(registry, self.choices_from).names())


def options() -> list[Option]:
    """Every user-facing option of every group (internal fields, set by the fit, excluded)."""
    out = []
    for group, cls in GROUPS.items():
        for f in dataclasses.fields(cls):
            if f.metadata.get("internal"):
                continue
            out.append(
                Option(f.name, group, f.default, f.metadata.get("doc", ""), str(f.type), f.metadata.get("choices"))
            )
    return out


def markdown_table() -> str:
    """The README's table of options (tests/test_options.py keeps the README equal to it)."""
    rows = ["| option | group | default | what it does |", "|---|---|---|---|"]
    for opt in options():
        allowed = opt.choices()
        doc = opt.doc + (
            f" (one of: {', '.join(allowed)})"
            if allowed and opt.choices_from != "VARIANTS" and isinstance(opt.choices_from, tuple)
            else ""
        )
        rows.append(f"| `{opt.param}` | {opt.group} | `{opt.default!r}` | {doc.replace('|', '/')} |")
    return "\n".join(rows)
