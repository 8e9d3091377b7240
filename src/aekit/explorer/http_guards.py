"""What every request passes before a :class:`~aekit.explorer.session.Session` sees it, and the JSON that
comes back: query parameters and JSON bodies parsed strictly, answers and errors as JSON, the count of open
WebSockets. Who may send a request at all (token, Host, Origin) is :mod:`aekit.explorer.auth`.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from aekit.explorer.session import RequestError

log = logging.getLogger("aekit.explorer")

_API_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _parse_json(raw: bytes | str) -> dict:
    def refuse(token: str) -> None:
        raise RequestError(f"{token} is not a number JSON allows; send finite numbers")

    try:
        value = json.loads(raw, parse_constant=refuse)
    except RecursionError:
        raise RequestError("the body is not valid JSON (nested too deeply)") from None
    except ValueError as exc:
        if isinstance(exc, RequestError):
            raise
        raise RequestError(f"the body is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise RequestError(f"the body must be a JSON object, got {type(value).__name__}")
    return value


def _integral(value: Any) -> Any:
    """``value`` as an int if it is a float with no fraction: JSON has one number type, and 2.0 is 2."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


def _check_query(request: Request, allowed: Sequence[str]) -> None:
    counts = Counter(key for key, _ in request.query_params.multi_items())
    for key, count in counts.items():
        if key not in allowed:
            takes = f"takes only {', '.join(allowed)}" if allowed else "takes no query parameters"
            raise RequestError(f"unknown query parameter {key[:64]!r}; {request.url.path} {takes}")
        if count > 1:
            raise RequestError(f"query parameter {key!r} is given {count} times; give it once")


_INTEGER = re.compile(r"-?[0-9]{1,18}")


def _str_param(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if value is None:
        raise RequestError(f"query parameter {name!r} is required")
    return value


def _int_param(request: Request, name: str, required: bool = True) -> int | None:
    value = request.query_params.get(name)
    if value is None:
        if required:
            raise RequestError(f"query parameter {name!r} is required")
        return None
    # Plain ASCII digits only: int() would also take " 7", "+7", "7_0" and other scripts' digits.
    if not _INTEGER.fullmatch(value):
        raise RequestError(f"query parameter {name}={value[:64]!r} must be an integer")
    return int(value)


def _json(content: Any, status: int = 200) -> Response:
    body = json.dumps(content, allow_nan=False, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json", headers=_API_HEADERS)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    response = _json({"error": f"{exc.detail}: {request.method} {request.url.path}"}, exc.status_code)
    response.headers.update(exc.headers or {})  # a 405's Allow
    return response


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("explorer: %s %s failed", request.method, request.url.path, exc_info=exc)
    return _json({"error": "internal error; the server's log has the details"}, 500)


class SocketSlots:
    """Open WebSockets, counted overall and per client address, so a flood of idle sockets meets a cap and
    never the HTTP routes (uvicorn's connection limit leaves room above the cap).

    Examples
    --------
    >>> slots = SocketSlots(total=2, per_client=1)
    >>> slots.take("10.0.0.1"), slots.take("10.0.0.1")
    (None, 'too many WebSockets from 10.0.0.1 (1 open, the limit per client); close a tab or try again later')
    >>> slots.release("10.0.0.1"); slots.open
    0
    """

    def __init__(self, total: int, per_client: int):
        for name, value in (("max_websockets", total), ("max_websockets_per_client", per_client)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        self.total, self.per_client = total, per_client
        self.open = 0
        self.by_client: Counter[str] = Counter()

    def take(self, client: str) -> str | None:
        """Count one more socket from ``client``; the reason it is refused instead (a WebSocket close reason)."""
        if self.open >= self.total:
            return f"too many WebSockets ({self.total} open, the server's limit); try again later"
        if self.by_client[client] >= self.per_client:
            reason = f"too many WebSockets from {client[:40]} ({self.per_client} open, the limit per client)"
            return reason + "; close a tab or try again later"
        self.open += 1
        self.by_client[client] += 1
        return None

    def release(self, client: str) -> None:
        """A socket counted by :meth:`take` closed."""
        self.open -= 1
        self.by_client[client] -= 1
        if self.by_client[client] <= 0:
            del self.by_client[client]


#: A Host header (or an Origin's netloc): a name or an IPv4 address, or an IPv6 one in brackets, and a port.
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?")


def _hostname(host: str) -> str | None:
    """``host`` without port and brackets, lower case; None unless it is a plain host[:port]."""
    found = _HOST.fullmatch(host)
    return found.group(1).strip("[]").lower() if found else None
