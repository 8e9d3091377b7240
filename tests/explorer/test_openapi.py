"""The explorer's OpenAPI spec describes exactly the server (routes, bodies, answers, errors), and the
hardening the spec cannot express holds: loopback by default, JSON errors without stack traces, no
path from the client ever read, strict content types, query parameters and Host headers."""

from __future__ import annotations

import builtins
import inspect
import io
import json
import logging
import os

import numpy as np
import pytest
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

import aekit
from aekit.explorer import app as app_module  # the routes read STATIC_TYPES, MAX_QUEUED_REPLIES there
from aekit.explorer.openapi import build_spec, static_names
from aekit.explorer.server import (
    LOOPBACK_HOSTS,
    MAX_BODY_BYTES,
    MAX_CONNECTIONS,
    MAX_WEBSOCKETS,
    ServerThread,
    create_app,
    serve,
)


@pytest.fixture(scope="module")
def app(session):
    return create_app(session, allowed_hosts=list(LOOPBACK_HOSTS))


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.fixture(scope="module")
def spec(client):
    return client.get("/openapi.json").json()


def _validator(spec: dict, schema: dict):
    """A JSON Schema (2020-12) validator of ``schema`` with the spec's ``$ref`` s inlined."""
    try:
        import jsonschema_rs
    except ImportError:  # comes with schemathesis, in the dev extra
        if os.environ.get("CI"):
            pytest.fail("jsonschema_rs (with schemathesis) is required in CI")
        pytest.skip("jsonschema_rs is not installed")

    def inline(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
            return {k: inline(v) for k, v in node.items()}
        return [inline(v) for v in node] if isinstance(node, list) else node

    return jsonschema_rs.validator_for(inline(schema))


def _answer_schema(spec: dict, method: str, path: str, status: int = 200) -> dict:
    return spec["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]


def _body_schema(spec: dict, path: str) -> dict:
    return spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]


# -- the spec ---------------------------------------------------------------------------------
def test_spec_lists_exactly_the_apps_routes(app, spec):
    routes = {r.path: set(r.methods) - {"HEAD"} for r in app.routes if isinstance(r, Route)}
    documented = {path: {method.upper() for method in ops} for path, ops in spec["paths"].items()}
    assert documented == routes
    # Everything else is the drag WebSocket, which OpenAPI cannot describe; no Mount serves files by path.
    assert [r.path for r in app.routes if not isinstance(r, Route)] == ["/ws/drag"]
    assert all(isinstance(r, (Route, WebSocketRoute)) for r in app.routes)
    assert "/ws/drag" in spec["info"]["description"]
    assert spec["openapi"] == "3.1.0" and spec["info"]["version"] == aekit.__version__


def test_spec_is_exact_for_the_session(session, spec):
    decode = spec["paths"]["/api/decode"]["post"]
    body = _body_schema(spec, "/api/decode")
    assert body["properties"]["model"]["enum"] == ["ae", "vae"] and body["additionalProperties"] is False
    code = body["properties"]["codes"]["items"]
    assert code["minItems"] == code["maxItems"] == 2 and code["items"] == {
        "type": "number",
        "minimum": -1e4,
        "maximum": 1e4,
    }
    assert body["properties"]["codes"]["maxItems"] == 256 and body["properties"]["x"]["minItems"] == 144
    assert set(decode["responses"]) == {"200", "400", "404", "413", "415", "422", "500"}
    sample = spec["paths"]["/api/sample"]["get"]["parameters"][0]
    assert sample["schema"] == {"type": "integer", "minimum": 0, "maximum": 299}
    assert spec["paths"]["/static/{name}"]["get"]["parameters"][0]["schema"]["enum"] == static_names()
    assert "explorer.js" in static_names() and "index.html" not in static_names()
    assert build_spec(session, MAX_BODY_BYTES) == spec
    json.dumps(spec, allow_nan=False)


def test_real_answers_match_the_spec(client, spec, shapes):
    """What the page really gets validates against the documented answer; a good request against its body."""
    x = shapes.x[4].ravel().tolist()
    calls = [
        ("get", "/api/meta", {}, None),
        ("get", "/api/presets", {}, None),
        ("get", "/api/sample", {"index": 3}, None),
        ("get", "/api/codes", {"model": "vae", "limit": 7}, None),
        ("post", "/api/encode", {}, {"model": "vae", "x": x}),
        ("post", "/api/encode", {}, {"model": "ae", "x": x}),
        ("post", "/api/decode", {}, {"model": "ae", "codes": [[0.1, 0.2], [1, -1]], "x": x}),
        ("post", "/api/decode", {}, {"model": "vae", "codes": [[0, 0]]}),
        ("post", "/api/grid", {}, {"model": "ae", "n": 4, "dims": [1, 0], "base": None}),
    ]
    for method, path, params, body in calls:
        if body is not None:
            assert _validator(spec, _body_schema(spec, path)).is_valid(body), (path, body)
        response = client.request(method.upper(), path, params=params, json=body)
        assert response.status_code == 200, response.text
        errors = [str(e) for e in _validator(spec, _answer_schema(spec, method, path)).iter_errors(response.json())]
        assert not errors, (path, errors[:3])


@pytest.mark.parametrize(
    "body, status",
    [
        ({"model": "ae", "codes": [[0, 0, 0]]}, 400),
        ({"model": "ae", "codes": []}, 400),
        ({"model": "ae", "codes": [[1e5, 0]]}, 400),
        ({"model": "ae", "codes": [[0, 0]], "zz": 1}, 400),
        ({"model": "ae", "codes": [[True, 0]]}, 400),
        ({"model": "nope", "codes": [[0, 0]]}, 404),
        ({"model": "ae", "codes": [[0, 0]] * 257}, 422),
        ({"codes": [[0, 0]]}, 400),
    ],
)
def test_invalid_bodies_are_invalid_in_the_spec_too(client, spec, body, status):
    assert not _validator(spec, _body_schema(spec, "/api/decode")).is_valid(body)
    response = client.post("/api/decode", json=body)
    assert response.status_code == status
    assert _validator(spec, spec["components"]["schemas"]["Error"]).is_valid(response.json())


# -- strict requests --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonp"],
)
def test_bodies_must_be_sent_as_json(client, content_type):
    """A cross-site form can post text/plain without a preflight; the API refuses it."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = client.post("/api/decode", content=b'{"model": "ae", "codes": [[0, 0]]}', headers=headers)
    assert response.status_code == 415 and "Content-Type: application/json" in response.json()["error"]
    ok = client.post(
        "/api/decode",
        content=b'{"model": "ae", "codes": [[0, 0]]}',
        headers={"Content-Type": "Application/JSON; charset=utf-8"},
    )
    assert ok.status_code == 200


@pytest.mark.parametrize(
    "method, path, allow",
    [
        ("DELETE", "/api/decode", "POST"),
        ("POST", "/api/meta", "GET, HEAD"),
        ("PUT", "/static/explorer.js", "GET, HEAD"),
        ("PATCH", "/", "GET, HEAD"),
    ],
)
def test_wrong_methods_get_405_with_allow(client, method, path, allow):
    response = client.request(method, path)
    assert response.status_code == 405 and set(response.headers["allow"].split(", ")) == set(allow.split(", "))
    assert response.json()["error"] == f"Method Not Allowed: {method} {path}"


@pytest.mark.parametrize(
    "query, message",
    [
        ("index=3&index=4", "query parameter 'index' is given 2 times"),
        ("index=3&path=/etc/passwd", "unknown query parameter 'path'; /api/sample takes only index"),
        ("index=+3", "must be an integer"),
        ("index= 3", "must be an integer"),
        ("index=3_0", "must be an integer"),
        ("index=%D9%A3", "must be an integer"),
        ("index=1e2", "must be an integer"),
        ("index=3.0", "must be an integer"),
        ("index=" + "9" * 5000, "must be an integer"),
        ("index=", "must be an integer"),
        ("index=--3", "must be an integer"),
        ("index=3&" + "&".join(f"k{i}=1" for i in range(2000)), "unknown query parameter 'k0'"),
    ],
)
def test_query_parameters_are_strict(client, query, message):
    response = client.get("/api/sample?" + query)
    assert response.status_code == 400 and message in response.json()["error"], response.text
    assert len(response.text) < 400  # a long value is cut in the message


def test_json_numbers_are_numbers(client):
    """JSON has one number type: 3.0 is a valid grid side, 2.5 is not."""
    assert client.post("/api/grid", json={"model": "ae", "n": 3.0, "dims": [1.0, 0]}).json()["dims"] == [1, 0]
    assert client.post("/api/grid", json={"model": "ae", "n": 2.5}).status_code == 400


@pytest.mark.parametrize(
    "body, status, message",
    [
        (b"[" * 100_000 + b"]" * 100_000, 400, "the body is not valid JSON (nested too deeply)"),
        (b'{"model": "ae", "codes": [[1' + b"0" * 400 + b", 0]]}", 400, "too large for a float"),
        (b'{"model": "\\u00e9\\ud83d\\ude00", "codes": [[0, 0]]}', 404, "unknown model"),
        (b'{"model": "\\ud800", "codes": [[0, 0]]}', 404, "unknown model"),
        (b'{"model": "ae", "codes": [[0, 0]], "model": "vae"}', 200, None),
        (b"", 400, "not valid JSON"),
        (b"\xff\xfe", 400, "not valid JSON"),
        (b"null", 400, "got NoneType"),
        (b'{"model": "ae", "codes": [[Infinity, 0]]}', 400, "Infinity is not a number JSON allows"),
    ],
)
def test_hostile_json(client, body, status, message):
    response = client.post("/api/decode", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    if message is not None:
        assert message in response.json()["error"]


def test_deep_nesting_is_an_error_not_a_crash(client):
    response = client.post(
        "/api/decode",
        content=b'{"model": "ae", "codes": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400 and "error" in response.json()


def test_streamed_body_over_the_limit(session):
    """Without a Content-Length the body is counted as it arrives."""

    def chunks():
        for _ in range(20):
            yield b" " * 100

    with TestClient(create_app(session, max_body_bytes=1000)) as small:
        response = small.post("/api/decode", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "over the 1000-byte limit" in response.json()["error"]


@pytest.mark.parametrize(
    "host, status",
    [
        ("127.0.0.1:8000", 200),
        ("localhost", 200),
        ("LOCALHOST:1", 200),
        ("[::1]:8000", 200),
        ("evil.example", 400),
        ("evil.example@127.0.0.1", 400),
        ("127.0.0.1.evil.example", 400),
        ("127.0.0.1:8000/x", 400),
    ],
)
def test_host_headers_on_loopback(client, host, status):
    """DNS rebinding: a page of another name reaching 127.0.0.1 is refused, in JSON. IPv6 loopback works."""
    response = client.get("/api/meta", headers={"host": host})
    assert response.status_code == status
    if status == 400:
        assert response.headers["content-type"] == "application/json"
        assert "is not served here" in response.json()["error"]


def test_websockets_with_a_foreign_host_or_origin_are_refused(client):
    for headers in ({"host": "evil.example"}, {"origin": "http://evil.example"}, {"origin": "null"}):
        with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/ws/drag", headers=headers) as ws:
            ws.receive_json()
        assert info.value.code == 1008


# -- nothing leaks, nothing is read from a client's path ----------------------------------------
def test_no_endpoint_reads_a_path_the_client_gives(client, monkeypatch):
    opened: list[str] = []
    real_open, real_io_open = builtins.open, io.open

    def spy(real):
        def opener(file, *args, **kwargs):
            opened.append(str(file))
            return real(file, *args, **kwargs)

        return opener

    monkeypatch.setattr(builtins, "open", spy(real_open))
    monkeypatch.setattr(io, "open", spy(real_io_open))
    hostile = "../../../../etc/passwd"
    for path, status in [
        ("/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd", 404),
        ("/static/%2e%2e%2fserver.py", 404),
        ("/static/index.html", 404),
        ("/static/__init__.py", 404),
        ("/static/%2e%2e", 404),
        ("/static/explorer.js%2F..%2F..%2Fserver.py", 404),
        ("/static/", 404),
        (f"/api/sample?index={hostile}", 400),
        (f"/api/codes?model={hostile}", 404),
        (f"/api/meta?file={hostile}", 400),
        (f"/?file={hostile}", 200),
    ]:
        response = client.get(path)
        assert response.status_code == status, (path, response.text)
        assert "root:" not in response.text
    for body in ({"model": hostile, "codes": [[0, 0]]}, {"model": "ae", "codes": [[0, 0]], "x": hostile}):
        assert client.post("/api/decode", json=body).status_code in (400, 404)
    assert not [p for p in opened if "passwd" in p or ".." in p or "server.py" in p], opened
    assert client.get("/static/explorer.js").status_code == 200
    assert any(p.endswith(os.path.join("static", "explorer.js")) for p in opened)  # the spy sees reads


def test_internal_errors_are_generic_for_the_client_and_logged(session, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("secret detail at /home/someone/model.py")

    monkeypatch.setattr(session, "encode", broken)
    monkeypatch.setattr(session, "decode", broken)
    with (
        caplog.at_level(logging.ERROR, logger="aekit.explorer"),
        TestClient(create_app(session), raise_server_exceptions=False) as c,
    ):
        answers = [c.post("/api/encode", json={"model": "ae", "x": [0.0] * 144})]
        monkeypatch.setattr(app_module, "STATIC_TYPES", {})  # a bug outside the JSON endpoints
        answers.append(c.get("/static/explorer.js"))
        with c.websocket_connect("/ws/drag") as ws:
            ws.send_json({"type": "decode", "model": "ae", "z": [0, 0], "seq": 5})
            reply = ws.receive_json()
    assert [a.status_code for a in answers] == [500, 500]
    for answer in answers:
        assert answer.headers["content-type"] == "application/json"
        assert answer.json()["error"].startswith("internal error") and "log" in answer.json()["error"]
        assert "secret" not in answer.text and "Traceback" not in answer.text and "KeyError" not in answer.text
    assert reply == {"type": "error", "seq": 5, "error": "internal error while decoding"}
    assert caplog.text.count("Traceback") >= 3 and "secret detail" in caplog.text and "KeyError" in caplog.text


def test_non_finite_answers_are_422_not_500(session, monkeypatch):
    monkeypatch.setattr(session, "encode", lambda *a, **k: {"error": float("nan")})
    with TestClient(create_app(session)) as c:
        response = c.post("/api/encode", json={"model": "ae", "x": [0.0] * 144})
    assert response.status_code == 422 and "non-finite" in response.json()["error"]


def test_a_drag_socket_that_never_reads_its_errors_is_closed(session, monkeypatch):
    monkeypatch.setattr(app_module, "MAX_QUEUED_REPLIES", 0)
    with TestClient(create_app(session)) as c, c.websocket_connect("/ws/drag") as ws:
        ws.send_text("{oops")
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()


# -- binding ----------------------------------------------------------------------------------
def test_loopback_is_the_default_everywhere():
    from aekit.cli import main

    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(ServerThread).parameters["host"].default == "127.0.0.1"
    explore = main.commands["explore"]
    assert next(p for p in explore.params if p.name == "host").default == "127.0.0.1"


@pytest.mark.parametrize(
    "host, warned, refuses_foreign_hosts",
    [("127.0.0.1", False, True), ("localhost", False, True), ("0.0.0.0", True, True)],
)
def test_serve_warns_off_loopback(session, monkeypatch, capsys, host, warned, refuses_foreign_hosts):
    import torch
    import uvicorn

    servers = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: servers.append((self, sockets)))
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    lines = []
    serve(session, host=host, echo=lines.append)
    ((server, sockets),) = servers
    sockets[0].close()
    assert ("warning: serving on" in capsys.readouterr().err) is warned
    assert lines[0].startswith("aekit explorer: http://")
    # Open WebSockets count as uvicorn connections: the limit leaves MAX_CONNECTIONS above their cap.
    assert server.config.limit_concurrency == MAX_CONNECTIONS + MAX_WEBSOCKETS
    assert server.config.server_header is False
    with TestClient(server.config.app) as c:
        assert (c.get("/api/meta", headers={"host": "evil.example"}).status_code == 400) is refuses_foreign_hosts


def test_real_server_answers_in_json_over_http(session):
    """uvicorn itself: errors, 405s and host refusals stay JSON on the wire."""
    import httpx

    with ServerThread(session) as server, httpx.Client(headers=server.headers) as http:
        url = server.url
        images = http.post(url + "api/decode", json={"model": "ae", "codes": [[0, 0]]}).json()["images"]
        assert np.asarray(images).shape == (1, 144)
        for response in (
            http.get(url + "api/decode"),
            http.get(url + "api/meta", headers={"host": "evil.example"}),
            http.post(url + "api/decode", content=b"x", headers={"Content-Type": "text/plain"}),
            http.get(url + "static/x.js"),
        ):
            assert response.status_code in (400, 404, 405, 415) and response.json()["error"]
            assert "server" not in response.headers
        assert http.get(url + "openapi.json").json()["paths"]["/api/decode"]
