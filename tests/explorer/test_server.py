"""The explorer's HTTP and WebSocket layer: answers equal the estimator's, bad requests get a
4xx JSON error with a message (never a stack trace), and drags answer only the newest position."""

from __future__ import annotations

import json
import re
import threading
import time
from importlib.resources import files

import numpy as np
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

import aekit
from aekit.cli import main
from aekit.errors import ConfigError
from aekit.explorer import Session
from aekit.explorer.server import ServerThread, _bind, create_app, is_loopback


@pytest.fixture(scope="module")
def client(session):
    with TestClient(create_app(session)) as c:
        yield c


def test_page_and_assets_are_served_with_a_strict_policy(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp and "script-src 'self'" in csp
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert client.get(asset).status_code == 200, asset
    assert client.get("/static/explorer.js").text.startswith("// aekit explorer")


def test_page_needs_nothing_from_the_network():
    """No CDN, no font service: the page works offline."""
    static = files("aekit.explorer") / "static"
    for name in (
        "index.html",
        "explorer.css",
        "explorer.js",
        "paint.js",
        "backend.js",
        "input.js",
        "tools.js",
        "dims.js",
        "url.js",
    ):
        text = (static / name).read_text()
        assert not re.search(r"https?://|//cdn|@import|fonts\.", text), name


def test_meta_presets_codes_and_sample(client, session, shapes):
    meta = client.get("/api/meta").json()
    assert [m["name"] for m in meta["models"]] == ["ae", "vae"] and meta["dataset"]["n"] == 300
    presets = client.get("/api/presets").json()
    assert [p["name"] for p in presets] == aekit.data.builtins.SHAPES12_CLASSES
    codes = client.get("/api/codes", params={"model": "vae", "limit": 20}).json()
    rows = np.array(codes["indices"])
    np.testing.assert_array_equal(np.float32(codes["codes"]), session.models["vae"].transform(shapes.x[rows]))
    sample = client.get("/api/sample", params={"index": 9}).json()
    np.testing.assert_array_equal(np.float32(sample["x"]), shapes.x[9].ravel())


def test_encode_and_decode_equal_the_estimator(client, session, shapes):
    est = session.models["ae"]
    x = shapes.x[11]
    out = client.post("/api/encode", json={"model": "ae", "x": x.ravel().tolist()}).json()
    np.testing.assert_array_equal(np.float32(out["mean"]), est.transform(x[None])[0])
    np.testing.assert_array_equal(np.float32(out["reconstruction"]), est.reconstruct(x[None]).ravel())
    z = np.float32([[0.5, -1.25], [3.0, 2.0]])
    out = client.post("/api/decode", json={"model": "ae", "codes": z.tolist()}).json()
    np.testing.assert_allclose(np.float32(out["images"]), est.inverse_transform(z).reshape(2, -1), rtol=0, atol=1e-6)
    grid = client.post("/api/grid", json={"model": "vae", "n": 3}).json()
    assert len(grid["images"]) == 9 and len(grid["xs"]) == 3


@pytest.mark.parametrize(
    "method, path, body, status, message",
    [
        ("post", "/api/decode", b"{not json", 400, "the body is not valid JSON"),
        ("post", "/api/decode", b'{"model": "ae", "codes": [[NaN, 0]]}', 400, "NaN is not a number JSON allows"),
        ("post", "/api/decode", b'{"model": "ae", "codes": [[1e999, 0]]}', 400, "codes[0][0]=inf is not a finite"),
        ("post", "/api/decode", b"[1, 2]", 400, "the body must be a JSON object, got list"),
        (
            "post",
            "/api/decode",
            b'{"model": "ae"}',
            400,
            "missing codes; /api/decode takes: model, codes, x (optional)",
        ),
        ("post", "/api/decode", b'{"model": "ae", "codes": [[0, 0]], "zz": 1}', 400, "unknown field zz"),
        ("post", "/api/decode", b'{"model": "ae", "codes": [[0, 0, 0]]}', 400, "codes[0] must hold 2 numbers, got 3"),
        (
            "post",
            "/api/decode",
            b'{"model": "xx", "codes": [[0, 0]]}',
            404,
            "unknown model 'xx'; this session has: ae, vae",
        ),
        (
            "post",
            "/api/decode",
            json.dumps({"model": "ae", "codes": [[0, 0]] * 257}).encode(),
            422,
            "codes holds 257 codes; /api/decode decodes 1 to 256 codes per request",
        ),
        ("post", "/api/encode", b'{"model": "ae", "x": [0.5]}', 400, "x must hold 144 numbers, got 1"),
        ("post", "/api/grid", b'{"model": "ae", "n": 1000}', 400, "n=1000 must be an integer in [2, 32]"),
        ("get", "/api/codes?model=ae&limit=many", None, 400, "query parameter limit='many' must be an integer"),
        ("get", "/api/codes", None, 400, "query parameter 'model' is required"),
        ("get", "/api/sample?index=-1", None, 400, "index=-1 must be an integer in [0, 299]"),
        ("get", "/api/nothing", None, 404, "Not Found: GET /api/nothing"),
        ("get", "/api/decode", None, 405, "Method Not Allowed: GET /api/decode"),
    ],
)
def test_bad_requests_get_json_errors(client, method, path, body, status, message):
    response = client.request(
        method.upper(), path, content=body, headers={"Content-Type": "application/json"} if body else {}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert message in response.json()["error"]


def test_request_body_limit(session):
    with TestClient(create_app(session, max_body_bytes=1000)) as small:
        big = {"model": "ae", "codes": [[0.25, 0.5]] * 100}
        response = small.post("/api/decode", json=big)
        assert response.status_code == 413 and "over the 1000-byte limit" in response.json()["error"]


def test_internal_errors_never_reach_the_client(session, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret detail of the server")

    monkeypatch.setattr(session, "decode", broken)
    with TestClient(create_app(session), raise_server_exceptions=False) as c:
        response = c.post("/api/decode", json={"model": "ae", "codes": [[0, 0]]})
    assert response.status_code == 500
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.json()["error"].startswith("internal error while answering /api/decode")


def test_drag_socket_decodes_with_the_input_error(client, session, shapes):
    est = session.models["ae"]
    x = shapes.x[2]
    mean = est.transform(x[None])[0]
    with client.websocket_connect("/ws/drag") as ws:
        ws.send_json({"type": "input", "x": x.ravel().tolist()})
        ws.send_json({"type": "decode", "model": "ae", "z": mean.tolist(), "seq": 1})
        reply = ws.receive_json()
        assert reply["type"] == "decoded" and reply["seq"] == 1 and reply["z"] == mean.tolist()
        np.testing.assert_allclose(
            np.float32(reply["image"]), est.inverse_transform(mean[None]).ravel(), rtol=0, atol=1e-6
        )
        assert reply["error"] == pytest.approx(est.reconstruction_error(x[None])[0], rel=1e-6)
        # A bad message gets an error reply; the connection stays usable.
        ws.send_json({"type": "decode", "model": "ae", "z": [0, "a"], "seq": 2})
        assert ws.receive_json() == {"type": "error", "seq": 2, "error": "codes[0][1]='a' is not a number"}
        ws.send_text("{oops")
        assert ws.receive_json()["error"].startswith("the body is not valid JSON")
        ws.send_json({"type": "jump"})
        assert ws.receive_json()["error"] == "type='jump' must be 'input' or 'decode'"
        ws.send_json({"type": "decode", "model": "ae", "z": [0.0, 0.0], "seq": 3})
        assert ws.receive_json()["seq"] == 3


def test_drag_socket_answers_only_the_newest_position(session, monkeypatch):
    """While one decode runs, later positions replace each other: the last one is always answered."""
    decode = session.decode

    def slow(*args, **kwargs):
        time.sleep(0.05)
        return decode(*args, **kwargs)

    monkeypatch.setattr(session, "decode", slow)
    with TestClient(create_app(session)) as c, c.websocket_connect("/ws/drag") as ws:
        for seq in range(1, 31):
            ws.send_json({"type": "decode", "model": "ae", "z": [seq / 10, 0.0], "seq": seq})
        seqs = []
        while not seqs or seqs[-1] != 30:
            seqs.append(ws.receive_json()["seq"])
    assert seqs == sorted(seqs) and len(seqs) <= 5, seqs


def test_hosts_and_origins_outside_the_allowed_list_are_refused(session):
    app = create_app(session, allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get("/api/meta").status_code == 200
        assert c.get("/api/meta", headers={"host": "evil.example"}).status_code == 400  # DNS rebinding
        with c.websocket_connect("ws://127.0.0.1/ws/drag", headers={"origin": "http://127.0.0.1"}) as ws:
            ws.send_json({"type": "decode", "model": "ae", "z": [0, 0], "seq": 1})
            assert ws.receive_json()["seq"] == 1
        with pytest.raises(WebSocketDisconnect) as info:
            with c.websocket_connect("ws://127.0.0.1/ws/drag", headers={"origin": "http://evil.example"}) as ws:
                ws.receive_json()
        assert info.value.code == 1008


def test_real_server_on_a_free_loopback_port(session):
    """uvicorn itself, as `aekit explore` runs it: HTTP and the WebSocket on 127.0.0.1."""
    import httpx
    from websockets.sync.client import connect

    with ServerThread(session) as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", server.url)
        assert server.token_url == f"{server.url}?token={server.token}" and len(server.token) == 43
        assert httpx.get(server.url + "api/meta", headers=server.headers).json()["models"][0]["name"] == "ae"
        ws_url = server.url.replace("http", "ws") + "ws/drag"
        with connect(ws_url, origin=server.url.rstrip("/"), additional_headers=server.headers) as ws:
            ws.send(json.dumps({"type": "decode", "model": "vae", "z": [0.1, 0.2], "seq": 7}))
            reply = json.loads(ws.recv(timeout=5))
        expected = session.models["vae"].inverse_transform(np.float32([[0.1, 0.2]]))
        np.testing.assert_array_equal(np.float32(reply["image"]), expected.ravel())
        assert httpx.get(server.url, headers={"host": "evil.example", **server.headers}).status_code == 400


def test_binding_and_hosts():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    taken = _bind("127.0.0.1", 0)
    try:
        with pytest.raises(ConfigError, match=rf"cannot listen on 127.0.0.1:{taken.getsockname()[1]}"):
            _bind("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()
    with pytest.raises(ConfigError, match=r"port=70000 must be an integer in \[0, 65535\]"):
        _bind("127.0.0.1", 70000)


def test_cli_explore_help_and_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["explore", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output and "--port" in result.output
    result = runner.invoke(main, ["explore", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "aekit: error:" in result.output


def test_cli_explore_serves_and_warns_off_loopback(session, monkeypatch):
    """The command prints the URL; a non-loopback host prints a warning first."""
    import torch
    import uvicorn

    import aekit.explorer as explorer

    ran = threading.Event()
    monkeypatch.setattr(explorer, "open_session", lambda *a, **k: session)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: ran.set())
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # keep the test process at one thread
    result = CliRunner().invoke(main, ["explore", "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert "warning: serving on 0.0.0.0 exposes the explorer" in result.output
    assert re.search(r"aekit explorer: http://127\.0\.0\.1:\d+/\?token=[\w-]{43}  ", result.output) and ran.is_set()
    assert re.search(r"from another machine: http://[^/]+:\d+/\?token=[\w-]{43}", result.output)


def test_cli_explore_exports_one_page_and_refuses_conv_models(session, tmp_path, monkeypatch):
    """--export writes the standalone page instead of serving; a conv model has no JavaScript mirror."""
    import aekit.explorer as explorer

    monkeypatch.setattr(explorer, "open_session", lambda *a, **k: session)
    out = tmp_path / "page.html"
    result = CliRunner().invoke(main, ["explore", "--export", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    html = out.read_text()
    assert '<script type="application/json" id="aekit-data">' in html and "window.AekitDecoder" in html
    assert not re.search(r"""(?:src|href)=["']/static""", html)  # every script and style inlined
    payload = json.loads(re.search(r'id="aekit-data">(.*?)</script>', html, re.S).group(1))
    assert sorted(payload["models"]) == ["ae", "vae"] and payload["models"]["vae"]["format"] == "aekit.model"
    assert len(payload["points"]["indices"]) == payload["meta"]["limits"]["max_points"] == 100
    conv = aekit.AutoEncoder(code_dim=2, arch="conv", epochs=1, random_state=0).fit(
        session.dataset.subset(slice(0, 64))
    )
    monkeypatch.setattr(explorer, "open_session", lambda *a, **k: Session({"convy": conv}, session.dataset))
    result = CliRunner().invoke(main, ["explore", "--export", str(tmp_path / "conv.html")])
    assert result.exit_code == 1 and "model 'convy': arch='conv' cannot be mirrored in JavaScript" in result.output
    assert not (tmp_path / "conv.html").exists()
