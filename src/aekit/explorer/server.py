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
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import socket
import sys
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from aekit.errors import AekitError, ConfigError
from aekit.explorer.openapi import STATIC_TYPES, build_spec, static_names
from aekit.explorer.session import RequestError, Session

#: Largest request body (and WebSocket message) accepted: 256 codes of 512 numbers fit easily.
MAX_BODY_BYTES = 4 * 1024 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
#: Open connections uvicorn serves at once (503 beyond): bounds memory under a flood.
MAX_CONNECTIONS = 100
#: Error replies a drag socket queues for a client that does not read them before it is closed.
MAX_QUEUED_REPLIES = 64
log = logging.getLogger("aekit.explorer")

_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_API_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def create_app(session: Session, *, allowed_hosts: Sequence[str] | None = None,
               max_body_bytes: int = MAX_BODY_BYTES) -> Starlette:
    """The ASGI application serving ``session``.

    Parameters
    ----------
    session : Session
        What every endpoint answers from.
    allowed_hosts : sequence of str, optional
        Host names the ``Host`` header (and a WebSocket's ``Origin``) may carry;
        :func:`serve` passes the loopback names when bound to loopback, which
        stops DNS-rebinding pages from reaching the server. None allows any.
    max_body_bytes : int
        Largest request body or WebSocket message, in bytes (413 beyond it).

    Returns
    -------
    starlette.applications.Starlette
    """
    api = _Api(session, max_body_bytes, allowed_hosts)
    routes = [
        Route("/", api.index),
        Route("/static/{name}", api.asset),
        Route("/openapi.json", api.wrap(api.openapi)),
        Route("/api/meta", api.wrap(api.meta)),
        Route("/api/presets", api.wrap(api.presets)),
        Route("/api/sample", api.wrap(api.sample, query=("index",))),
        Route("/api/codes", api.wrap(api.codes, query=("model", "limit"))),
        Route("/api/encode", api.wrap(api.encode), methods=["POST"]),
        Route("/api/decode", api.wrap(api.decode), methods=["POST"]),
        Route("/api/grid", api.wrap(api.grid), methods=["POST"]),
        WebSocketRoute("/ws/drag", api.drag),
    ]
    middleware = [Middleware(_HostCheck, allowed_hosts=api.allowed_hosts)] if allowed_hosts else []
    handlers = {HTTPException: _http_error, Exception: _internal_error}
    return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)


class _Api:
    """Request parsing around a :class:`Session`: every endpoint is a few lines."""

    def __init__(self, session: Session, max_body_bytes: int, allowed_hosts: Sequence[str] | None):
        self.session = session
        self.max_body_bytes = max_body_bytes
        self.allowed_hosts = None if allowed_hosts is None else {h.strip("[]").lower() for h in allowed_hosts}
        self.assets = {name: name[name.rindex("."):] for name in static_names()}  # name -> suffix
        self._spec: dict | None = None

    def wrap(self, handler: Callable[[Request], Awaitable[Any]],
             query: Sequence[str] = ()) -> Callable[[Request], Awaitable[Response]]:
        """Turn a handler's answer into JSON and its errors into 4xx JSON (5xx without details).

        ``query`` names the query parameters the handler reads; any other, or one
        given twice, is refused before the handler runs.
        """

        async def endpoint(request: Request) -> Response:
            try:
                _check_query(request, query)
                answer = await handler(request)
                try:
                    return _json(answer)
                except ValueError:  # json refuses NaN and infinities: the model's output, not the request
                    raise RequestError("the model returned non-finite numbers for this request", 422) from None
            except RequestError as exc:
                return _json({"error": str(exc)}, exc.status)
            except AekitError as exc:
                return _json({"error": str(exc)}, 400)
            except Exception:
                log.exception("explorer: %s %s failed", request.method, request.url.path)
                return _json({"error": f"internal error while answering {request.url.path}; "
                                       "the server's log has the details"}, 500)

        return endpoint

    async def index(self, request: Request) -> Response:
        from importlib.resources import files

        html = (files("aekit.explorer") / "static" / "index.html").read_bytes()
        return Response(html, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": _CSP, **_API_HEADERS})

    async def asset(self, request: Request) -> Response:
        """A script or style sheet of the page, by name: never a path built from what the client sent."""
        from importlib.resources import files

        name = request.path_params["name"]
        if name not in self.assets:
            return _json({"error": f"no asset {name!r}; the page's assets are: {', '.join(self.assets)}"}, 404)
        body = (files("aekit.explorer") / "static" / name).read_bytes()  # a name from the package's own list
        return Response(body, media_type=STATIC_TYPES[self.assets[name]],
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})

    async def openapi(self, request: Request) -> Any:
        if self._spec is None:
            self._spec = await run_in_threadpool(build_spec, self.session, self.max_body_bytes)
        return self._spec

    async def meta(self, request: Request) -> Any:
        return self.session.meta()

    async def presets(self, request: Request) -> Any:
        return self.session.presets()

    async def sample(self, request: Request) -> Any:
        return self.session.sample(_int_param(request, "index"))

    async def codes(self, request: Request) -> Any:
        model = _str_param(request, "model")
        limit = _int_param(request, "limit", required=False)
        return await run_in_threadpool(self.session.codes, model, limit)

    async def encode(self, request: Request) -> Any:
        body = await self._body(request, required=("model", "x"))
        return await run_in_threadpool(self.session.encode, body["model"], body["x"])

    async def decode(self, request: Request) -> Any:
        body = await self._body(request, required=("model", "codes"), optional=("x",))
        return await run_in_threadpool(self.session.decode, body["model"], body["codes"], body.get("x"))

    async def grid(self, request: Request) -> Any:
        body = await self._body(request, required=("model",), optional=("n", "dims", "base"))
        n, dims = _integral(body.get("n", 10)), body.get("dims", [0, 1])
        dims = [_integral(d) for d in dims] if isinstance(dims, list) else dims
        return await run_in_threadpool(self.session.grid, body["model"], n, dims, body.get("base"))

    async def drag(self, websocket: WebSocket) -> None:
        """Decode drags, answering only the newest position when several wait (see :class:`_DragState`)."""
        origin = websocket.headers.get("origin")
        foreign = origin is not None and _hostname(origin.partition("://")[2]) not in (self.allowed_hosts or ())
        if self.allowed_hosts is not None and foreign:
            await websocket.close(code=1008)  # a page from another site: cross-site WebSocket hijacking
            return
        await websocket.accept()
        state = _DragState()
        reader = asyncio.create_task(self._read_drags(websocket, state))
        try:
            while True:
                await state.wake.wait()
                state.wake.clear()
                while state.replies:
                    await websocket.send_text(json.dumps(state.replies.pop(0)))
                if state.closed:
                    if state.refused:
                        await websocket.close(code=1008)
                    break
                msg, state.latest = state.latest, None
                if msg is not None:
                    await websocket.send_text(_drag_reply(await self._decode_drag(msg, state)))
        except WebSocketDisconnect:
            pass
        finally:
            reader.cancel()

    async def _read_drags(self, websocket: WebSocket, state: _DragState) -> None:
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                try:
                    msg = self._parse_drag(message.get("text"), state)
                except (RequestError, AekitError) as exc:
                    msg = {"type": "error", "error": str(exc)}
                except Exception:
                    log.exception("explorer: reading a drag message failed")
                    msg = {"type": "error", "error": "internal error while reading the message"}
                if msg is not None and msg["type"] == "error":
                    if len(state.replies) >= MAX_QUEUED_REPLIES:
                        log.warning("explorer: closing a drag socket that sent %d bad messages without "
                                    "reading the replies", len(state.replies) + 1)
                        state.refused = True
                        return
                    state.replies.append(msg)
                    state.wake.set()
                    continue
                if msg is not None:
                    state.latest = msg  # replaces any position not yet decoded
                    state.wake.set()
        finally:  # however reading ends, the writer must not wait forever
            state.closed = True
            state.wake.set()

    def _parse_drag(self, text: str | None, state: _DragState) -> dict | None:
        if text is None:
            raise RequestError("drag messages must be JSON text, got a binary message")
        if len(text) > self.max_body_bytes:
            raise RequestError(f"message of {len(text)} characters is over the {self.max_body_bytes}-byte limit", 413)
        msg = _parse_json(text)
        kind = msg.get("type")
        if kind == "input":
            state.x = None if msg.get("x") is None else self.session.check_input(msg["x"])
            return None
        if kind == "decode":
            self.session.model(msg.get("model"))
            seq = msg.get("seq", 0)
            if isinstance(seq, bool) or not isinstance(seq, int):
                raise RequestError(f"seq={seq!r} must be an integer")
            return msg
        raise RequestError(f"type={kind!r} must be 'input' or 'decode'")

    async def _decode_drag(self, msg: dict, state: _DragState) -> dict:
        try:
            out = await run_in_threadpool(self.session.decode, msg["model"], [msg.get("z")], state.x)
        except (RequestError, AekitError) as exc:
            return {"type": "error", "seq": msg.get("seq", 0), "error": str(exc)}
        except Exception:
            log.exception("explorer: decoding a drag failed")
            return {"type": "error", "seq": msg.get("seq", 0), "error": "internal error while decoding"}
        return {"type": "decoded", "seq": msg.get("seq", 0), "model": msg["model"], "z": out["codes"][0],
                "image": out["images"][0], "error": None if out["errors"] is None else out["errors"][0]}

    async def _body(self, request: Request, required: Sequence[str], optional: Sequence[str] = ()) -> dict:
        """The request's JSON object, read up to the size limit, with exactly the named keys."""
        kind = request.headers.get("content-type", "")
        if kind.split(";")[0].strip().lower() != "application/json":
            raise RequestError(f"the body must be sent as Content-Type: application/json, got {kind or 'none'!r}",
                               415)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise RequestError(f"request body of {declared} bytes is over the {self.max_body_bytes}-byte limit", 413)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise RequestError(f"request body is over the {self.max_body_bytes}-byte limit", 413)
            chunks.append(chunk)
        body = _parse_json(b"".join(chunks))
        missing = [k for k in required if k not in body]
        unknown = [k for k in body if k not in required and k not in optional]
        if missing or unknown:
            fields = ", ".join([*required, *(f"{k} (optional)" for k in optional)])
            problem = f"missing {', '.join(missing)}" if missing else f"unknown field {', '.join(unknown)}"
            raise RequestError(f"{problem}; {request.url.path} takes: {fields}")
        return body


class _DragState:
    """One WebSocket's drags: the newest undecoded position, queued replies, the current input."""

    def __init__(self):
        self.latest: dict | None = None
        self.replies: list[dict] = []
        self.x = None
        self.closed = False
        self.refused = False  # closed by the server: too many unread error replies
        self.wake = asyncio.Event()


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


def _drag_reply(reply: dict) -> str:
    try:
        return json.dumps(reply, allow_nan=False)
    except ValueError:  # NaN is not JSON: the page could not parse the reply
        return json.dumps({"type": "error", "seq": reply.get("seq", 0),
                           "error": "the model returned non-finite numbers for this position"})


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


class _HostCheck:
    """Answer only requests whose ``Host`` names an allowed host (400 JSON, or a refused WebSocket).

    Starlette's ``TrustedHostMiddleware`` answers in plain text and reads ``[::1]:8000``
    as host ``[``, refusing every request to a server bound to IPv6 loopback.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: set[str]):
        self.app, self.allowed_hosts = app, allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        if _hostname(host) in self.allowed_hosts:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        allowed = ", ".join(sorted(self.allowed_hosts))
        refusal = _json({"error": f"Host {host[:64]!r} is not served here; use one of {allowed}"}, 400)
        await refusal(scope, receive, send)


#: A Host header (or an Origin's netloc): a name or an IPv4 address, or an IPv6 one in brackets, and a port.
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?")


def _hostname(host: str) -> str | None:
    """``host`` without port and brackets, lower case; None unless it is a plain host[:port]."""
    found = _HOST.fullmatch(host)
    return found.group(1).strip("[]").lower() if found else None


# -- running it ----------------------------------------------------------------------------
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
    return uvicorn.Config(app, log_level="warning", lifespan="off", ws="websockets-sansio",
                          ws_max_size=max_body_bytes, ws_per_message_deflate=False,
                          limit_concurrency=MAX_CONNECTIONS, server_header=False)


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


def serve(session: Session, *, host: str = "127.0.0.1", port: int = 0, threads: int = 1,
          echo: Callable[[str], None] = print, max_body_bytes: int = MAX_BODY_BYTES) -> None:
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
        print(f"warning: serving on {host} exposes the explorer, which has no authentication, to every machine "
              "that can reach this one", file=sys.stderr)
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
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name="aekit-explorer")
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
