"""A loopback emulator of the parts of Valohai's REST API (v0) that vh-lite uses.

Standard library only, so tests and demos need nothing beyond Python. Response shapes follow
Django REST Framework, which the real API is built on; docs/emulator.md lists what is served.
This module is the HTTP plumbing and the `Emulator` that runs it; api.py decides the answers.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from valohai_cli_lite.emulator.api import answer
from valohai_cli_lite.emulator.config import EmulatorConfig, RecordedRequest
from valohai_cli_lite.emulator.gateway import Gateway, GatewayStats
from valohai_cli_lite.emulator.pagination import other_origin
from valohai_cli_lite.emulator.replies import Reply, failure_reply, json_reply

__all__ = ["HANG_SECONDS", "Emulator", "EmulatorConfig", "RecordedRequest", "TLSSetupError"]

HANG_SECONDS = 300.0
# How long a client may take over the TLS handshake before its connection is dropped.
HANDSHAKE_SECONDS = 10.0


class TLSSetupError(OSError):
    """The configured TLS certificate or key cannot be read or used."""


class _RequestHandler(BaseHTTPRequestHandler):
    # Keep-alive, so clients reuse one connection the way a real session would.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, the second write
    # waits for the client's delayed ACK, adding ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server: _EmulatorHTTPServer

    def version_string(self) -> str:
        return "valohai-cli-lite-emulator"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        emulator = self.server.emulator
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            # Not worth decoding here; no client we care about streams request bodies.
            self.close_connection = True
            self._send(json_reply(411, {"detail": "Send a Content-Length."}))
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            self._send(json_reply(400, {"detail": "Bad Content-Length."}))
            return
        body = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
        )
        emulator.record(request)
        # The gateway in front of the API: a client over its limit is turned away at once.
        client = str(self.client_address[0])
        if not emulator.gateway.admit(client, emulator.config.max_in_flight):
            self._send(failure_reply(429))
            return
        try:
            reply = self._answer(request)
        finally:
            # Released before the answer is written, so a client that waits for each answer
            # before sending its next request is never over the limit.
            emulator.gateway.release(client)
        if reply is None:
            self.close_connection = True
            return
        self._send(reply)

    def _answer(self, request: RecordedRequest) -> Reply | None:
        """The answer to `request` after the configured latency; None to hang up unanswered."""
        emulator = self.server.emulator
        config = emulator.config
        if config.latency_ms > 0:
            time.sleep(config.latency_ms / 1000)
        failure = emulator.pop_failure()
        if failure == "hang":
            emulator.stopping.wait(HANG_SECONDS)
            return None
        if isinstance(failure, int) and failure:
            return failure_reply(failure)
        base_url = self._base_url()
        link_base = base_url
        if config.next_origin_alias:
            link_base = other_origin(base_url, emulator.bound_host)
        reply = answer(request, config, base_url, link_base)
        if failure == "truncate":
            reply = Reply(200, reply.body[: len(reply.body) // 2], reply.content_type)
        return reply

    def _base_url(self) -> str:
        # Like Django's build_absolute_uri: links point where the client says it connected.
        host = self.headers.get("Host")
        emulator = self.server.emulator
        return f"{emulator.scheme}://{host}" if host else emulator.base_url

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        # DRF sends a bare application/json (UTF-8 by definition); HTML names its charset.
        content_type = reply.content_type
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.emulator.config.verbose:
            super().log_message(format, *args)


class _EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # The listen backlog. socketserver's default of 5 makes the kernel drop connection attempts
    # (the client retries a second later) as soon as a client opens 16 or so at once. The
    # kernel caps it at net.core.somaxconn (4096, or 128 before Linux 5.4).
    request_queue_size = 1024

    def __init__(
        self,
        emulator: Emulator,
        address: tuple[str, int],
        ipv6: bool,
        tls: ssl.SSLContext | None,
    ) -> None:
        self.address_family = socket.AF_INET6 if ipv6 else socket.AF_INET
        self.emulator = emulator
        self.tls = tls
        self._open_sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._sockets_lock:
            self._open_sockets.add(request)
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        # Runs in the connection's own thread, so a client that is slow to finish its TLS
        # handshake (or never does) holds up nobody else.
        if self.tls is not None:
            request = self._tls_handshake(request, self.tls)
            if request is None:
                return
        super().process_request_thread(request, client_address)

    def _tls_handshake(self, raw: socket.socket, tls: ssl.SSLContext) -> ssl.SSLSocket | None:
        """`raw` wrapped in TLS once the handshake is done; None (and closed) if it failed."""
        try:
            wrapped = tls.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        except OSError:
            self.shutdown_request(raw)
            return None
        with self._sockets_lock:
            # The wrapper owns the file descriptor now; stop() must find it under its new name.
            self._open_sockets.discard(raw)
            self._open_sockets.add(wrapped)
        if self.emulator.stopping.is_set():  # stop() ran before the swap, so it missed this one
            self.shutdown_request(wrapped)
            return None
        try:
            wrapped.settimeout(HANDSHAKE_SECONDS)
            wrapped.do_handshake()
            wrapped.settimeout(None)
        except OSError:
            # A client that rejects the certificate, speaks plain HTTP or stalls: drop it
            # quietly, as a real server would.
            self.shutdown_request(wrapped)
            return None
        return wrapped

    def shutdown_request(self, request: Any) -> None:
        with self._sockets_lock:
            self._open_sockets.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        # Idle keep-alive connections would otherwise go on being served after stop().
        with self._sockets_lock:
            sockets = list(self._open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer is normal for a test server; stay quiet about it.
        # Anything else is a bug in the emulator, and its traceback should be seen.
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError | ssl.SSLError):
            super().handle_error(request, client_address)


class Emulator:
    """The emulator running in a background thread: `with Emulator(config) as emu: ...`."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config if config is not None else EmulatorConfig()
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: _EmulatorHTTPServer | None = None
        self._bound_host = self.config.host
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        # Set by stop(): releases handlers told to "hang".
        self.stopping = threading.Event()
        # Requests in flight per client, and those turned away (config.max_in_flight).
        self.gateway = Gateway()

    @property
    def port(self) -> int:
        """The port listened on; still known after stop(), so tests can report it."""
        if self._port is None:
            raise RuntimeError("the emulator has not been started")
        return self._port

    @property
    def bound_host(self) -> str:
        """The address listened on (the configured `host` as of start())."""
        return self._bound_host

    @property
    def scheme(self) -> str:
        return "https" if self.config.tls_cert else "http"

    @property
    def base_url(self) -> str:
        host = self._bound_host
        if ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def throttled(self) -> int:
        """How many requests were answered 429 for being over `max_in_flight`, since start()."""
        return self.gateway.throttled

    def stats(self) -> GatewayStats:
        """Requests received, throttled and the peak in flight per client, since start()."""
        return self.gateway.stats()

    def record(self, request: RecordedRequest) -> None:
        if not self.config.record_requests:
            return
        with self._lock:
            self.requests.append(request)

    def pop_failure(self) -> int | str | None:
        with self._lock:
            return self.config.fail_next.pop(0) if self.config.fail_next else None

    def start(self) -> Emulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._bound_host = self.config.host
        self.stopping.clear()
        self.gateway = Gateway()
        ipv6 = ":" in self._bound_host
        tls: ssl.SSLContext | None = None
        if self.config.tls_cert:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            try:
                tls.load_cert_chain(self.config.tls_cert, self.config.tls_key)
            except OSError as exc:  # ssl.SSLError is one too
                raise TLSSetupError(f"cannot load the TLS certificate or key: {exc}") from exc
        address = (self.config.host, self.config.port)
        self._server = _EmulatorHTTPServer(self, address, ipv6, tls)
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="valohai-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self.stopping.set()
        server.shutdown()
        server.close_open_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
