"""Helpers for the emulator's tests (tests/emulator/test_emulator_*.py) and the `certificate`
fixture; this module holds no tests.

The emulator is spoken to over real HTTP on loopback, the way any client would.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig

TOKEN = "emulator-test-token"
REPO_ROOT = Path(__file__).resolve().parent.parent

# Proxy settings in the environment must not divert loopback requests.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@contextmanager
def serving(**settings: Any) -> Iterator[Emulator]:
    """An emulator with 250 projects in pages of 100, plus any other `settings`."""
    config = EmulatorConfig(**{"token": TOKEN, "projects": 250, "page_size": 100, **settings})
    with Emulator(config) as running:
        yield running


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        assert self.headers.get_content_type() == "application/json"
        return json.loads(self.body)


def call(
    url: str,
    *,
    method: str = "GET",
    token: str | None = TOKEN,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> Answer:
    request = urllib.request.Request(url, data=data, method=method)
    if token is not None:
        request.add_header("Authorization", f"Token {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    opener = _OPENER
    if context is not None:
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )
    try:
        with opener.open(request, timeout=10) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers, error.read())


def post_form(base_url: str, fields: dict[str, str]) -> Answer:
    return call(
        f"{base_url}/api/v0/get-token/",
        method="POST",
        token=None,
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def post_json(base_url: str, payload: object) -> Answer:
    return call(
        f"{base_url}/api/v0/get-token/",
        method="POST",
        token=None,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )


def projects_url(base_url: str, query: str = "") -> str:
    return f"{base_url}/api/v0/projects/" + (f"?{query}" if query else "")


def detail_url(base_url: str, project: str) -> str:
    return f"{base_url}/api/v0/projects/{project}/"


def executions_url(base_url: str, query: str = "") -> str:
    return f"{base_url}/api/v0/executions/" + (f"?{query}" if query else "")


def environments_url(base_url: str, query: str = "") -> str:
    return f"{base_url}/api/v0/environments/" + (f"?{query}" if query else "")


def all_pages(url: str) -> list[dict[str, Any]]:
    """Every page from `url` on, following `next` links."""
    pages = []
    next_url: str | None = url
    while next_url is not None:
        answer = call(next_url)
        assert answer.status == 200
        pages.append(answer.json())
        next_url = pages[-1]["next"]
        assert len(pages) < 50, "next links never end"
    return pages


def get_over_one_connection(host: str, port: int, paths: list[str]) -> list[int]:
    """Statuses of GETs sent one after another over one keep-alive connection."""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    statuses = []
    try:
        for path in paths:
            connection.request("GET", path, headers={"Authorization": f"Token {TOKEN}"})
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
    finally:
        connection.close()
    return statuses


# --- the command line ---------------------------------------------------------------------


def start_cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    """`python -m valohai_cli_lite.emulator ARGS` and the first line it printed."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "valohai_cli_lite.emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 20)
    if not ready:
        proc.kill()
        pytest.fail("the emulator printed no URL within 20 s")
    return proc, proc.stdout.readline()


@contextmanager
def cli_serving(*args: str) -> Iterator[str]:
    """The base URL of an emulator started from the command line; stopped afterwards."""
    proc, line = start_cli(*args)
    try:
        assert line.startswith(("http://", "https://")), line
        yield line.strip()
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=20)
        assert "Traceback" not in stderr


# --- TLS ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only this certificate."""
        return ssl.create_default_context(cafile=str(self.cert))


def make_certificate(directory: Path, name: str = "127.0.0.1") -> Certificate:
    """A self-signed certificate for `name` (an IP address or a host name), made by
    `openssl req -x509`."""
    import ipaddress

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed (apt-get install openssl); CI installs it")
    try:
        ipaddress.ip_address(name)
        alt_name = f"IP:{name}"
    except ValueError:
        alt_name = f"DNS:{name}"
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName={alt_name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return Certificate(cert, key)
