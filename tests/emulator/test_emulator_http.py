"""The emulator as an HTTP server: routing, recording, injected faults, connections."""

from __future__ import annotations

import http.client
import select
import signal
import socket
import statistics
import time
import urllib.error
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from emulator_support import TOKEN, call, post_form, projects_url, serving, start_cli

from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with serving() as running:
        yield running


@pytest.mark.parametrize("path", ["/api/v0/nothing-here/", "/api/v0/", "/", "/api/v1/projects/"])
def test_unknown_paths_are_404(emu: Emulator, path: str) -> None:
    answer = call(emu.base_url + path)

    assert answer.status == 404
    assert answer.json() == {"detail": "Not found."}


def test_wrong_method_is_405(emu: Emulator) -> None:
    answer = call(projects_url(emu.base_url), method="DELETE")

    assert answer.status == 405
    assert answer.json() == {"detail": 'Method "DELETE" not allowed.'}


def test_requests_are_recorded(emu: Emulator) -> None:
    post_form(emu.base_url, {"username": "demo", "password": "demo-password"})
    call(projects_url(emu.base_url, "limit=5&limit=7"), headers={"X-Probe": "yes"})

    token_call, list_call = emu.requests
    assert (token_call.method, token_call.path) == ("POST", "/api/v0/get-token/")
    assert token_call.body == b"username=demo&password=demo-password"
    assert (list_call.method, list_call.path) == ("GET", "/api/v0/projects/")
    assert list_call.query == {"limit": ["5", "7"]}
    assert list_call.headers["authorization"] == f"Token {TOKEN}"
    assert list_call.headers["x-probe"] == "yes"


def test_injected_failures_are_answered_in_order(emu: Emulator) -> None:
    emu.config.fail_next = [0, 503, 429]
    url = f"{emu.base_url}/api/v0/users/me/"

    normal, unavailable, throttled, after = (call(url) for _ in range(4))

    assert normal.status == 200
    assert unavailable.status == 503
    assert unavailable.headers.get_content_type() == "text/html"
    assert b"503 Service Unavailable" in unavailable.body
    assert throttled.status == 429
    assert throttled.headers["Retry-After"] == "1"
    assert "throttled" in throttled.json()["detail"]
    assert after.status == 200
    assert emu.config.fail_next == []


def test_truncate_cuts_the_json_body_in_half(emu: Emulator) -> None:
    whole = call(f"{emu.base_url}/api/v0/users/me/").body
    emu.config.fail_next = ["truncate"]

    cut = call(f"{emu.base_url}/api/v0/users/me/")

    assert cut.status == 200
    assert cut.body == whole[: len(whole) // 2]


def test_latency_delays_every_answer(emu: Emulator) -> None:
    emu.config.latency_ms = 300
    started = time.monotonic()

    call(f"{emu.base_url}/api/v0/users/me/")

    assert time.monotonic() - started >= 0.3


def test_connections_are_kept_alive_and_quick(emu: Emulator) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    headers = {"Authorization": f"Token {TOKEN}"}
    try:
        connection.request("GET", "/api/v0/users/me/", headers=headers)
        first = connection.getresponse()
        first.read()
        sock = connection.sock
        times = []
        for _ in range(20):
            started = time.monotonic()
            connection.request("GET", "/api/v0/users/me/", headers=headers)
            response = connection.getresponse()
            response.read()
            times.append(time.monotonic() - started)
            assert response.status == 200
        reused = connection.sock is sock
    finally:
        connection.close()

    assert first.getheader("Content-Length") is not None
    assert sock is not None
    assert reused, "the server closed the connection, so the client had to reconnect"
    # Without TCP_NODELAY every keep-alive answer stalls ~40 ms on the delayed ACK; the
    # median ignores the odd request a busy machine delays.
    assert statistics.median(times) < 0.03


def test_stop_refuses_further_connections() -> None:
    emu = Emulator(EmulatorConfig(token=TOKEN)).start()
    url = f"{emu.base_url}/api/v0/users/me/"
    assert call(url).status == 200

    emu.stop()

    with pytest.raises(urllib.error.URLError):
        call(url)


def _read_to_end(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_32_connections_opened_at_once_are_all_queued_and_answered() -> None:
    """A client with 16+ requests in flight must not lose connections to a short backlog."""
    proc, line = start_cli("--token", TOKEN, "--projects", "3")
    port = urlsplit(line.strip()).port
    assert port is not None
    sockets: list[socket.socket] = []
    try:
        # Frozen, the server accepts nothing: every connection has to wait in the kernel's
        # accept queue, which is as long as the listen backlog. Beyond it connection attempts
        # are dropped and only retried a second later.
        proc.send_signal(signal.SIGSTOP)
        for _ in range(32):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            sockets.append(sock)
        pending = list(sockets)
        deadline = time.monotonic() + 3
        while pending and time.monotonic() < deadline:
            _, writable, _ = select.select([], pending, [], 0.05)
            pending = [sock for sock in pending if sock not in writable]
        assert not pending, f"{len(pending)} of 32 connections were not queued"
        assert all(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 for sock in sockets)

        proc.send_signal(signal.SIGCONT)
        request = (
            f"GET /api/v0/users/me/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Token {TOKEN}\r\nConnection: close\r\n\r\n"
        ).encode()
        for sock in sockets:
            sock.setblocking(True)
            sock.settimeout(10)
            sock.sendall(request)
        answers = [_read_to_end(sock) for sock in sockets]
    finally:
        proc.send_signal(signal.SIGCONT)
        for sock in sockets:
            sock.close()
        proc.terminate()
        proc.communicate(timeout=20)

    assert all(answer.startswith(b"HTTP/1.1 200 ") for answer in answers)
    assert all(b'"username":"demo"' in answer for answer in answers)
