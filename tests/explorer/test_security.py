"""Who can reach a served explorer, what it reads and its limits, over real sockets (issue 19).

Every server here is the real uvicorn server (``ServerThread``, as ``aekit explore`` runs
it) on a free port, bound to 127.0.0.1 and to 0.0.0.0 (reached through 127.0.0.1): no
token 401, the token 200 (header, query, cookie), a Host that does not name the server
400, a POST or WebSocket from another origin 403, a WebSocket without the token refused,
300 idle WebSockets leave the page and /api/meta answering, sockets beyond the caps closed
with 1013, a body over the cap 413, too many codes 422, and hostile model folders refused.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time

import httpx
import numpy as np
import pytest
from click.testing import CliRunner
from websockets.exceptions import ConnectionClosed, InvalidStatus

import aekit
from aekit.cli import main
from aekit.errors import ConfigError, DataError
from aekit.explorer import auth, open_session
from aekit.explorer.server import MAX_WEBSOCKETS_PER_CLIENT, ServerThread, serve

BINDS = ["127.0.0.1", "0.0.0.0"]


@pytest.fixture(scope="module", params=BINDS)
def server(session, request):
    with ServerThread(session, host=request.param) as running:
        yield running


def _ws_url(server: ServerThread, query: str = "") -> str:
    return server.url.replace("http", "ws", 1) + "ws/drag" + query


async def _open(url: str, headers: dict | None = None, origin: str | None = None, local: str | None = None):
    from websockets.asyncio.client import connect

    extra = {"local_addr": (local, 0)} if local else {}
    return await connect(url, additional_headers=headers or {}, origin=origin, ping_interval=None, **extra)


async def _drag(ws, seq: int = 1) -> dict:
    await ws.send(json.dumps({"type": "decode", "model": "ae", "z": [0.25, -0.5], "seq": seq}))
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


# -- the token -------------------------------------------------------------------------------
ROUTES = [
    "",
    "static/explorer.js",
    "openapi.json",
    "api/meta",
    "api/presets",
    "api/sample?index=0",
    "api/codes?model=ae",
]


def test_every_route_needs_the_token(server):
    for path in ROUTES:
        for headers in ({}, {"Authorization": "Bearer " + "x" * 43}, {"Authorization": "Basic " + server.token}):
            response = httpx.get(server.url + path, headers=headers)
            assert response.status_code == 401, (path, headers, response.text)
        assert httpx.get(server.url + path, headers=server.headers).status_code == 200, path
    decode = {"model": "ae", "codes": [[0, 0]]}
    assert httpx.post(server.url + "api/decode", json=decode).status_code == 401
    assert httpx.post(server.url + "api/decode", json=decode, headers=server.headers).status_code == 200
    refused = httpx.get(server.url + "api/meta")
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert "needs its token" in refused.json()["error"] and "Authorization: Bearer" in refused.json()["error"]
    wrong = httpx.get(server.url + "api/meta", params={"token": "y" * 43})
    assert wrong.status_code == 401 and wrong.json()["error"].startswith("wrong token")
    # The page itself asks for the token with a form, and says nothing else.
    page = httpx.get(server.url, params={"seed": "7"})
    assert page.status_code == 401 and page.headers["content-type"].startswith("text/html")
    assert (
        '<input name="token" type="password"' in page.text
        and '<input type="hidden" name="seed" value="7">' in page.text
    )
    assert "<script" not in page.text and server.token not in page.text


def test_the_printed_url_sets_a_strict_cookie_and_drops_the_token(server):
    first = httpx.get(server.url, params={"token": server.token, "seed": "7"})
    assert first.status_code == 200 and server.token not in first.text
    assert re.search(r'http-equiv="refresh" content="0; url=/\?seed=7"', first.text)
    cookie = first.headers["set-cookie"]
    name = auth.cookie_name(server.token)
    assert cookie.startswith(f"{name}={server.token};")
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attributes
    jar = {name: server.token}
    page = httpx.get(server.url, params={"seed": "7"}, cookies=jar)
    assert page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]
    assert httpx.get(server.url + "api/meta", cookies=jar).status_code == 200
    assert httpx.get(server.url + "api/meta", cookies={name: "z" * 43}).status_code == 401
    # ?token= works on every route, and the routes' strict query checks never see it.
    assert httpx.get(server.url + "api/sample", params={"index": 1, "token": server.token}).json()["index"] == 1


def test_tokens_are_compared_in_constant_time(server, monkeypatch):
    compared = []
    real = auth.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert httpx.get(server.url + "api/meta", headers=server.headers).status_code == 200
    assert (server.token.encode(), server.token.encode()) in compared


def test_the_spec_lists_the_token(server):
    spec = httpx.get(server.url + "openapi.json", headers=server.headers).json()
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "query"}
    decode = spec["paths"]["/api/decode"]["post"]["responses"]
    assert {"401", "403", "413", "422"} <= set(decode)
    assert "401" in spec["paths"]["/api/meta"]["get"]["responses"]


# -- Host and Origin -------------------------------------------------------------------------
def test_hosts_that_do_not_name_the_server_are_refused(server):
    port = server.url.rsplit(":", 1)[1].rstrip("/")
    ip_answered = server.host == "0.0.0.0"  # bound to every interface: any IP literal (no DNS to rebind)
    for host, status in [
        (f"127.0.0.1:{port}", 200),
        (f"localhost:{port}", 200),
        (f"[::1]:{port}", 200),
        ("evil.example", 400),
        (f"evil.example:{port}", 400),
        ("127.0.0.1.evil.example", 400),
        ("localhost.evil.example", 400),
        ("", 400),
        (f"10.11.12.13:{port}", 200 if ip_answered else 400),
    ]:
        response = httpx.get(server.url + "api/meta", headers={"host": host, **server.headers})
        assert response.status_code == status, (host, response.text)
        if status == 400:
            error = response.json()["error"]
            assert "is not served here" in error and "--allow-host" in error
    # A DNS-rebinding page also gets no WebSocket (the handshake by hand: a client library sets its own Host).
    assert _upgrade_status(server, "evil.example") == 403
    assert _upgrade_status(server, f"localhost:{port}") == 101


def _upgrade_status(server: ServerThread, host: str) -> int:
    """The HTTP status of a WebSocket handshake sent with this ``Host`` and the token."""
    port = int(server.url.rsplit(":", 1)[1].rstrip("/"))
    request = [
        "GET /ws/drag HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        f"Authorization: Bearer {server.token}",
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(("\r\n".join(request) + "\r\n\r\n").encode())
        return int(sock.recv(4096).split(b" ", 2)[1])


def test_allow_host_adds_a_name(session):
    with ServerThread(session, host="0.0.0.0", allow_hosts=["Lab.Example.org"]) as lab:
        for host, status in [("lab.example.org:8888", 200), ("LAB.EXAMPLE.ORG", 200), ("other.example.org", 400)]:
            response = httpx.get(lab.url + "api/meta", headers={"host": host, **lab.headers})
            assert response.status_code == status, host
    with pytest.raises(ConfigError, match="--allow-host 'lab/x' is not a host name"):
        ServerThread(session, allow_hosts=["lab/x"]).start()


def test_state_changing_requests_from_another_origin_are_refused(server):
    own = server.url.rstrip("/")
    body = {"model": "ae", "codes": [[0, 0]]}
    for origin, status in [
        ("http://evil.example", 403),
        ("null", 403),
        ("http://127.0.0.1:1", 403),  # another port is another origin
        (own, 200),
        (None, 200),  # scripts send no Origin
    ]:
        headers = {**server.headers, **({"origin": origin} if origin else {})}
        response = httpx.post(server.url + "api/decode", json=body, headers=headers)
        assert response.status_code == status, (origin, response.text)
        if status == 403:
            assert "is not this page's origin" in response.json()["error"]
    assert (
        httpx.get(server.url + "api/meta", headers={"origin": "http://evil.example", **server.headers}).status_code
        == 200
    )
    for origin in ("http://evil.example", "null"):
        with pytest.raises(InvalidStatus) as info:
            asyncio.run(_open(_ws_url(server), server.headers, origin=origin))
        assert info.value.response.status_code == 403


def test_a_websocket_needs_the_token(server):
    own = server.url.rstrip("/")
    for headers, query in [({}, ""), ({"Authorization": "Bearer " + "x" * 43}, ""), ({}, "?token=" + "x" * 43)]:
        with pytest.raises(InvalidStatus) as info:
            asyncio.run(_open(_ws_url(server, query), headers, origin=own))
        assert info.value.response.status_code == 403

    async def carriers() -> list[dict]:
        cookie = {"Cookie": f"{auth.cookie_name(server.token)}={server.token}"}
        replies = []
        for headers, query in [(server.headers, ""), (cookie, ""), ({}, "?token=" + server.token)]:
            ws = await _open(_ws_url(server, query), headers, origin=own)
            replies.append(await _drag(ws))
            await ws.close()
        return replies

    replies = asyncio.run(carriers())
    assert [r["type"] for r in replies] == ["decoded"] * 3 and replies[0] == replies[1] == replies[2]


# -- bounded resources -----------------------------------------------------------------------
async def _idle_then_page(server: ServerThread, count: int) -> tuple[list, list[tuple[int, float]], list]:
    """Open ``count`` WebSockets and leave them idle; then time a fresh GET of the page and of /api/meta;
    then ask each socket for one decode: the reply, or the close code and reason it was refused with."""
    sockets = []
    for start in range(0, count, 50):
        sockets += await asyncio.gather(
            *(_open(_ws_url(server), server.headers) for _ in range(start, min(count, start + 50)))
        )
    timings = []
    for path in ("", "api/meta"):
        async with httpx.AsyncClient(headers=server.headers, timeout=10) as http:  # a new connection each
            t0 = time.perf_counter()
            response = await http.get(server.url + path)
            timings.append((response.status_code, time.perf_counter() - t0))
    outcomes = []
    for seq, ws in enumerate(sockets):
        try:
            outcomes.append((await _drag(ws, seq))["type"])
        except ConnectionClosed as closed:
            outcomes.append((closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else ("no close frame",))
    await asyncio.gather(*(ws.close() for ws in sockets))
    return sockets, timings, outcomes


@pytest.mark.parametrize("host", BINDS)
def test_300_idle_websockets_leave_the_page_answering(session, host):
    """The issue's scenario: on main, 300 idle sockets made the page answer 503."""
    with ServerThread(session, host=host, max_websockets=400, max_websockets_per_client=400) as roomy:
        sockets, timings, outcomes = asyncio.run(_idle_then_page(roomy, 300))
    assert len(sockets) == 300 and outcomes == ["decoded"] * 300  # all 300 were open and idle
    for status, seconds in timings:
        assert status == 200 and seconds < 1.0, timings  # the goal: 200 within 1 s


@pytest.mark.parametrize("host", BINDS)
def test_websockets_beyond_the_caps_are_closed_with_1013(session, host):
    """Default caps: one client gets MAX_WEBSOCKETS_PER_CLIENT sockets; the rest are accepted and closed at
    once with code 1013 and the reason, while the page still answers."""
    with ServerThread(session, host=host) as capped:
        _, timings, outcomes = asyncio.run(_idle_then_page(capped, 300))
    # Sockets opened 50 at a time arrive in any order: count them, whichever were first.
    assert outcomes.count("decoded") == MAX_WEBSOCKETS_PER_CLIENT
    refusals = {outcome for outcome in outcomes if outcome != "decoded"}
    assert refusals == {
        (
            1013,
            f"too many WebSockets from 127.0.0.1 ({MAX_WEBSOCKETS_PER_CLIENT} open, the limit "
            "per client); close a tab or try again later",
        )
    }
    assert [status for status, _ in timings] == [200, 200]


def test_the_overall_cap_counts_every_client_and_frees_closed_sockets(session):
    async def run(server: ServerThread) -> list:
        a1, a2, a3 = [await _open(_ws_url(server), server.headers, local="127.0.0.1") for _ in range(3)]
        b1, b2 = [await _open(_ws_url(server), server.headers, local="127.0.0.2") for _ in range(2)]
        outcomes = []
        for ws in (a1, a2, a3, b1, b2):
            try:
                outcomes.append((await _drag(ws))["type"])
            except ConnectionClosed as closed:
                outcomes.append(closed.rcvd.reason)
        await a1.close()
        await asyncio.sleep(0)  # nothing to wait for: the next socket is refused or not, whatever the timing
        for _ in range(100):  # the server counts a1 closed once its handler returns
            b3 = await _open(_ws_url(server), server.headers, local="127.0.0.2")
            try:
                outcomes.append((await _drag(b3))["type"])
                break
            except ConnectionClosed:
                await asyncio.sleep(0.05)
        for ws in (a2, b1, b3):
            await ws.close()
        return outcomes

    with ServerThread(session, host="0.0.0.0", max_websockets=3, max_websockets_per_client=2) as small:
        outcomes = asyncio.run(run(small))
    per_client = "too many WebSockets from 127.0.0.1 (2 open, the limit per client); close a tab or try again later"
    overall = "too many WebSockets (3 open, the server's limit); try again later"
    assert outcomes == ["decoded", "decoded", per_client, "decoded", overall, "decoded"]


def test_an_idle_websocket_is_closed(session):
    async def run(server: ServerThread):
        ws = await _open(_ws_url(server), server.headers)
        reply = await _drag(ws)
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 30)  # then silence: the server closes it
        return reply, info.value.rcvd

    with ServerThread(session, idle_seconds=1.0) as quick:
        reply, closed = asyncio.run(run(quick))
    assert reply["type"] == "decoded" and (closed.code, closed.reason) == (1000, "idle for 1 s")


def test_bodies_and_batches_over_the_caps(session):
    with ServerThread(session, max_body_bytes=1000) as small:
        body = json.dumps({"model": "ae", "codes": [[0.125, 0.25]] * 100}).encode()
        assert len(body) > 1000
        response = httpx.post(
            small.url + "api/decode", content=body, headers={"Content-Type": "application/json", **small.headers}
        )
        assert response.status_code == 413 and "over the 1000-byte limit" in response.json()["error"]
        big = httpx.post(small.url + "api/decode", json={"model": "ae", "codes": [[0, 0]] * 257}, headers=small.headers)
        assert big.status_code == 413  # the body cap comes first

        async def too_long_a_message():
            ws = await _open(_ws_url(small), small.headers)
            await ws.send(json.dumps({"type": "decode", "model": "ae", "z": [0.0] * 400, "seq": 1}))
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 10)
            return info.value.rcvd.code

        assert asyncio.run(too_long_a_message()) == 1009  # message too big
    with ServerThread(session) as server:
        response = httpx.post(
            server.url + "api/decode", json={"model": "ae", "codes": [[0, 0]] * 257}, headers=server.headers
        )
        assert response.status_code == 422
        assert response.json()["error"].startswith("codes holds 257 codes; /api/decode decodes 1 to 256 codes")


# -- --no-token, --token and the environment ---------------------------------------------------
def test_token_choice(monkeypatch):
    assert len(auth.choose_token(environ={})) == 43 and auth.choose_token(environ={}) != auth.choose_token(environ={})
    assert auth.choose_token(environ={auth.TOKEN_ENV: "from-the-environment"}) == "from-the-environment"
    assert auth.choose_token("from-the-command-line", environ={auth.TOKEN_ENV: "from-the-environment"}) == (
        "from-the-command-line"
    )
    with pytest.raises(ConfigError, match=r"--token: a token of 6 characters is refused; it needs at least 16"):
        auth.choose_token("secret", environ={})
    with pytest.raises(ConfigError, match=r"AEKIT_EXPLORER_TOKEN: a token of 19 characters is refused"):
        auth.choose_token(environ={auth.TOKEN_ENV: "has spaces in it ok"})
    with pytest.raises(ConfigError, match=r"--no-token is only allowed on loopback .* not on --host 0.0.0.0"):
        auth.choose_token(no_token=True, host="0.0.0.0")
    assert auth.choose_token(no_token=True, host="::1") is None


def test_no_token_on_loopback_still_checks_host_and_origin(session):
    with ServerThread(session, no_token=True) as open_server:
        assert open_server.token is None and open_server.token_url == open_server.url
        assert httpx.get(open_server.url + "api/meta").status_code == 200
        assert httpx.get(open_server.url + "api/meta", headers={"host": "evil.example"}).status_code == 400
        foreign = {"origin": "http://evil.example"}
        assert (
            httpx.post(
                open_server.url + "api/decode", json={"model": "ae", "codes": [[0, 0]]}, headers=foreign
            ).status_code
            == 403
        )


def test_cli_prints_the_tokened_url_and_refuses_no_token_off_loopback(session, monkeypatch):
    import torch
    import uvicorn

    import aekit.explorer as explorer

    served = []
    monkeypatch.setattr(explorer, "open_session", lambda *a, **k: session)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: served.append((self, sockets)))
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    runner = CliRunner()
    result = runner.invoke(main, ["explore"], env={auth.TOKEN_ENV: "token-from-the-env"})
    assert result.exit_code == 0, result.output
    assert re.search(r"aekit explorer: http://127\.0\.0\.1:\d+/\?token=token-from-the-env  ", result.output)
    result = runner.invoke(main, ["explore", "--no-token"])
    assert result.exit_code == 0 and "warning: --no-token" in result.output
    assert re.search(r"aekit explorer: http://127\.0\.0\.1:\d+/  ", result.output)
    result = runner.invoke(main, ["explore", "--no-token", "--host", "0.0.0.0"])
    assert result.exit_code == 1 and "--no-token is only allowed on loopback" in result.output
    result = runner.invoke(main, ["explore", "--token", "short"])
    assert result.exit_code == 1 and "--token: a token of 5 characters is refused" in result.output
    assert len(served) == 2
    for _, sockets in served:
        sockets[0].close()


def test_serve_prints_the_token_it_requires(session, monkeypatch):
    import torch
    import uvicorn
    from starlette.testclient import TestClient

    servers = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: servers.append((self, sockets)))
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    lines: list[str] = []
    serve(session, token="a-token-for-this-test", echo=lines.append)
    ((server, sockets),) = servers
    sockets[0].close()
    assert re.fullmatch(
        r"aekit explorer: http://127\.0\.0\.1:\d+/\?token=a-token-for-this-test  \(Ctrl-C stops it\)", lines[0]
    )
    with TestClient(server.config.app, base_url="http://127.0.0.1") as c:
        assert c.get("/api/meta").status_code == 401
        assert c.get("/api/meta", headers={"Authorization": "Bearer a-token-for-this-test"}).status_code == 200


# -- untrusted model folders -----------------------------------------------------------------
@pytest.fixture
def opened(monkeypatch):
    """Every spec ``aekit.data.load`` is asked to read."""
    specs: list[str] = []
    real = aekit.data.load

    def spy(spec, *args, **kwargs):
        specs.append(str(spec))
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(aekit.data, "load", spy)
    return specs


def test_a_model_folder_cannot_point_the_explorer_outside_itself(session, tmp_path, opened):
    est = session.models["ae"]
    secret = tmp_path / "elsewhere" / "secret.npy"
    secret.parent.mkdir()
    np.save(secret, session.dataset.x[:50])
    (tmp_path / "m").mkdir()
    for name, spec in [
        ("absolute", str(secret)),
        ("relative", "../elsewhere/secret.npy"),
        ("system", "/etc/passwd"),
        ("home", "~/.ssh/id_rsa"),
        ("symlink", "out"),
    ]:
        folder = est.save(tmp_path / "m" / name, data={"spec": spec})
        if name == "symlink":
            (folder / "out").symlink_to(secret)
        with pytest.raises(ConfigError) as info:
            open_session(folder)
        message = str(info.value)
        assert f"records its data at {spec!r}" in message, message
        assert f"aekit explore {folder} --data {spec}" in message
        assert "outside the folder" in message or "not found inside the folder" in message
    assert opened == []  # nothing recorded was read
    # The user's own word opens it, and a file inside the folder opens by itself.
    assert len(open_session(tmp_path / "m" / "absolute", data=str(secret)).dataset) == 50
    inside = est.save(tmp_path / "inside", data={"spec": "rows.npy"})
    np.save(inside / "rows.npy", session.dataset.x[:40])
    assert len(open_session(inside).dataset) == 40
    assert opened == [str(secret), str((inside / "rows.npy").resolve())]


def test_a_huge_builtin_is_refused_before_any_allocation(session, tmp_path, monkeypatch):
    from aekit.data import builtins

    def never(*args, **kwargs):
        raise AssertionError("the generator ran")

    monkeypatch.setattr(builtins, "make_shapes12", never)
    for spec, message in [
        ("builtin:shapes12?n=20000000", "builtin:shapes12: n=20000000 is beyond its bounds; n must be in [1, 200000]"),
        ("builtin:shapes12?n=0", "n=0 is beyond its bounds; n must be in [1, 200000]"),
        ("builtin:shapes12?seed=-1", "seed=-1 is beyond its bounds; seed must be in [0, 4294967295]"),
        ("builtin:swissroll?n=5000000", "n=5000000 is beyond its bounds; n must be in [1, 1000000]"),
        ("builtin:swissroll?noise=nan", "noise=nan is beyond its bounds; noise must be in [0.0, 100.0]"),
    ]:
        folder = session.models["ae"].save(tmp_path / f"m{len(list(tmp_path.iterdir()))}", data={"spec": spec})
        with pytest.raises(DataError) as info:
            open_session(folder)
        assert message in str(info.value)


def test_a_pickled_array_in_the_folder_is_never_unpickled(session, tmp_path):
    marker = tmp_path / "unpickled"
    folder = session.models["ae"].save(tmp_path / "m", data={"spec": "rows.npy"})

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    np.save(folder / "rows.npy", np.array([Payload()], dtype=object), allow_pickle=True)
    with pytest.raises(DataError):
        open_session(folder)
    assert not marker.exists()


def test_cli_names_the_flag_for_a_hostile_folder(session, tmp_path, monkeypatch):
    import torch
    import uvicorn

    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    folder = session.models["ae"].save(tmp_path / "theirs", data={"spec": "/etc/passwd"})
    result = CliRunner().invoke(main, ["explore", str(folder)])
    assert result.exit_code == 1 and f"aekit explore {folder} --data /etc/passwd" in result.output
    ran = threading.Event()
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: (sockets[0].close(), ran.set()))
    result = CliRunner().invoke(main, ["explore", str(folder), "--data", "builtin:shapes12?n=300"])
    assert result.exit_code == 0, result.output
    assert ran.is_set()
