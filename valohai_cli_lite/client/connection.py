"""The connection under the transport: its proxy and a deadline for every socket operation.

Proxies are chosen here, not by httpx (docs/security.md): a loopback host is never proxied (a
plain-http request through a proxy hands it the token in clear; beyond loopback plain http
needs --allow-insecure-http anyway; https crosses an http:// proxy as a CONNECT tunnel, which
shows it the host name, never the token), NO_PROXY may name CIDR ranges, and a SOCKS proxy
without its library is a usage error. httpx's timeouts apply to each read, so a server
trickling its headers a byte a second would never time out: httpcore's streams are wrapped.
"""

from __future__ import annotations

import contextlib
import ipaddress
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .. import __version__
from ..errors import UsageError
from .hosts import is_loopback

if TYPE_CHECKING:
    import httpx

USER_AGENT = f"vh-lite/{__version__} (python {sys.version_info[0]}.{sys.version_info[1]})"

# Each variable in both spellings, lower case first (as curl and requests read them).
_PROXY_VARIABLES = {
    "https": ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"),
    "http": ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"),
}

_request = threading.local()  # .deadline: the monotonic time the current request ends by


@contextlib.contextmanager
def deadline_at(ends: float) -> Iterator[None]:
    """Every socket operation of this thread ends by `ends` (monotonic) or times out."""
    previous = getattr(_request, "deadline", None)
    _request.deadline = ends
    try:
        yield
    finally:
        _request.deadline = previous


def _within(timeout: float | None) -> float | None:
    ends: float | None = getattr(_request, "deadline", None)
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    if left <= 0:
        import httpcore

        raise httpcore.ReadTimeout("the request took longer than --timeout")
    return left if timeout is None else min(timeout, left)


def proxy_for(host: str, environ: Mapping[str, str]) -> str | None:
    named = next((v for v in _PROXY_VARIABLES[urlsplit(host).scheme] if environ.get(v)), None)
    if named is None or is_loopback(host) or _bypassed(host, environ):
        return None
    proxy = environ[named]
    if "://" not in proxy:
        proxy = "http://" + proxy  # as curl reads "proxy:3128"
    parts = urlsplit(proxy)
    kind = parts.scheme.lower()
    if kind.startswith("socks"):
        import importlib.util

        if importlib.util.find_spec("socksio") is None:  # httpx's SOCKS support needs it
            raise UsageError(
                f"{named} names a SOCKS proxy, which needs the socksio package",
                hint="pip install socksio (in vh-lite's environment), or use an http proxy",
            )
    elif kind not in ("http", "https"):
        raise UsageError(f"{named} names an unsupported proxy: use http://, https:// or socks5://")
    with contextlib.suppress(ValueError):  # a port that is not one
        if parts.hostname and parts.port != 0:
            return proxy
    # (the value itself is not shown: it may hold the proxy's password)
    raise UsageError(f"{named} is not a proxy URL such as http://proxy.example.com:3128")


def _bypassed(host: str, environ: Mapping[str, str]) -> bool:
    """NO_PROXY entries: `*`, a domain (`example.com`, `.example.com` and `*.example.com`
    match it and its subdomains; a port is ignored), an address, or a CIDR range."""
    entries = (environ.get("no_proxy") or environ.get("NO_PROXY") or "").replace(",", " ")
    name = (urlsplit(host).hostname or "").lower()
    for entry in entries.split():
        entry = entry.lower().strip("[]")
        if entry == "*":
            return True
        if "/" in entry:
            with contextlib.suppress(ValueError):  # `name` or `entry` not an address
                if ipaddress.ip_address(name) in ipaddress.ip_network(entry, strict=False):
                    return True
            continue
        entry = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry  # a port
        domain = entry.lstrip("*.")  # ".example.com" and "*.example.com" as "example.com"
        if name == domain or name.endswith("." + domain):
            return True
    return False


def open_client(
    host: str, verify: Any, timeout: float, environ: Mapping[str, str] | None
) -> httpx.Client:
    """Redirects are not followed: the transport follows them, never across origins."""
    import httpx

    proxy = proxy_for(host, environ or {})
    # trust_env off: httpx's own reading of the proxy variables is what proxy_for replaces.
    transport = httpx.HTTPTransport(verify=verify, proxy=proxy, trust_env=False)
    pool = transport._pool  # httpcore's pool, whose network backend makes every connection
    pool._network_backend = _DeadlineBackend(pool._network_backend)  # type: ignore[assignment]
    return httpx.Client(
        transport=transport, timeout=httpx.Timeout(timeout), follow_redirects=False,
        headers={"Accept": "application/json", "User-Agent": USER_AGENT}, trust_env=False,
    )  # fmt: skip


class _DeadlineStream:
    """One of httpcore's network streams: what waits on the network is kept to the deadline
    here; what __getattr__ passes on (close, get_extra_info) does not wait."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return bytes(self._stream.read(max_bytes, _within(timeout)))  # the same bytes object

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within(timeout))

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _DeadlineStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, _within(timeout))
        return _DeadlineStream(tls)


class _DeadlineBackend:
    def __init__(self, backend: Any) -> None:
        self._backend = backend

    # Passed on: sleep, and connect_unix_socket, which would escape the deadline, but no
    # client here is given a unix socket (uds=).
    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, **options: Any
    ) -> _DeadlineStream:
        return _DeadlineStream(self._backend.connect_tcp(host, port, _within(timeout), **options))
