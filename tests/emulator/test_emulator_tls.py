"""The emulator over HTTPS, with a certificate made by openssl for 127.0.0.1."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_support import TOKEN, Certificate, call, serving

from valohai_cli_lite.emulator.server import Emulator

# The first bytes of a TLS ClientHello: a handshake record that announces more than follows.
PARTIAL_CLIENT_HELLO = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"


@pytest.fixture
def emu(certificate: Certificate) -> Iterator[Emulator]:
    with serving(tls_cert=str(certificate.cert), tls_key=str(certificate.key)) as running:
        yield running


def me(emu: Emulator, certificate: Certificate) -> int:
    return call(f"{emu.base_url}/api/v0/users/me/", context=certificate.client_context()).status


def test_serves_https_that_verifies_against_the_certificate(
    emu: Emulator, certificate: Certificate
) -> None:
    assert emu.base_url == f"https://127.0.0.1:{emu.port}"
    assert me(emu, certificate) == 200


def test_key_may_live_in_the_certificate_file(certificate: Certificate, tmp_path: Path) -> None:
    both = tmp_path / "both.pem"
    both.write_bytes(certificate.cert.read_bytes() + certificate.key.read_bytes())

    with serving(tls_cert=str(both)) as running:
        assert me(running, certificate) == 200


def test_failed_handshakes_are_dropped_quietly(
    emu: Emulator, certificate: Certificate, capfd: pytest.CaptureFixture[str]
) -> None:
    # A client that does not trust the certificate, and one that speaks plain HTTP.
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        call(f"{emu.base_url}/api/v0/users/me/", context=ssl.create_default_context())
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as plain:
        plain.sendall(b"GET /api/v0/users/me/ HTTP/1.1\r\nHost: x\r\n\r\n")
        assert plain.recv(1024) == b""  # closed without an answer

    assert me(emu, certificate) == 200
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("sent", [b"", PARTIAL_CLIENT_HELLO], ids=["silent", "mid-hello"])
def test_a_stalled_handshake_does_not_hold_up_other_clients(
    emu: Emulator, certificate: Certificate, sent: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as stalled:
        stalled.sendall(sent)
        time.sleep(0.2)  # the server has accepted it and is waiting for the rest
        started = time.monotonic()

        assert me(emu, certificate) == 200
        assert me(emu, certificate) == 200

        assert time.monotonic() - started < 8  # the server's handshake limit is 10 s


def test_stop_closes_kept_alive_tls_connections(emu: Emulator, certificate: Certificate) -> None:
    connection = http.client.HTTPSConnection(
        "127.0.0.1", emu.port, timeout=10, context=certificate.client_context()
    )

    def ask() -> bytes:
        connection.request("GET", "/api/v0/users/me/", headers={"Authorization": f"Token {TOKEN}"})
        return connection.getresponse().read()

    try:
        assert ask()

        emu.stop()

        with pytest.raises((http.client.HTTPException, OSError)):
            ask()
    finally:
        connection.close()
