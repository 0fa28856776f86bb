"""A loopback server that answers with raw bytes, for what neither an honest server nor the
emulator sends (broken Locations, trickled headers, endless or nested bodies), and a way to
measure a run's peak memory; this module holds no tests."""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from conftest import TEST_TOKEN, VH_LITE, InstalledCli


class RawRequest(NamedTuple):
    method: str
    target: str
    headers: dict[str, str]  # names in lower case


# Writes the whole answer on the socket; the connection is closed afterwards.
Answer = Callable[[RawRequest, socket.socket], None]


class ScriptedServer(NamedTuple):
    url: str
    requests: list[RawRequest]  # every request received, in order


@contextmanager
def scripted_server(answer: Answer) -> Iterator[ScriptedServer]:
    """`with scripted_server(answer) as server:` ... `server.url`, `server.requests`."""
    requests: list[RawRequest] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            line = self.rfile.readline(65537).decode("latin-1").rstrip("\r\n")
            if not line:
                return
            headers = {}
            while header := self.rfile.readline(65537).decode("latin-1").rstrip("\r\n"):
                name, _, value = header.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.rfile.read(int(headers.get("content-length", 0)))
            method, target, _ = line.split(" ", 2)
            request = RawRequest(method, target, headers)
            requests.append(request)
            with contextlib.suppress(OSError):  # the client gave up (a timeout): as it should
                answer(request, self.connection)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()  # fmt: skip
    try:
        yield ScriptedServer(f"http://127.0.0.1:{server.server_address[1]}", requests)
    finally:
        server.shutdown()
        server.server_close()


def head(status: str = "200 OK", *headers: str) -> bytes:
    """A response's status line and headers, ending with the blank line."""
    return ("".join(f"{line}\r\n" for line in (f"HTTP/1.1 {status}", *headers)) + "\r\n").encode()


def answering(body: bytes | Any, status: str = "200 OK", *headers: str) -> Answer:
    """An Answer with this body (anything but bytes is sent as JSON) to every request."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()

    def answer(_request: RawRequest, connection: socket.socket) -> None:
        extra = ("Content-Type: application/json", f"Content-Length: {len(data)}", *headers)
        connection.sendall(head(status, *extra, "Connection: close") + data)

    return answer


# Runs a command with its stdout read through a pipe, and reports its exit code, the bytes'
# count and SHA-256, its stderr and its peak memory (this process's only child).
_MEASURED_RUN = """
import hashlib, json, resource, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
digest, size = hashlib.sha256(), 0
while chunk := proc.stdout.read(1 << 16):
    digest.update(chunk)
    size += len(chunk)
stderr = proc.stderr.read().decode("utf-8", "replace")
code = proc.wait()
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": code, "size": size, "sha256": digest.hexdigest(), "peak": peak,
                  "stderr": stderr}))
"""


def measured(installed: InstalledCli, host: str, *args: str) -> dict[str, Any]:
    """`vh-lite ARGS` against `host` with a token from the environment: {code, size, sha256
    (of stdout), stderr, peak (RSS, bytes)}."""
    env = {**installed.env, "VH_API_TOKEN": TEST_TOKEN, "VH_HOST": host}
    proc = subprocess.run([sys.executable, "-c", _MEASURED_RUN, str(VH_LITE), *args],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    installed.outputs.append(result["stderr"])
    result["peak"] *= 1 if sys.platform == "darwin" else 1024  # ru_maxrss: KiB on Linux
    return result
