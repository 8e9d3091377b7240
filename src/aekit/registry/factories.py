"""The user's own networks: factories named by import path, imported only when trusted.

``"package.module:function"`` is all a config holds; :func:`resolve_factory`
imports the module only where ``trust_code`` allows it, so loading a saved model
never runs code its caller did not name.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from aekit.errors import ConfigError

#: ``package.module:function``: dotted identifiers, one colon, a function name.
_FACTORY = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
_MODULE = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")

#: ``trust_code``: None or () trusts nothing, True everything, else module names whose
#: modules and submodules may be imported ("mynets" allows "mynets.sub", not "mynetsx").
TrustCode = bool | str | Iterable[str] | None


def factory_module(path: Any, name: str = "factory") -> str:
    """The module of a factory path, after checking its spelling (nothing is imported).

    Examples
    --------
    >>> factory_module("mynets.conv:make_encoder")
    'mynets.conv'
    """
    if not isinstance(path, str) or not _FACTORY.match(path):
        raise ConfigError(
            f"{name}={path!r} must name a factory as 'package.module:function', e.g. 'mynets:make_encoder'"
        )
    return path.split(":")[0]


def trusted(module: str, trust_code: TrustCode) -> bool:
    """Whether ``trust_code`` allows importing ``module``: equal to or under a listed name.

    Examples
    --------
    >>> trusted("mynets.sub", ["mynets"]), trusted("mynetsx", ["mynets"]), trusted("mynets", None)
    (True, False, False)
    """
    if trust_code is True:
        return True
    if trust_code is None or trust_code is False:
        return False
    names = [trust_code] if isinstance(trust_code, str) else list(trust_code)
    for prefix in names:
        if not isinstance(prefix, str) or not _MODULE.match(prefix):
            raise ConfigError(
                f"trust_code entry {prefix!r} must be a module name such as 'mynets' "
                "(it trusts that module and the modules under it)"
            )
    return any(module == prefix or module.startswith(prefix + ".") for prefix in names)


def check_trusted(path: str, trust_code: TrustCode, name: str = "factory") -> None:
    """Refuse, before importing anything, a factory whose module ``trust_code`` does not allow."""
    module = factory_module(path, name)
    if not trusted(module, trust_code):
        raise ConfigError(
            f"{name}={path!r} is code in module {module!r}, which building this model would import and run, "
            f"and trust_code does not allow it. If you trust that module, pass trust_code=[{module!r}] "
            f"(aekit.load(path, trust_code=[{module!r}]); on the command line --trust-code {module})"
        )


def resolve_factory(path: str, trust_code: TrustCode, name: str = "factory") -> Callable[..., Any]:
    """The function ``path`` (``"package.module:function"``) names, imported only when trusted.

    Parameters
    ----------
    path : str
        ``"package.module:function"``.
    trust_code : None, True, str or iterable of str
        Module names whose modules (and submodules) may be imported; True allows
        any (at fit time the user named the factory); None allows none.
    name : str
        The option ``path`` came from, for the messages.

    Examples
    --------
    >>> resolve_factory("math:hypot", trust_code=["math"])(3, 4)
    5.0
    >>> resolve_factory("math:hypot", trust_code=None)
    Traceback (most recent call last):
    ...
    aekit.errors.ConfigError: factory='math:hypot' is code in module 'math', which building this model would \
import and run, and trust_code does not allow it. If you trust that module, pass trust_code=['math'] \
(aekit.load(path, trust_code=['math']); on the command line --trust-code math)
    """
    check_trusted(path, trust_code, name)
    module_name, function = path.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"{name}={path!r}: cannot import module {module_name!r} ({exc}); is it on the "
            "Python path (PYTHONPATH, or installed)?"
        ) from None
    factory = getattr(module, function, None)
    if not callable(factory):
        raise ConfigError(f"{name}={path!r}: module {module_name!r} has no function {function!r}")
    return factory


def factory_kwargs(name: str, value: Any) -> str | None:
    """Keyword arguments of a factory as canonical JSON text (so configs stay hashable and
    round-trip through config.json unchanged): a dict or its JSON text; None for none.

    Examples
    --------
    >>> factory_kwargs("encoder_kwargs", {"width": 8, "act": "relu"})
    '{"act":"relu","width":8}'
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ConfigError(
                f'{name}={value!r} must be a JSON object of keyword arguments, e.g. {{"width": 64}}'
            ) from None
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ConfigError(f"{name}={value!r} must be a dict of keyword arguments (names to JSON values)")
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{name}={value!r} must hold only JSON values (numbers, strings, lists, dicts, true/false/null): {exc}"
        ) from None
