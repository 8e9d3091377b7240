"""The explorer's HTTP layer: Starlette on uvicorn, bound to 127.0.0.1 by default.

Endpoints (all answers JSON; errors are ``{"error": message}`` with a 4xx
status, never a stack trace; an internal error is a generic 500 and a traceback in
the server's log):

=======================  ===========================================================
``GET  /``               the page (``static/index.html``), with a strict CSP
``GET  /static/{name}``  one of its scripts or style sheets, by name from a fixed list
``GET  /openapi.json``   the OpenAPI 3.1 description of these endpoints (:mod:`.openapi`)
``GET  /api/meta``       data set, models (code_dim, input shape, latent range), limits
``GET  /api/presets``    preset inputs ``[{name, label, x}]``
``GET  /api/sample``     ``?index=i``: one data sample, for the scatter's hover
``GET  /api/codes``      ``?model=ae&limit=m``: codes, labels and rows of a bounded subsample
``POST /api/encode``     ``{model, x}`` -> mean, logvar, reconstruction, error, terms
``POST /api/decode``     ``{model, codes, x?}`` -> images (and errors against x)
``POST /api/grid``       ``{model, n, dims?, base?}`` -> the n x n decoded manifold
``WS   /ws/drag``        drags: ``{type: "input", x}`` sets the input errors are measured
                         against; ``{type: "decode", model, z, seq}`` is answered by
                         ``{type: "decoded", seq, model, z, image, error}``, only for the
                         newest position when several are queued
=======================  ===========================================================

Hardening (the promises and their tests are listed in RELIABILITY.md, "Who can reach the explorer"):

* who: every bind, loopback included, requires a token (printed in the URL, kept in an
  HttpOnly SameSite=Strict cookie, or sent as ``Authorization: Bearer``); only ``Host``
  headers naming the server are answered (DNS rebinding); POSTs and WebSocket upgrades
  from another origin are refused (:mod:`aekit.explorer.auth`). The server binds
  127.0.0.1 unless told otherwise and warns when it is not loopback.
* how much: bodies and WebSocket messages are limited to :data:`MAX_BODY_BYTES` (413),
  a decode to ``max_decode`` codes (422); drag WebSockets are capped overall and per
  client address (a new one beyond is closed with code 1013) and closed after
  :data:`IDLE_SECONDS` of silence; uvicorn's connection limit sits above the socket cap,
  so open sockets never starve the HTTP routes.
* what: POST bodies must be ``application/json`` (which a cross-site form cannot send
  without a preflight); unknown or repeated query parameters and body fields are
  refused; no endpoint reads a path a client gives (assets are looked up by name in a
  fixed list).

The application itself is :mod:`aekit.explorer.app` (its request checks in
:mod:`aekit.explorer.http_guards`); this module binds, serves and runs it.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable, Sequence

from aekit.errors import ConfigError
from aekit.explorer.app import (  # noqa: F401
    _CSP,
    IDLE_SECONDS,
    MAX_BODY_BYTES,
    MAX_QUEUED_REPLIES,
    MAX_WEBSOCKETS,
    MAX_WEBSOCKETS_PER_CLIENT,
    STATIC_TYPES,
    _Api,
    _drag_reply,
    _DragState,
    create_app,
    log,
)
from aekit.explorer.auth import TOKEN_ENV, HostPolicy, choose_token, is_loopback, token_url  # noqa: F401
from aekit.explorer.http_guards import (  # noqa: F401
    _API_HEADERS,
    _HOST,
    _INTEGER,
    _check_query,
    _hostname,
    _http_error,
    _int_param,
    _integral,
    _internal_error,
    _json,
    _parse_json,
    _str_param,
)
from aekit.explorer.session import Session

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
#: HTTP connections uvicorn serves at once beside the capped WebSockets (503 beyond): bounds memory under
#: a flood. uvicorn counts open WebSockets as connections too, so its limit is this plus ``max_websockets``.
MAX_CONNECTIONS = 100


def _config(
    session: Session,
    host: str,
    max_body_bytes: int,
    *,
    token: str | None = None,
    allow_hosts: Sequence[str] = (),
    max_websockets: int = MAX_WEBSOCKETS,
    max_websockets_per_client: int = MAX_WEBSOCKETS_PER_CLIENT,
    idle_seconds: float = IDLE_SECONDS,
):
    import uvicorn

    app = create_app(
        session,
        allowed_hosts=HostPolicy.for_bind(host, allow_hosts),
        max_body_bytes=max_body_bytes,
        token=token,
        max_websockets=max_websockets,
        max_websockets_per_client=max_websockets_per_client,
        idle_seconds=idle_seconds,
    )
    return uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        ws="websockets-sansio",
        ws_max_size=max_body_bytes,
        ws_per_message_deflate=False,
        limit_concurrency=MAX_CONNECTIONS + max_websockets,
        server_header=False,
    )


def _bind(host: str, port: int) -> socket.socket:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"port={port!r} must be an integer in [0, 65535] (0 picks a free one)")
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    return sock


def _url(sock: socket.socket, host: str) -> str:
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host.strip("[]") == "::" else host
    return f"http://[{shown.strip('[]')}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def serve(
    session: Session,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    threads: int = 1,
    echo: Callable[[str], None] = print,
    max_body_bytes: int = MAX_BODY_BYTES,
    token: str | None = None,
    no_token: bool = False,
    allow_hosts: Sequence[str] = (),
    max_websockets: int = MAX_WEBSOCKETS,
    max_websockets_per_client: int = MAX_WEBSOCKETS_PER_CLIENT,
    idle_seconds: float = IDLE_SECONDS,
) -> None:
    """Serve ``session`` until Ctrl-C, printing the page's URL, with its token, first.

    Parameters
    ----------
    session : Session
    host : str, default "127.0.0.1"
        Interface to listen on; anything but loopback prints a warning (every machine
        that reaches this one can try the token).
    port : int, default 0
        0 picks a free port.
    threads : int, default 1
        ``torch.set_num_threads`` while serving. One decode is tiny and gains
        nothing from more threads, which wait on each other when the browser
        takes a core: on two cores, a 28x28 conv decode's p95 was 12.8 ms with two
        threads and 3.2 ms with one while Chromium drew the page.
    echo : callable
        Receives the URL line, e.g. ``aekit explorer: http://127.0.0.1:8765/?token=...``
        (warnings go to stderr through ``print``).
    max_body_bytes : int
        Request body and WebSocket message limit.
    token : str, optional
        The token (``--token``); else ``$AEKIT_EXPLORER_TOKEN``; else a random one
        (see :func:`aekit.explorer.auth.choose_token`).
    no_token : bool, default False
        Serve without a token: loopback only, with a warning.
    allow_hosts : sequence of str
        More names the ``Host`` header may carry (``--allow-host``), e.g. the name
        students type for a lab server.
    max_websockets, max_websockets_per_client, idle_seconds
        The drag WebSocket caps and idle timeout (see :func:`create_app`).

    Raises
    ------
    ConfigError
        A port in use, ``no_token`` beyond loopback, a malformed token or host name.
    """
    import torch
    import uvicorn

    chosen = choose_token(token, no_token=no_token, host=host)
    config = _config(
        session,
        host,
        max_body_bytes,
        token=chosen,
        allow_hosts=allow_hosts,
        max_websockets=max_websockets,
        max_websockets_per_client=max_websockets_per_client,
        idle_seconds=idle_seconds,
    )
    torch.set_num_threads(max(1, int(threads)))
    sock = _bind(host, port)
    if not is_loopback(host):
        print(
            f"warning: serving on {host} exposes the explorer to every machine that can reach this one; "
            "its token is what keeps them out, so share the URL only with people who may use it",
            file=sys.stderr,
        )
    if chosen is None:
        print(
            "warning: --no-token: any program or user on this machine can use the explorer at this address",
            file=sys.stderr,
        )
    server = uvicorn.Server(config)
    echo(f"aekit explorer: {token_url(_url(sock, host), chosen)}  (Ctrl-C stops it)")
    if host.strip("[]") in ("0.0.0.0", "::", ""):
        name = f"http://{socket.gethostname()}:{sock.getsockname()[1]}/"
        echo(f"  from another machine: {token_url(name, chosen)}  (or this machine's IP address)")
    server.run(sockets=[sock])


class ServerThread:
    """The real uvicorn server on a background thread, for tests and benchmarks.

    It requires a token, as :func:`serve` does: send ``headers`` (or open ``token_url``
    in a browser, which sets the page's cookie).

    Parameters
    ----------
    session : Session
    host : str, default "127.0.0.1"
    port : int, default 0
        0 picks a free port.
    token : str, optional
        Default: ``$AEKIT_EXPLORER_TOKEN``, else a random one.
    no_token : bool, default False
        No token (loopback only).
    allow_hosts, max_body_bytes, max_websockets, max_websockets_per_client, idle_seconds
        As for :func:`serve`.

    Attributes
    ----------
    url : str
        The page's URL without the token, e.g. ``"http://127.0.0.1:43125/"``, once started.
    token : str or None
    token_url : str
        ``url`` with ``?token=...``: what :func:`serve` prints.
    headers : dict
        ``{"Authorization": "Bearer <token>"}`` (empty without a token).

    Examples
    --------
    >>> with ServerThread(session) as server:  # doctest: +SKIP
    ...     httpx.get(server.url + "api/meta", headers=server.headers).status_code
    200
    """

    def __init__(
        self,
        session: Session,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        no_token: bool = False,
        allow_hosts: Sequence[str] = (),
        max_body_bytes: int = MAX_BODY_BYTES,
        max_websockets: int = MAX_WEBSOCKETS,
        max_websockets_per_client: int = MAX_WEBSOCKETS_PER_CLIENT,
        idle_seconds: float = IDLE_SECONDS,
    ):
        self.session, self.host, self.port = session, host, port
        self.token = choose_token(token, no_token=no_token, host=host)
        self.url = ""
        self._options = {
            "token": self.token,
            "allow_hosts": allow_hosts,
            "max_websockets": max_websockets,
            "max_websockets_per_client": max_websockets_per_client,
            "idle_seconds": idle_seconds,
        }
        self.max_body_bytes = max_body_bytes
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def token_url(self) -> str:
        """The page's URL with ``?token=...``."""
        return token_url(self.url, self.token)

    @property
    def headers(self) -> dict[str, str]:
        """The header that carries the token for a script."""
        return {} if self.token is None else {"Authorization": f"Bearer {self.token}"}

    def start(self, timeout: float = 10.0) -> ServerThread:
        """Bind, start serving and wait until the server accepts connections."""
        import time

        import uvicorn

        config = _config(self.session, self.host, self.max_body_bytes, **self._options)  # type: ignore[arg-type]
        sock = _bind(self.host, self.port)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="aekit-explorer"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the explorer server did not start")
            time.sleep(0.01)
        self.url = _url(sock, self.host)
        return self

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
