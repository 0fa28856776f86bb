"""A forward HTTP proxy on loopback for the proxy tests; this module holds no tests.

It tunnels CONNECT (https through the proxy) and forwards absolute-URI requests (plain http
through the proxy), and logs the first line of every request it gets. Host names are looked
up only in the table it is given (a made-up name such as `valohai.test` -> 127.0.0.1), so
nothing is ever resolved and nothing beyond loopback is reached: any other name is answered
502.
"""

from __future__ import annotations

import ipaddress
import select
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

# Request headers that are the proxy's own business, not the server's.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authorization",
                         "te", "trailer", "upgrade"})  # fmt: skip


class LoopbackProxy:
    """`with LoopbackProxy({"valohai.test": "127.0.0.1"}) as proxy:` ... `proxy.url`,
    `proxy.seen` (request lines, e.g. "CONNECT valohai.test:8443")."""

    def __init__(self, names: dict[str, str] | None = None) -> None:
        self.names = dict(names or {})
        self.seen: list[str] = []
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy has not been started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def address_of(self, host: str) -> str | None:
        """Where `host` is, from the table or a loopback address as it is; None otherwise."""
        if host in self.names:
            return self.names[host]
        try:
            return host if ipaddress.ip_address(host).is_loopback else None
        except ValueError:
            return None

    def log(self, line: str) -> None:
        with self._lock:
            self.seen.append(line)

    def __enter__(self) -> LoopbackProxy:
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                _handle(proxy, self)

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()  # fmt: skip
        self._server = server
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _handle(proxy: LoopbackProxy, handler: socketserver.StreamRequestHandler) -> None:
    request_line = handler.rfile.readline(65537).decode("latin-1").rstrip("\r\n")
    headers: list[tuple[str, str]] = []
    while True:
        line = handler.rfile.readline(65537).decode("latin-1").rstrip("\r\n")
        if not line:
            break
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    if not request_line:
        return
    proxy.log(request_line)
    method, target, _version = request_line.split(" ", 2)
    if method == "CONNECT":
        host, _, port = target.rpartition(":")
        path = ""
    else:
        parts = urlsplit(target)
        if parts.scheme != "http" or parts.hostname is None:
            _refuse(handler, "400 Bad Request")
            return
        host, port = parts.hostname, str(parts.port or 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    address = proxy.address_of(host.strip("[]"))
    if address is None:  # never resolved: this proxy reaches loopback only
        _refuse(handler, "502 Bad Gateway")
        return
    try:
        upstream = socket.create_connection((address, int(port)), timeout=10)
    except OSError:
        _refuse(handler, "502 Bad Gateway")
        return
    with upstream:
        if method == "CONNECT":
            handler.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            handler.wfile.flush()
            _tunnel(handler.connection, upstream)
            return
        kept = [(n, v) for n, v in headers if n.lower() not in _HOP_BY_HOP]
        head = f"{method} {path} HTTP/1.1\r\n"
        head += "".join(f"{n}: {v}\r\n" for n, v in kept) + "Connection: close\r\n\r\n"
        upstream.sendall(head.encode("latin-1"))
        length = next((int(v) for n, v in headers if n.lower() == "content-length"), 0)
        if length:
            upstream.sendall(handler.rfile.read(length))
        # One request per connection: the answer, then both ends close.
        while data := upstream.recv(65536):
            handler.wfile.write(data)
        handler.wfile.flush()


def _refuse(handler: socketserver.StreamRequestHandler, status: str) -> None:
    handler.wfile.write(
        f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
    )


def _tunnel(client: socket.socket, upstream: socket.socket) -> None:
    """Bytes both ways until either end closes (or nothing moves for 30 s)."""
    ends = [client, upstream]
    try:
        while True:
            readable, _, _ = select.select(ends, [], [], 30)
            if not readable:
                return
            for end in readable:
                data = end.recv(65536)
                if not data:
                    return
                (upstream if end is client else client).sendall(data)
    except OSError:  # either end hung up abruptly
        return


@contextmanager
def only_loopback_lookups() -> Iterator[None]:
    """Name lookups in this process fail for anything but loopback addresses and
    `localhost`: a client that ignored its proxy would fail here instead of asking DNS about
    a made-up name."""
    real = socket.getaddrinfo

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name != "localhost":
            try:
                ipaddress.ip_address(name.strip("[]"))
            except ValueError:
                raise socket.gaierror(
                    socket.EAI_NONAME, f"{name}: not looked up in tests"
                ) from None
        return real(host, *args, **kwargs)

    with mock.patch("socket.getaddrinfo", lookup):
        yield
