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

Hardening: the server binds 127.0.0.1 unless told otherwise (and warns when it
is not loopback); on loopback it only answers ``Host`` headers (and WebSocket
``Origin`` s) naming loopback, against DNS rebinding; bodies and WebSocket messages
are limited to :data:`MAX_BODY_BYTES`; POST bodies must be ``application/json``
(which a cross-site form cannot send without a preflight); unknown or repeated
query parameters and body fields are refused; no endpoint reads a path a client
gives (assets are looked up by name in a fixed list).

The application itself is :mod:`aekit.explorer.app` (its request checks in
:mod:`aekit.explorer.http_guards`); this module binds, serves and runs it.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
from collections.abc import Callable

from aekit.errors import ConfigError
from aekit.explorer.app import (  # noqa: F401
    _CSP,
    MAX_BODY_BYTES,
    MAX_QUEUED_REPLIES,
    STATIC_TYPES,
    _Api,
    _drag_reply,
    _DragState,
    create_app,
    log,
)
from aekit.explorer.http_guards import (  # noqa: F401
    _API_HEADERS,
    _HOST,
    _INTEGER,
    _check_query,
    _HostCheck,
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
#: Open connections uvicorn serves at once (503 beyond): bounds memory under a flood.
MAX_CONNECTIONS = 100


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine.

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _config(session: Session, host: str, max_body_bytes: int):
    import uvicorn

    hosts = list(LOOPBACK_HOSTS) if is_loopback(host) else None
    app = create_app(session, allowed_hosts=hosts, max_body_bytes=max_body_bytes)
    return uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        ws="websockets-sansio",
        ws_max_size=max_body_bytes,
        ws_per_message_deflate=False,
        limit_concurrency=MAX_CONNECTIONS,
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
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://[{shown.strip('[]')}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def serve(
    session: Session,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    threads: int = 1,
    echo: Callable[[str], None] = print,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> None:
    """Serve ``session`` until Ctrl-C, printing the page's URL first.

    Parameters
    ----------
    session : Session
    host : str, default "127.0.0.1"
        Interface to listen on; anything but loopback prints a warning, since the
        page has no authentication.
    port : int, default 0
        0 picks a free port.
    threads : int, default 1
        ``torch.set_num_threads`` while serving. One decode is tiny and gains
        nothing from more threads, which wait on each other when the browser
        takes a core: on two cores, a 28x28 conv decode's p95 was 12.8 ms with two
        threads and 3.2 ms with one while Chromium drew the page.
    echo : callable
        Receives the URL line (and the warning, on stderr through ``print``).
    max_body_bytes : int
        Request body and WebSocket message limit.
    """
    import torch
    import uvicorn

    torch.set_num_threads(max(1, int(threads)))
    sock = _bind(host, port)
    if not is_loopback(host):
        print(
            f"warning: serving on {host} exposes the explorer, which has no authentication, to every machine "
            "that can reach this one",
            file=sys.stderr,
        )
    server = uvicorn.Server(_config(session, host, max_body_bytes))
    echo(f"aekit explorer: {_url(sock, host)}  (Ctrl-C stops it)")
    server.run(sockets=[sock])


class ServerThread:
    """The real uvicorn server on a background thread, for tests and benchmarks.

    Parameters
    ----------
    session : Session
    host : str, default "127.0.0.1"
    port : int, default 0
        0 picks a free port.

    Attributes
    ----------
    url : str
        The page's URL, e.g. ``"http://127.0.0.1:43125/"``, once started.

    Examples
    --------
    >>> with ServerThread(session) as server:  # doctest: +SKIP
    ...     print(server.url)
    """

    def __init__(self, session: Session, host: str = "127.0.0.1", port: int = 0):
        self.session, self.host, self.port = session, host, port
        self.url = ""
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> ServerThread:
        """Bind, start serving and wait until the server accepts connections."""
        import time

        import uvicorn

        sock = _bind(self.host, self.port)
        self._server = uvicorn.Server(_config(self.session, self.host, MAX_BODY_BYTES))
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
