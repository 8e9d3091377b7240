"""Who may use a served explorer: a token, the Host check and the Origin check (Jupyter's model).

* **Token.** Every bind, loopback included, has one (:func:`choose_token`: ``--token``,
  else ``$AEKIT_EXPLORER_TOKEN``, else ``secrets.token_urlsafe(32)``). A request carries
  it as ``?token=`` (the printed URL), as the cookie the first load sets (HttpOnly,
  SameSite=Strict, so the page's own fetches and WebSocket carry it and no script or other
  site can read or send it) or as ``Authorization: Bearer TOKEN`` (scripts). Tokens are
  compared with :func:`hmac.compare_digest`. Without it: the page answers 401 with a form
  asking for it, every other route 401 JSON, the WebSocket upgrade is refused.
* **Host** (:class:`HostPolicy`). The ``Host`` header must name the server: a loopback
  name, the bound address, the machine's name when bound beyond loopback, any IP literal
  when bound to every interface (an IP cannot be rebound, and a container's port may be
  published on the host's address), or a name given with ``--allow-host``. Anything else
  gets 400: a page of another name that DNS-rebinds to this address is refused.
* **Origin.** A state-changing request (any method but GET, HEAD, OPTIONS) and every
  WebSocket upgrade that sends an ``Origin`` must come from the page's own origin (the
  scheme-less ``host:port`` equal to the ``Host`` header); else 403, or a refused upgrade.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import ipaddress
import os
import re
import secrets
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus

from starlette.requests import cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from aekit.errors import ConfigError
from aekit.explorer.http_guards import _API_HEADERS, _hostname, _json

#: The environment variable that sets the token when ``--token`` is not given.
TOKEN_ENV = "AEKIT_EXPLORER_TOKEN"
#: Shortest token accepted from ``--token`` or the environment (a generated one has 43 characters).
MIN_TOKEN_LENGTH = 16
#: Names that always reach this machine only.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]+")  # URL- and cookie-safe: the printed URL needs no escaping
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_PAGE_HEADERS = {**_API_HEADERS, "Referrer-Policy": "no-referrer"}
_PAGE_CSP = "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine.

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def choose_token(
    token: str | None = None,
    *,
    no_token: bool = False,
    host: str = "127.0.0.1",
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The token a server bound to ``host`` requires.

    Parameters
    ----------
    token : str, optional
        Given (``--token``): at least :data:`MIN_TOKEN_LENGTH` characters of
        ``A-Z a-z 0-9 . _ ~ -``. Else ``$AEKIT_EXPLORER_TOKEN``, else a fresh
        ``secrets.token_urlsafe(32)``.
    no_token : bool, default False
        Serve without a token (returns None): only allowed on loopback.
    host : str
        The address the server binds.
    environ : mapping, optional
        Where the environment variable is read (``os.environ`` by default).

    Returns
    -------
    str or None

    Raises
    ------
    ConfigError
        ``no_token`` beyond loopback or together with a token; a token too short or with
        other characters.

    Examples
    --------
    >>> len(choose_token(environ={})), choose_token(no_token=True, environ={})
    (43, None)
    >>> choose_token("a-long-enough-token", environ={})
    'a-long-enough-token'
    """
    env = os.environ if environ is None else environ
    if no_token:
        if not is_loopback(host):
            raise ConfigError(
                f"--no-token is only allowed on loopback (127.0.0.1, localhost, ::1), not on --host {host}: "
                "every machine that reaches this one could use the explorer"
            )
        if token is not None:
            raise ConfigError("--no-token and --token contradict each other; give one of them")
        return None
    source = "--token"
    if token is None and env.get(TOKEN_ENV):
        token, source = env[TOKEN_ENV], TOKEN_ENV
    if token is None:
        return secrets.token_urlsafe(32)
    if len(token) < MIN_TOKEN_LENGTH or not _TOKEN_CHARS.fullmatch(token):
        raise ConfigError(
            f"{source}: a token of {len(token)} characters is refused; it needs at least {MIN_TOKEN_LENGTH} "
            "characters, each a letter, a digit or one of . _ ~ - (leave it out for a random one)"
        )
    return token


def cookie_name(token: str) -> str:
    """The cookie that carries ``token``: named after its hash, so two explorers on one host keep their own.

    Examples
    --------
    >>> cookie_name("a-long-enough-token")
    'aekit-explorer-34e91a1659be'
    """
    return "aekit-explorer-" + hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class HostPolicy:
    """The ``Host`` headers a server answers: ``names`` (lower case, no port or brackets), and any IP
    literal when ``any_ip`` (bound to every interface).

    Examples
    --------
    >>> policy = HostPolicy.for_bind("127.0.0.1", allow=["lab.example.org"])
    >>> policy.allows("localhost:8000"), policy.allows("LAB.example.org"), policy.allows("evil.example")
    (True, True, False)
    >>> HostPolicy.for_bind("0.0.0.0").allows("192.168.1.5:8000")
    True
    """

    names: frozenset[str]
    any_ip: bool = False

    @classmethod
    def for_bind(cls, host: str, allow: Sequence[str] = ()) -> HostPolicy:
        """The policy of a server bound to ``host``, also answering the names in ``allow`` (``--allow-host``)."""
        names = set(LOOPBACK_NAMES)
        bound = host.strip("[]").lower()
        wildcard = bound in ("", "0.0.0.0", "::")
        if not wildcard:
            names.add(bound)
        if not is_loopback(host):
            names.add(socket.gethostname().lower())
        for name in allow:
            clean = _hostname(str(name).strip())
            if clean is None:
                raise ConfigError(f"--allow-host {name!r} is not a host name or address (give it without a port)")
            names.add(clean)
        return cls(frozenset(names), any_ip=wildcard)

    def allows(self, host: str) -> bool:
        """Whether a request with this ``Host`` header (``name[:port]``) is answered."""
        name = _hostname(host)
        if name is None:
            return False
        if name in self.names:
            return True
        if not self.any_ip:
            return False
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True

    def describe(self) -> str:
        """The accepted names, for an error message."""
        return ", ".join(sorted(self.names)) + (" and any IP address" if self.any_ip else "")


def same_origin(origin: str, host: str) -> bool:
    """Whether an ``Origin`` header names the page served under this ``Host`` (scheme http or https).

    Examples
    --------
    >>> same_origin("http://127.0.0.1:8000", "127.0.0.1:8000"), same_origin("http://evil.example", "127.0.0.1:8000")
    (True, False)
    >>> same_origin("null", "127.0.0.1:8000"), same_origin("http://localhost:80", "LOCALHOST")
    (False, True)
    """
    scheme, sep, netloc = origin.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        return False
    default = ":443" if scheme == "https" else ":80"
    mine, theirs = host.lower().removesuffix(default), netloc.lower().removesuffix(default)
    return bool(mine) and mine == theirs


class Guard:
    """ASGI middleware: the Host check, the Origin check and the token, before any route runs.

    Parameters
    ----------
    app : ASGI application
    token : str or None
        None serves without a token (``--no-token``, or an application used in process).
    hosts : HostPolicy or None
        None answers any ``Host``.
    """

    def __init__(self, app: ASGIApp, token: str | None = None, hosts: HostPolicy | None = None):
        self.app, self.token, self.hosts = app, token, hosts
        self.cookie = None if token is None else cookie_name(token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        websocket = scope["type"] == "websocket"
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        refusal: Response | None = None
        if self.hosts is not None and not self.hosts.allows(host):
            refusal = _json(
                {
                    "error": f"Host {host[:64]!r} is not served here; this server answers {self.hosts.describe()} "
                    "(serve another name with --allow-host NAME)"
                },
                400,
            )
        elif (websocket or scope["method"] not in _SAFE_METHODS) and "origin" in headers:
            origin = headers["origin"]
            if not same_origin(origin, host):
                refusal = _json(
                    {
                        "error": f"Origin {origin[:64]!r} is not this page's origin (http://{host[:64]}); "
                        "requests from other sites are refused"
                    },
                    403,
                )
        if refusal is None and self.token is not None:
            given, from_query = self._given_token(scope, headers)
            if not (given is not None and hmac.compare_digest(given.encode("utf-8", "replace"), self.token.encode())):
                refusal = self._ask_for_token(scope, wrong=given is not None)
            elif from_query and not websocket and scope["path"] == "/" and scope["method"] in ("GET", "HEAD"):
                refusal = self._enter(scope)
        if refusal is None:
            return await self.app(scope, receive, send)
        if websocket:  # refused before the handshake: uvicorn answers it with 403
            return await send({"type": "websocket.close", "code": 1008})
        await refusal(scope, receive, send)

    def _given_token(self, scope: Scope, headers: dict[str, str]) -> tuple[str | None, bool]:
        """The token the request carries (query, then bearer, then cookie), and whether it came in the query;
        a ``token`` query parameter is removed, so the routes' strict query checks never see it."""
        query: bytes = scope.get("query_string", b"")
        kept, found = [], None
        for part in query.split(b"&") if query else []:
            key, _, value = part.partition(b"=")
            if unquote_plus(key.decode("latin-1")) == "token":
                found = found if found is not None else unquote_plus(value.decode("latin-1"))
            else:
                kept.append(part)
        if found is not None:
            scope["query_string"] = b"&".join(kept)
            return found, True
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip(), False
        if self.cookie is not None and "cookie" in headers:
            return cookie_parser(headers["cookie"]).get(self.cookie), False
        return None, False

    def _enter(self, scope: Scope) -> Response:
        """The first load, ``/?token=...``: set the cookie, then go on to the page at the URL without the token.

        A same-page refresh, not a redirect: the refresh is the page's own navigation, so the
        SameSite=Strict cookie goes with it even when the link was opened from another site.
        """
        rest = scope["query_string"].decode("latin-1")
        target = html.escape("/" + ("?" + rest if rest else ""), quote=True)
        body = (
            '<!doctype html><html lang="en"><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="0; url={target}"><title>aekit explorer</title>'
            f'<p><a href="{target}">Open the explorer</a></p></html>'
        )
        response = Response(
            body,
            media_type="text/html; charset=utf-8",
            headers={**_PAGE_HEADERS, "Content-Security-Policy": _PAGE_CSP},
        )
        assert self.cookie is not None and self.token is not None
        response.set_cookie(self.cookie, self.token, path="/", httponly=True, samesite="strict")
        return response

    def _ask_for_token(self, scope: Scope, wrong: bool) -> Response:
        problem = "wrong token" if wrong else "this explorer needs its token"
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] in ("GET", "HEAD"):
            return Response(
                _login_page(problem, scope["query_string"]),
                status_code=401,
                media_type="text/html; charset=utf-8",
                headers={**_PAGE_HEADERS, "Content-Security-Policy": _PAGE_CSP},
            )
        response = _json(
            {
                "error": f"{problem}: open the URL `aekit explore` printed (it ends in ?token=...), "
                "or send the header Authorization: Bearer TOKEN"
            },
            401,
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="aekit explorer"'
        return response


def _login_page(problem: str, query: bytes) -> str:
    """The page that asks for the token: a form that loads ``/?token=...`` with the other query parameters kept."""
    hidden = ""
    for part in query.split(b"&") if query else []:
        key, _, value = part.partition(b"=")
        name, text = unquote_plus(key.decode("latin-1")), unquote_plus(value.decode("latin-1"))
        hidden += f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(text)}">'
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>aekit explorer: token needed</title>'
        f"<h1>aekit explorer: {html.escape(problem)}</h1>"
        "<p>Open the URL that <code>aekit explore</code> printed (it ends in <code>?token=...</code>), "
        "or paste its token here.</p>"
        f'<form method="get" action="/">{hidden}<label>Token <input name="token" type="password" '
        'autocomplete="off" autofocus required></label> <button type="submit">Open</button></form></html>'
    )


def token_url(base: str, token: str | None) -> str:
    """``base`` (``http://host:port/``) with the token as its query, as printed.

    Examples
    --------
    >>> token_url("http://127.0.0.1:8000/", "a-long-enough-token")
    'http://127.0.0.1:8000/?token=a-long-enough-token'
    """
    return base if token is None else f"{base}?token={quote(token, safe='')}"
