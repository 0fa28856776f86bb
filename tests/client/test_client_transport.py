"""client/transport.py, unit (respx, and the emulator for real HTTP): headers, redirects,
retries, deadlines, TLS choices."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time

import httpx
import pytest
import respx
from conftest import TEST_TOKEN, project_pages

from valohai_cli_lite.client import ClientSettings, ValohaiClient
from valohai_cli_lite.errors import ApiError, NetworkError, UsageError

HOST = "https://valohai.test"
PROJECTS = f"{HOST}/api/v0/projects/"
ME = f"{HOST}/api/v0/users/me/"


def _recording() -> tuple[ClientSettings, list[float]]:
    slept: list[float] = []
    return ClientSettings(sleep=slept.append, backoff=0.5), slept


@respx.mock
def test_every_request_says_who_it_is_and_wants_json() -> None:
    respx.get(ME).respond(json={"id": 1, "username": "u"})
    with ValohaiClient(HOST, TEST_TOKEN) as client:
        client.me()
    request = respx.calls.last.request
    assert request.headers["Authorization"] == f"Token {TEST_TOKEN}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("vh-lite/")


@respx.mock
def test_cross_origin_redirect_is_not_followed() -> None:
    respx.get(ME).respond(301, headers={"Location": "https://evil.test/"})
    evil = respx.get("https://evil.test/").respond(json={})
    with ValohaiClient(HOST, TEST_TOKEN) as client, pytest.raises(ApiError, match="redirected"):
        client.me()
    assert not evil.called


@respx.mock
def test_same_origin_redirect_is_followed() -> None:
    respx.get(f"{HOST}/api/v0/users/me").respond(301, headers={"Location": "/api/v0/users/me/"})
    respx.get(ME).respond(json={"id": 1, "username": "u"})
    with ValohaiClient(HOST, TEST_TOKEN) as client:
        body = client.get(f"{HOST}/api/v0/users/me")
    assert body == {"id": 1, "username": "u"}


@respx.mock
def test_a_redirect_loop_ends() -> None:
    respx.get(ME).respond(302, headers={"Location": ME})
    with ValohaiClient(HOST, TEST_TOKEN) as client, pytest.raises(ApiError, match="too many"):
        client.me()


@respx.mock
def test_retries_back_off_exponentially_with_jitter_and_honour_retry_after() -> None:
    route = respx.get(ME)
    route.side_effect = [
        httpx.Response(503),
        httpx.Response(502),
        httpx.Response(429, headers={"Retry-After": "3"}),
        httpx.Response(200, json={"id": 1, "username": "u"}),
    ]
    settings, slept = _recording()
    with ValohaiClient(HOST, TEST_TOKEN, settings=settings) as client:
        assert client.me()["username"] == "u"
    assert route.call_count == 4
    assert 0.25 <= slept[0] <= 0.5 and 0.5 <= slept[1] <= 1.0  # doubling, with jitter
    assert slept[2] == 3.0  # exactly what the server asked for


@respx.mock
def test_gives_up_after_four_attempts_and_never_retries_a_post() -> None:
    gets = respx.get(ME).respond(503)
    posts = respx.post(f"{HOST}/api/v0/get-token/").respond(503)
    settings, slept = _recording()
    with ValohaiClient(HOST, settings=settings) as client:
        with pytest.raises(ApiError, match="503"):
            client.get(ME)
        with pytest.raises(ApiError, match="503"):
            client.get_token("u", "p")
    assert gets.call_count == 4 and len(slept) == 3
    assert posts.call_count == 1


@respx.mock
def test_retry_after_beyond_the_cap_fails_at_once_and_says_how_long() -> None:
    route = respx.get(PROJECTS).respond(
        429, json={"detail": "slow down"}, headers={"Retry-After": "100000"}
    )
    settings, slept = _recording()
    with (
        ValohaiClient(HOST, TEST_TOKEN, settings=settings) as client,
        pytest.raises(ApiError) as info,
    ):
        list(project_pages(client))
    assert route.call_count == 1 and slept == []
    assert info.value.retry_after == 100000


@respx.mock
def test_transport_errors_become_network_errors() -> None:
    respx.get(PROJECTS).mock(side_effect=httpx.ConnectTimeout("slow"))
    settings, slept = _recording()
    fast = settings._replace(timeout=3)
    with ValohaiClient(HOST, TEST_TOKEN, settings=fast) as client:
        with pytest.raises(NetworkError, match="did not answer within 3 s") as timed_out:
            list(project_pages(client))
    assert timed_out.value.timed_out
    refused = respx.get(PROJECTS).mock(
        side_effect=httpx.ConnectError("[Errno 111] Connection refused")
    )
    with ValohaiClient(HOST, TEST_TOKEN, settings=fast) as client:
        with pytest.raises(NetworkError, match="refused"):
            list(project_pages(client))
    # One route: the timeout was tried once (never retried, so --timeout bounds the wait),
    # the refused connection four times (it may come back).
    assert refused.call_count == 1 + 4
    assert len(slept) == 3


@respx.mock
def test_tls_failures_say_so() -> None:
    error = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    respx.get(ME).mock(side_effect=error)
    settings, _ = _recording()
    with ValohaiClient(HOST, TEST_TOKEN, settings=settings) as client:
        with pytest.raises(NetworkError, match="its TLS certificate does not verify") as info:
            client.me()
    assert info.value.reason == "tls-verify"
    assert respx.calls.call_count == 1  # a certificate does not change on a retry


@respx.mock
def test_compressed_bodies_are_decoded() -> None:
    body = json.dumps({"id": 1, "username": "u"}).encode()
    respx.get(ME).respond(
        content=gzip.compress(body),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    with ValohaiClient(HOST, TEST_TOKEN) as client:
        assert client.me() == {"id": 1, "username": "u"}


def test_repr_never_shows_the_token() -> None:
    assert TEST_TOKEN not in repr(ValohaiClient(HOST, TEST_TOKEN))


def test_plain_http_beyond_loopback_is_refused_before_connecting() -> None:
    with pytest.raises(UsageError, match=r"refusing to talk to http://10\.1\.2\.3"):
        ValohaiClient("http://10.1.2.3").check_plain_http()
    allowed = ClientSettings(allow_insecure_http=True)
    ValohaiClient("http://10.1.2.3", settings=allowed).check_plain_http()
    ValohaiClient("http://127.0.0.1:9").check_plain_http()


def test_a_closed_client_never_reconnects() -> None:
    client = ValohaiClient("http://127.0.0.1:9", TEST_TOKEN)
    client.close()
    with pytest.raises(NetworkError, match="closed"):
        client.me()


def test_a_trickling_server_is_cut_off_at_the_deadline() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def trickle() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n"
            )
            for _ in range(100):
                try:
                    conn.sendall(b" ")
                except OSError:
                    return
                time.sleep(0.1)

    threading.Thread(target=trickle, daemon=True).start()
    host = f"http://127.0.0.1:{server.getsockname()[1]}"
    started = time.monotonic()
    with ValohaiClient(host, TEST_TOKEN, settings=ClientSettings(timeout=1)) as client:
        with pytest.raises(NetworkError, match="did not answer within 1 s"):
            client.me()
    # The server would trickle for 10 s; per-read timeouts alone would never fire.
    assert time.monotonic() - started < 8
    server.close()


def test_real_server_get_token() -> None:
    from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig

    with Emulator(EmulatorConfig(token=TEST_TOKEN)) as emu, ValohaiClient(emu.base_url) as client:
        assert client.get_token("demo", "demo-password") == TEST_TOKEN
        form = emu.requests[0]
        assert form.headers["content-type"].startswith("application/x-www-form-urlencoded")
        assert "authorization" not in form.headers
        with pytest.raises(ApiError) as info:
            client.get_token("twofa", "x")
        assert info.value.code == "has_2fa"
