"""The explorer's ASGI application: one route per endpoint, each a few lines around a :class:`Session`.

The endpoints, their answers and the hardening are listed in :mod:`aekit.explorer.server`;
request parsing and JSON answers are in :mod:`aekit.explorer.http_guards`, the token, Host
and Origin checks in :mod:`aekit.explorer.auth`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from aekit.errors import AekitError
from aekit.explorer.auth import Guard, HostPolicy
from aekit.explorer.http_guards import (
    _API_HEADERS,
    SocketSlots,
    _check_query,
    _http_error,
    _int_param,
    _integral,
    _internal_error,
    _json,
    _parse_json,
    _str_param,
)
from aekit.explorer.openapi import STATIC_TYPES, build_spec, static_names
from aekit.explorer.session import MAX_DECODE, RequestError, Session

#: Largest request body (and WebSocket message) accepted: 256 codes of 512 numbers fit easily.
MAX_BODY_BYTES = 4 * 1024 * 1024
#: Open drag WebSockets the server keeps at once; beyond, a new one is closed with code 1013 (try again later).
MAX_WEBSOCKETS = 128
#: Open drag WebSockets from one client address (a page holds one; every tab behind an SSH tunnel shares 127.0.0.1).
MAX_WEBSOCKETS_PER_CLIENT = 32
#: Seconds a drag WebSocket may stay silent before the server closes it (code 1000); the page reconnects.
IDLE_SECONDS = 600.0
#: Error replies a drag socket queues for a client that does not read them before it is closed.
MAX_QUEUED_REPLIES = 64
log = logging.getLogger("aekit.explorer")

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def create_app(
    session: Session,
    *,
    allowed_hosts: Sequence[str] | HostPolicy | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    token: str | None = None,
    max_websockets: int = MAX_WEBSOCKETS,
    max_websockets_per_client: int = MAX_WEBSOCKETS_PER_CLIENT,
    idle_seconds: float = IDLE_SECONDS,
) -> Starlette:
    """The ASGI application serving ``session``.

    Parameters
    ----------
    session : Session
        What every endpoint answers from.
    allowed_hosts : sequence of str or HostPolicy, optional
        What the ``Host`` header may name (a list of names, or
        :meth:`HostPolicy.for_bind`, which :func:`~aekit.explorer.server.serve` passes):
        it stops DNS-rebinding pages. None answers any (an application used in process).
    max_body_bytes : int
        Largest request body or WebSocket message, in bytes (413 beyond it).
    token : str, optional
        The token every route and the WebSocket require (:mod:`aekit.explorer.auth`);
        None requires none. A state-changing request or WebSocket from another origin is
        refused either way.
    max_websockets, max_websockets_per_client : int
        Open drag WebSockets, overall and per client address; a new one beyond is
        accepted and closed at once with code 1013 and the reason.
    idle_seconds : float
        A drag WebSocket that sends nothing for this long is closed (code 1000).

    Returns
    -------
    starlette.applications.Starlette

    Examples
    --------
    >>> from starlette.testclient import TestClient  # doctest: +SKIP
    >>> client = TestClient(create_app(session, token="a-long-enough-token"))  # doctest: +SKIP
    >>> client.get("/api/meta").status_code  # doctest: +SKIP
    401
    """
    if idle_seconds <= 0:
        raise ValueError(f"idle_seconds={idle_seconds!r} must be positive")
    sockets = SocketSlots(max_websockets, max_websockets_per_client)
    api = _Api(session, max_body_bytes, token_required=token is not None, sockets=sockets, idle_seconds=idle_seconds)
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
    hosts = allowed_hosts
    if hosts is not None and not isinstance(hosts, HostPolicy):
        hosts = HostPolicy(frozenset(h.strip("[]").lower() for h in hosts))
    middleware = [Middleware(Guard, token=token, hosts=hosts)]
    handlers = {HTTPException: _http_error, Exception: _internal_error}
    return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)


class _Api:
    """Request parsing around a :class:`Session`: every endpoint is a few lines."""

    def __init__(
        self,
        session: Session,
        max_body_bytes: int,
        *,
        token_required: bool = False,
        sockets: SocketSlots | None = None,
        idle_seconds: float = IDLE_SECONDS,
    ):
        self.session = session
        self.max_body_bytes = max_body_bytes
        self.token_required = token_required
        self.sockets = sockets or SocketSlots(MAX_WEBSOCKETS, MAX_WEBSOCKETS_PER_CLIENT)
        self.idle_seconds = float(idle_seconds)
        self.assets = {name: name[name.rindex(".") :] for name in static_names()}  # name -> suffix
        self._spec: dict | None = None

    def wrap(
        self, handler: Callable[[Request], Awaitable[Any]], query: Sequence[str] = ()
    ) -> Callable[[Request], Awaitable[Response]]:
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
                return _json(
                    {"error": f"internal error while answering {request.url.path}; the server's log has the details"},
                    500,
                )

        return endpoint

    async def index(self, request: Request) -> Response:
        from importlib.resources import files

        html = (files("aekit.explorer") / "static" / "index.html").read_bytes()
        return Response(
            html, media_type="text/html; charset=utf-8", headers={"Content-Security-Policy": _CSP, **_API_HEADERS}
        )

    async def asset(self, request: Request) -> Response:
        """A script or style sheet of the page, by name: never a path built from what the client sent."""
        from importlib.resources import files

        name = request.path_params["name"]
        if name not in self.assets:
            return _json({"error": f"no asset {name!r}; the page's assets are: {', '.join(self.assets)}"}, 404)
        body = (files("aekit.explorer") / "static" / name).read_bytes()  # a name from the package's own list
        return Response(
            body,
            media_type=STATIC_TYPES[self.assets[name]],
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    async def openapi(self, request: Request) -> Any:
        if self._spec is None:
            self._spec = await run_in_threadpool(
                build_spec, self.session, self.max_body_bytes, token_required=self.token_required
            )
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
        codes = body["codes"]
        if isinstance(codes, list) and len(codes) > MAX_DECODE:
            raise RequestError(
                f"codes holds {len(codes)} codes; /api/decode decodes 1 to {MAX_DECODE} codes per request, "
                "so send them in batches of at most that many",
                422,
            )
        return await run_in_threadpool(self.session.decode, body["model"], body["codes"], body.get("x"))

    async def grid(self, request: Request) -> Any:
        body = await self._body(request, required=("model",), optional=("n", "dims", "base"))
        n, dims = _integral(body.get("n", 10)), body.get("dims", [0, 1])
        dims = [_integral(d) for d in dims] if isinstance(dims, list) else dims
        return await run_in_threadpool(self.session.grid, body["model"], n, dims, body.get("base"))

    async def drag(self, websocket: WebSocket) -> None:
        """Decode drags, answering only the newest position when several wait (see :class:`_DragState`).

        Token, Host and Origin were checked by :class:`~aekit.explorer.auth.Guard`; here a socket
        beyond the caps is accepted and closed at once with code 1013 and the reason.
        """
        client = websocket.client.host if websocket.client else ""
        refused = self.sockets.take(client)
        if refused is not None:
            await websocket.accept()
            await websocket.close(code=1013, reason=refused)
            return
        try:
            await self._drag(websocket)
        finally:
            self.sockets.release(client)

    async def _drag(self, websocket: WebSocket) -> None:
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
                    elif state.idle:
                        await websocket.close(code=1000, reason=f"idle for {self.idle_seconds:g} s")
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
                try:
                    message = await asyncio.wait_for(websocket.receive(), self.idle_seconds)
                except TimeoutError:
                    state.idle = True
                    return
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
                        log.warning(
                            "explorer: closing a drag socket that sent %d bad messages without reading the replies",
                            len(state.replies) + 1,
                        )
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
        return {
            "type": "decoded",
            "seq": msg.get("seq", 0),
            "model": msg["model"],
            "z": out["codes"][0],
            "image": out["images"][0],
            "error": None if out["errors"] is None else out["errors"][0],
        }

    async def _body(self, request: Request, required: Sequence[str], optional: Sequence[str] = ()) -> dict:
        """The request's JSON object, read up to the size limit, with exactly the named keys."""
        kind = request.headers.get("content-type", "")
        if kind.split(";")[0].strip().lower() != "application/json":
            raise RequestError(f"the body must be sent as Content-Type: application/json, got {kind or 'none'!r}", 415)
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
        self.idle = False  # closed by the server: nothing received for idle_seconds
        self.wake = asyncio.Event()


def _drag_reply(reply: dict) -> str:
    try:
        return json.dumps(reply, allow_nan=False)
    except ValueError:  # NaN is not JSON: the page could not parse the reply
        return json.dumps(
            {
                "type": "error",
                "seq": reply.get("seq", 0),
                "error": "the model returned non-finite numbers for this position",
            }
        )
