"""Sending requests: one httpx connection pool (imported at the first request), deadlines,
retries, and redirects followed by hand, so that the token only goes to its own origin."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlencode, urlsplit

from ..errors import ApiError, NetworkError, UsageError, redact
from .errors import MAX_RETRY_AFTER, describe_transport_error, origin_text, parse_retry_after
from .hosts import is_loopback, same_origin

if TYPE_CHECKING:
    import ssl

    import httpx

DEFAULT_TIMEOUT = 30.0
MAX_SAME_ORIGIN_REDIRECTS = 5
# A response read whole (a page, an error) is refused above this: pages are a few MiB at
# most, and parsing JSON takes several times its size in memory. `api` streams instead.
MAX_BODY = 64 << 20

# Retries: only requests that are safe to repeat, only for failures that may pass.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_BACKOFF = 8.0


class ClientSettings(NamedTuple):
    """How requests are made; built once per run from flags, environment and profile."""

    timeout: float = DEFAULT_TIMEOUT
    ca_file: str | None = None  # a PEM bundle for a private CA, instead of the public ones
    system_certs: bool = False  # the operating system's trust store (truststore), not certifi
    allow_insecure_http: bool = False  # plain http to a host that is not loopback
    debug: Callable[[str], None] | None = None  # receives one line per request/response/retry
    max_attempts: int = 4  # of a request that may be retried
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    sleep: Callable[[float], None] = time.sleep  # tests pass one that only records the wait
    notice: Callable[[str], None] | None = None  # told of a retry's wait of 1 s or more
    trust_cache: Path | None = None  # for trust.py's hashed directories; None: httpx's own
    environ: Mapping[str, str] | None = None  # may name the trust store (SSL_CERT_FILE, ...)


class RetryableTransportError(Exception):
    """A failure a retry may get past (refused, reset, DNS); args[0]: its NetworkError."""


def with_query(url: str, params: dict[str, Any]) -> str:
    return f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(params, doseq=True)}"


class Transport:
    def __init__(self, host: str, settings: ClientSettings) -> None:
        self.host = host
        self.settings = settings
        self.token: str | None = None
        self._http: httpx.Client | None = None
        self._closed = False
        # Page fetchers run in threads: one lock for making and closing the connection pool,
        # and an event that ends a retry's wait as soon as the client is closed.
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def close(self) -> None:
        # A page fetcher abandoned by an early stop must not open a new connection later.
        with self._lock:
            self._closed = True
            self._stopped.set()
            if self._http is not None:
                self._http.close()
                self._http = None

    def check_plain_http(self) -> None:
        """Refuse plain http beyond loopback before anything, password or token, is sent."""
        plain = urlsplit(self.host).scheme == "http"
        if plain and not is_loopback(self.host) and not self.settings.allow_insecure_http:
            raise UsageError(
                f"refusing to talk to {self.host} over plain http: your password and token "
                "would cross the network unencrypted",
                reason="plain-http",
            )

    def _tls_context(self) -> ssl.SSLContext | bool:
        import ssl

        from .trust import tls_context, trust_source

        ca_file = self.settings.ca_file
        if not ca_file and urlsplit(self.host).scheme == "http":
            # No trust store for a host without TLS (redirects never leave its origin), not
            # even certifi's ~1.5 ms lookup: a bare verifying context still fails closed.
            return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        environ = self.settings.environ or {}
        try:
            if self.settings.system_certs:
                # The system's trust store, as pip and uv offer it, for networks whose proxies
                # intercept TLS with a company CA installed there; --ca-file adds to it.
                import truststore

                context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                if ca_file:
                    context.load_verify_locations(cafile=ca_file)
                return context
            if self.settings.trust_cache is not None:
                return tls_context(ca_file, environ, self.settings.trust_cache)
            return ssl.create_default_context(cafile=ca_file) if ca_file else True
        except (OSError, ssl.SSLError) as exc:
            kind, named = trust_source(ca_file, environ)
            if kind == "--ca-file":
                raise UsageError(f"cannot use the CA file {named}: {exc}") from None
            if named is not None:
                raise UsageError(
                    f"cannot use the certificates {kind} names ({named}): {exc}",
                    hint=f"fix or unset {kind}",
                ) from None
            raise

    def _client(self) -> httpx.Client:
        with self._lock:
            if self._closed:
                raise NetworkError("the connection to the server was closed")
            if self._http is None:
                from .connection import open_client

                self.check_plain_http()
                self._http = open_client(
                    self.host, self._tls_context(), self.settings.timeout, self.settings.environ
                )
            return self._http

    def _debug(self, text: str) -> None:
        if self.settings.debug is not None:
            self.settings.debug(redact(text))

    def send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        retry_throttled: bool = True,
        stream: bool = False,
    ) -> httpx.Response:
        """Any status comes back as is, its body read, or with `stream` for the caller to read
        (iter_body, read_body) and close. Only idempotent requests are retried (on connection
        failures, 429 and 502/503/504, honouring Retry-After): a POST that may have reached
        the server must not be sent twice. Without `retry_throttled` a 429 comes back at once."""
        if params:
            url = with_query(url, params)
        body = {"data": form, "json": json_body, "content": content}
        retryable = method.upper() in IDEMPOTENT_METHODS
        attempts = self.settings.max_attempts
        attempt = 1
        while True:
            may_retry = retryable and attempt < attempts
            try:
                response = self._send_following_redirects(
                    method, url, body, headers or {}, authenticated
                )
                status = response.status_code
                if not (may_retry and status in RETRY_STATUSES) or (
                    status == 429 and not retry_throttled  # the caller schedules the retry
                ):
                    return response if stream else self.read_body(response)
            except RetryableTransportError as exc:
                if not may_retry:
                    raise exc.args[0] from None
                wait = self._backoff(attempt, None)
                reason = exc.args[0].message
            else:
                wait = self._backoff(attempt, response.headers.get("Retry-After"))
                if wait > MAX_RETRY_AFTER:  # waiting that long is not retrying; say so instead
                    return response if stream else self.read_body(response)
                response.close()
                reason = f"{response.status_code} {response.reason_phrase}"
            attempt += 1
            self._debug(
                f"retrying {method} {urlsplit(url).path} in {wait:.1f} s "
                f"(attempt {attempt}/{attempts}): {reason}"
            )
            if self.settings.notice is not None and wait >= 1:
                why = "rate limited" if reason.startswith("429") else reason
                self.settings.notice(f"{why}; retrying in {wait:.0f} s")
            if self.settings.sleep is time.sleep:
                self._stopped.wait(wait)  # a close() meanwhile ends it, and the request (_client)
            else:
                self.settings.sleep(wait)

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        asked = parse_retry_after(retry_after)
        if asked is not None:
            return asked
        import random

        ceiling = min(MAX_BACKOFF, self.settings.backoff * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not security)

    def iter_body(self, response: httpx.Response) -> Iterator[bytes]:
        """A streamed body (decoded) in chunks, every read within the request's deadline."""
        from .connection import deadline_at

        ends = response.extensions["vh_lite_deadline"]
        chunks = response.iter_bytes()
        with self._mapped_errors(str(response.request.url)):
            while True:
                with deadline_at(ends):  # not across the yield: the caller's time is its own
                    chunk = next(chunks, None)
                if chunk is None:
                    return
                yield chunk

    def read_body(self, response: httpx.Response) -> httpx.Response:
        """The response with its whole body read (decoded, at most MAX_BODY) and closed."""
        import httpx

        too_big = ApiError(
            f"{origin_text(str(response.request.url))} answered with more than "
            f"{MAX_BODY >> 20} MiB; not reading it"
        )
        try:
            declared = response.headers.get("content-length", "")
            if declared.strip().isdigit() and int(declared) > MAX_BODY:
                raise too_big
            body = bytearray()
            for chunk in self.iter_body(response):
                body += chunk
                if len(body) > MAX_BODY:  # also a small gzip that decodes to gigabytes
                    raise too_big
        finally:
            response.close()
        headers = [  # the body is decoded now, so it no longer has the encoding it came in;
            # raw bytes, as they came: a header that is not ASCII must not break the copy
            (name, value) for name, value in response.headers.raw
            if name.lower() not in (b"content-encoding", b"content-length", b"transfer-encoding")
        ]  # fmt: skip
        complete = httpx.Response(
            response.status_code, headers=headers, content=bytes(body),
            request=response.request, extensions=response.extensions,
        )  # fmt: skip
        complete.next_request = response.next_request  # where a redirect points
        return complete

    @contextlib.contextmanager
    def _mapped_errors(self, url: str) -> Iterator[None]:
        import httpx

        try:
            yield
        except httpx.TimeoutException:
            # Not retried: a server that does not answer must end within --timeout.
            raise NetworkError(
                f"{origin_text(url)} did not answer within {self.settings.timeout:g} s",
                timed_out=True,
            ) from None
        except httpx.InvalidURL as exc:  # a Location no URL parser takes (`http:host/x`)
            raise ApiError(f"{origin_text(url)} sent an address that is not a URL: {exc}") from None
        except httpx.HTTPError as exc:
            reason, kind = describe_transport_error(exc)
            if isinstance(exc, httpx.RemoteProtocolError) and kind != "disconnected":
                # Not HTTP (a Location with a broken port, a header line h11 refuses): a
                # retry would meet the same answer.
                raise ApiError(f"{origin_text(url)} answered with invalid HTTP: {exc}") from None
            error = NetworkError(f"cannot reach {origin_text(url)}: {reason}", reason=kind)
            if kind in ("tls-verify", "not-tls"):
                raise error from None  # a retry would meet the same certificate
            raise RetryableTransportError(error) from None

    def _send_following_redirects(
        self,
        method: str,
        url: str,
        body: dict[str, Any],
        extra_headers: Mapping[str, str],
        authenticated: bool,
    ) -> httpx.Response:
        """The response, its body not read yet. --timeout is a deadline for all of it: every
        connect, write and read of every hop, and of the body after it (iter_body, read_body)."""
        from .connection import deadline_at

        ends = time.monotonic() + self.settings.timeout
        for _ in range(MAX_SAME_ORIGIN_REDIRECTS + 1):
            headers = dict(extra_headers)
            if authenticated:
                if not same_origin(url, self.host):
                    raise ApiError(
                        f"refusing to send the token to {origin_text(url)}: it is not {self.host}"
                    )
                headers["Authorization"] = f"Token {self.token}"
            client = self._client()
            self._debug(f"> {method} {url}")
            if authenticated:
                self._debug("> Authorization: Token [redacted]")
            started = time.monotonic()
            with deadline_at(ends), self._mapped_errors(url):
                request = client.build_request(method, url, headers=headers, **body)
                response = client.send(request, stream=True)
            response.extensions = {**response.extensions, "vh_lite_deadline": ends}
            self._debug(
                f"< {response.status_code} {response.reason_phrase} "
                f"({(time.monotonic() - started) * 1000:.0f} ms, "
                f"{response.headers.get('content-length', '?')} bytes)"
            )
            if not response.is_redirect or response.next_request is None:
                return response
            response.close()
            url = str(response.next_request.url)
            if not same_origin(url, self.host):
                raise ApiError(
                    f"the server redirected to {origin_text(url)}; not following it with your token"
                )
            if response.status_code in (301, 302, 303):
                method, body = "GET", {}
        raise ApiError(f"too many redirects from {self.host}")
