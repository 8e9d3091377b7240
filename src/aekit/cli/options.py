"""CLI flags read off the option table (:func:`aekit.config.options.options`): one flag per option,
its help the option's reason, allowed values and true default, so the CLI can never
name an old default or miss an option the estimator has.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from aekit.config.options import Option, options
from aekit.errors import ConfigError


def _parse_value(opt: Option, text: str) -> Any:
    """A flag's text as the option's value: JSON where it parses (numbers, lists, null), else the text;
    ``2,8,8`` is read as a list of integers."""
    if text.lower() in ("none", "null"):
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    if "tuple" in opt.type and "," in text:
        try:
            return [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise ConfigError(f"{opt.flag} {text!r} must be a list of integers, e.g. 256,64 or [256, 64]") from None
    return text


def help_text(opt: Option) -> str:
    """The flag's help: reason, allowed values, default."""
    allowed = opt.choices()
    parts = [opt.doc.rstrip(".")]
    if allowed:
        parts.append("one of: " + ", ".join(allowed))
    default = (
        "none"
        if opt.default is None
        else json.dumps(list(opt.default) if isinstance(opt.default, tuple) else opt.default)
    )
    if opt.group == "model" and opt.name not in ("code_dim", "variant"):
        default += ", unless the variant presets it"
    return "; ".join(parts) + f" [default: {default}]"


def _click_option(opt: Option) -> Callable[[Any], Any]:
    kind = opt.type.replace(" ", "")
    kwargs: dict[str, Any] = {"default": None, "help": help_text(opt), "show_default": False}
    if kind == "bool":
        return click.option(f"{opt.flag}/--no-{opt.flag[2:]}", opt.name, **kwargs)
    allowed = opt.choices()
    if allowed and "None" not in kind:
        return click.option(opt.flag, opt.name, type=click.Choice(list(allowed)), **kwargs)
    if kind in ("int", "float"):
        return click.option(opt.flag, opt.name, type=int if kind == "int" else float, **kwargs)
    return click.option(opt.flag, opt.name, type=str, metavar="VALUE", **kwargs)


def option_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add a flag for every option to a click command (they arrive as keyword arguments)."""
    for opt in reversed(options()):
        command = _click_option(opt)(command)
    return command


def given_options(flags: dict[str, Any]) -> dict[str, Any]:
    """The estimator parameters the user gave as flags (``--seed 3`` -> ``{"random_state": 3}``);
    removes them from ``flags``."""
    out = {}
    for opt in options():
        value = flags.pop(opt.name, None)
        if value is None:
            continue
        if isinstance(value, str) and opt.type.replace(" ", "") not in ("str",):
            value = _parse_value(opt, value)
        out[opt.param] = value
    return out


def option_names() -> dict[str, str]:
    """TOML key / ``--set`` key -> estimator parameter, for every option (both spellings of a renamed one)."""
    out = {}
    for opt in options():
        out[opt.name] = opt.param
        out[opt.param] = opt.param
    return out


def to_params(settings: dict[str, Any], where: str) -> dict[str, Any]:
    """Keys of a TOML file or ``--set`` pairs as estimator parameters; an unknown key is named with the allowed ones."""
    names = option_names()
    unknown = sorted(set(settings) - set(names))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {unknown} in {where}; allowed: {', '.join(sorted(o.name for o in options()))}"
        )
    return {names[key]: value for key, value in settings.items()}
