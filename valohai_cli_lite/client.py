"""ValohaiClient: the one place that talks HTTP to the Valohai API.

It knows nothing about terminals: it returns plain dicts and raises the typed errors in
errors.py. httpx is imported only when the first request is made.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qs, quote, urlencode, urljoin, urlsplit

from . import __version__
from .errors import (
    ApiError,
    AuthError,
    NetworkError,
    UsageError,
    check_token,
    redact,
    register_secret,
)
from .hosts import api_url, is_loopback, same_origin

if TYPE_CHECKING:
    import ssl

    import httpx

DEFAULT_TIMEOUT = 30.0
# DRF's default page size; a server that caps lower answers with fewer items and a `next` link.
DEFAULT_PAGE_SIZE = 100
MAX_SAME_ORIGIN_REDIRECTS = 5
USER_AGENT = f"vh-lite/{__version__} (python {sys.version_info[0]}.{sys.version_info[1]})"

# Retries: only requests that are safe to repeat, only for failures that may pass.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_BACKOFF = 0.5
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 30.0  # a server asking for longer is not retried: the error says how long


class RetryableTransportError(Exception):
    """A connection-level failure (refused, reset, DNS) that a retry may get past."""

    def __init__(self, error: NetworkError) -> None:
        super().__init__(error.message)
        self.error = error


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def error_message_from_body(body: Any) -> str | None:
    """The human part of a DRF error body, in any of the shapes the API uses."""
    if isinstance(body, dict):
        if isinstance(body.get("detail"), str):
            return str(body["detail"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
        parts: list[str] = []
        for key, value in body.items():
            if key == "code":
                continue
            text = _flatten_messages(value)
            if text:
                parts.append(text if key == "non_field_errors" else f"{key}: {text}")
        return "; ".join(parts) or None
    if isinstance(body, list):
        return _flatten_messages(body) or None
    return None


def _flatten_messages(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("message") or value.get("detail") or "")
    if isinstance(value, list):
        return " ".join(filter(None, (_flatten_messages(v) for v in value)))
    return ""


def error_code_from_body(body: Any) -> str | None:
    """A top-level `code` (get-token uses it for has_2fa / has_external_identity)."""
    if isinstance(body, dict):
        code = body.get("code")
        if isinstance(code, str):
            return code
        for value in body.values():  # {"non_field_errors": [{"code": ...}]}
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, dict) and isinstance(item.get("code"), str):
                        return str(item["code"])
    return None


class ClientSettings(NamedTuple):
    """How requests are made; built once per run from flags, environment and profile."""

    timeout: float = DEFAULT_TIMEOUT
    ca_file: str | None = None  # a PEM bundle for a private CA, instead of the public ones
    allow_insecure_http: bool = False  # plain http to a host that is not loopback
    debug: Callable[[str], None] | None = None  # receives one line per request/response/retry
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff: float = DEFAULT_BACKOFF  # seconds before the first retry; doubles each time


class ValohaiClient:
    def __init__(
        self,
        host: str,
        token: str | None = None,
        *,
        settings: ClientSettings | None = None,
        rejected_hint: str = "log in again with 'vh-lite login'",
    ) -> None:
        self.host = host
        self._token: str | None = None
        if token is not None:
            self.use_token(token)
        self._settings = settings or ClientSettings()
        self._rejected_hint = rejected_hint
        self._http: httpx.Client | None = None
        self._closed = False

    def __repr__(self) -> str:  # never the token
        return f"ValohaiClient(host={self.host!r})"

    def use_token(self, token: str) -> None:
        register_secret(token)
        self._token = token

    def __enter__(self) -> ValohaiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        # A page fetcher abandoned by an early stop must not open a new connection later.
        self._closed = True
        if self._http is not None:
            self._http.close()
            self._http = None

    def _check_transport(self) -> None:
        """Refuse plain http beyond loopback before anything, password or token, is sent."""
        plain = urlsplit(self.host).scheme == "http"
        if plain and not is_loopback(self.host) and not self._settings.allow_insecure_http:
            raise UsageError(
                f"refusing to talk to {self.host} over plain http: your password and token "
                "would cross the network unencrypted",
                hint="use https://, or pass --allow-insecure-http if you really mean it",
            )

    def _tls_context(self) -> ssl.SSLContext | bool:
        import ssl

        if self._settings.ca_file:
            try:
                return ssl.create_default_context(cafile=self._settings.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise UsageError(
                    f"cannot use the CA file {self._settings.ca_file}: {exc}"
                ) from None
        if urlsplit(self.host).scheme == "http":
            # Loading the CA bundle costs ~90 ms per run and a plain-http host never needs it
            # (redirects never leave the origin). A bare verifying context still fails closed
            # should anything ever try TLS with it.
            return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return True

    def _client(self) -> httpx.Client:
        if self._closed:
            raise NetworkError("the connection to the server was closed")
        if self._http is None:
            import httpx

            self._check_transport()
            self._http = httpx.Client(
                verify=self._tls_context(),
                timeout=httpx.Timeout(self._settings.timeout),
                headers={"Accept": "application/json", "User-Agent": USER_AGENT},
                # Redirects are followed by hand so the token never leaves its origin.
                follow_redirects=False,
            )
        return self._http

    def _debug(self, text: str) -> None:
        if self._settings.debug is not None:
            self._settings.debug(redact(text))

    # -- the single request path -----------------------------------------------------------

    def send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        json_body: Any = None,
        authenticated: bool = True,
    ) -> httpx.Response:
        """Send one request; any status comes back as is.

        Same-origin redirects are followed; idempotent requests (GET, HEAD, OPTIONS) are
        retried on connection failures, 429 and 502/503/504 with capped exponential backoff
        and jitter, honouring Retry-After. Nothing else is ever retried: a POST that may
        have reached the server must not be sent twice.
        """
        if params:
            url = with_query(url, params)
        retryable = method.upper() in IDEMPOTENT_METHODS
        attempt = 1
        while True:
            try:
                response = self._send_following_redirects(
                    method, url, form=form, json_body=json_body, authenticated=authenticated
                )
            except RetryableTransportError as exc:
                if not retryable or attempt >= self._settings.max_attempts:
                    raise exc.error from None
                wait = self._backoff(attempt, None)
                reason = exc.error.message
            else:
                if not (
                    retryable
                    and response.status_code in RETRY_STATUSES
                    and attempt < self._settings.max_attempts
                ):
                    return response
                wait = self._backoff(attempt, response.headers.get("Retry-After"))
                if wait > MAX_RETRY_AFTER:
                    return response  # waiting that long is not retrying; say so instead
                reason = f"{response.status_code} {response.reason_phrase}"
                response.close()
            attempt += 1
            self._debug(
                f"retrying {method} {urlsplit(url).path} in {wait:.1f} s "
                f"(attempt {attempt}/{self._settings.max_attempts}): {reason}"
            )
            time.sleep(wait)

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        """Exponential backoff with jitter (capped), or exactly what Retry-After asks for."""
        asked = parse_retry_after(retry_after)
        if asked is not None:
            return asked
        import random

        ceiling = min(MAX_BACKOFF, self._settings.backoff * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not security)

    def _read_within_deadline(
        self, client: httpx.Client, request: httpx.Request, started: float
    ) -> httpx.Response:
        """Send and read the whole response of one attempt within --timeout.

        httpx's timeouts apply to each read, so a server trickling a byte a second would
        never time out; the body is read chunk by chunk against one deadline instead. (Headers
        trickled byte by byte are bounded only per read.)
        """
        import httpx

        deadline = started + self._settings.timeout
        # Connecting and each read of the headers get at most the time that is left; the body
        # is then checked against the deadline chunk by chunk.
        remaining = max(0.001, deadline - time.monotonic())
        request.extensions["timeout"] = httpx.Timeout(remaining).as_dict()
        response = client.send(request, stream=True)
        try:
            chunks = []
            for chunk in response.iter_raw():
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the response took too long", request=request)
        finally:
            response.close()
        # The raw bytes with the original headers: decoding (gzip...) happens as usual.
        complete = httpx.Response(
            response.status_code,
            headers=response.headers,
            content=b"".join(chunks),
            request=request,
            extensions=response.extensions,
        )
        complete.next_request = response.next_request  # where a redirect points
        return complete

    def _send_following_redirects(
        self,
        method: str,
        url: str,
        *,
        form: dict[str, str] | None,
        json_body: Any,
        authenticated: bool,
    ) -> httpx.Response:
        import httpx

        for _ in range(MAX_SAME_ORIGIN_REDIRECTS + 1):
            headers = {}
            if authenticated:
                if not same_origin(url, self.host):
                    raise ApiError(
                        f"refusing to send the token to {_origin_text(url)}: it is not {self.host}"
                    )
                headers["Authorization"] = f"Token {self._token}"
            client = self._client()
            debugging = self._settings.debug is not None
            if debugging:
                self._debug(f"> {method} {url}")
                if authenticated:
                    self._debug("> Authorization: Token [redacted]")
            started = time.monotonic()
            try:
                request = client.build_request(
                    method, url, data=form, json=json_body, headers=headers
                )
                response = self._read_within_deadline(client, request, started)
            except httpx.TimeoutException:
                # Not retried: a server that does not answer must end within --timeout.
                raise NetworkError(
                    f"{_origin_text(url)} did not answer within {self._settings.timeout:g} s",
                    hint="check the host and your network, or raise --timeout",
                ) from None
            except httpx.HTTPError as exc:
                raise RetryableTransportError(
                    NetworkError(
                        f"cannot reach {_origin_text(url)}: {_describe_transport_error(exc)}",
                        hint="check the host URL and your network connection",
                    )
                ) from None
            if debugging:
                self._debug(
                    f"< {response.status_code} {response.reason_phrase} "
                    f"({(time.monotonic() - started) * 1000:.0f} ms, "
                    f"{response.headers.get('content-length', '?')} bytes)"
                )
            if response.is_redirect and response.next_request is not None:
                target = str(response.next_request.url)
                if not same_origin(target, self.host):
                    raise ApiError(
                        f"the server redirected to {_origin_text(target)}; not following it "
                        "with your token"
                    )
                url = target
                if response.status_code in (301, 302, 303):
                    method, form, json_body = "GET", None, None
                continue
            return response
        raise ApiError(f"too many redirects from {self.host}")

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        authenticated: bool = True,
    ) -> Any:
        """Send one request and return its decoded JSON body, or raise a typed error."""
        response = self.send(method, url, params=params, form=form, authenticated=authenticated)
        self.raise_for_status(response)
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                f"the server answered {response.status_code} but the body is not valid JSON "
                f"({response.request.url.path})",
                status=response.status_code,
                hint="is the host a Valohai installation?",
            ) from None

    def raise_for_status(self, response: httpx.Response) -> None:
        """Turn an error status into AuthError (401/403) or ApiError with the API's message.

        Bodies that are not JSON (proxies and load balancers answer with HTML) are never
        shown: the status line says enough.
        """
        if response.is_success:
            return
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        status = response.status_code
        detail = error_message_from_body(body)
        summary = f"{status} {response.reason_phrase}".strip()
        text = f"the server answered {summary}" + (f": {detail}" if detail else "")
        if status in (401, 403):
            raise AuthError(text, hint=self._rejected_hint if status == 401 else None)
        hint = None
        if status == 404:
            text += f" ({response.request.method} {response.request.url.path})"
            hint = "check the host URL, including any path prefix"
        elif status >= 500:
            hint = "the server or a proxy in front of it failed; try again later"
        elif status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            hint = (
                f"the server asks to wait {wait:.0f} s before trying again"
                if wait is not None
                else "the server is rate-limiting; try again later"
            )
        raise ApiError(text, status=status, code=error_code_from_body(body), hint=hint)

    # -- endpoints -------------------------------------------------------------------------

    def get_token(self, username: str, password: str) -> str:
        """Exchange a username and password for an API token (POST get-token, form-encoded)."""
        body = self.request(
            "POST",
            api_url(self.host, "get-token/"),
            form={"username": username, "password": password},
            authenticated=False,
        )
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ApiError("the server's get-token answer holds no token")
        register_secret(token)
        return check_token(token, "the server's get-token answer")

    def me(self) -> dict[str, Any]:
        body = self.request("GET", api_url(self.host, "users/me/"))
        if not isinstance(body, dict) or "username" not in body:
            raise ApiError("the server's users/me answer is not a user object")
        return body

    def iter_pages(
        self,
        url: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_concurrency: int = 1,
        stop_after: int | None = None,
    ) -> Generator[Page, None, None]:
        """Yield every page of a DRF limit/offset list at `url`, in order, lazily.

        The first page tells how many items there are (`count`) and how many the server
        really hands out per page (it may cap `limit`). With `max_concurrency` > 1 the other
        pages are then fetched by offset, that many at a time, and still yielded in order;
        `next` links are not needed then. Otherwise `next` is followed (same origin only),
        falling back to offsets when a server omits it. A caller that stops iterating stops
        the fetching; `stop_after` says in advance that no more items than that are wanted.
        """
        query = parse_qs(urlsplit(url).query)
        base_url = url.split("?", 1)[0]
        first_params: dict[str, Any] = {} if "limit" in query else {"limit": page_size}
        if "offset" not in query:
            first_params["offset"] = 0
        start = _offset_in(query)  # a path may ask to begin later than the first item
        body = self.request("GET", url, params=first_params)
        first = _page_results(body, url)
        total = _count(body)
        yield Page(first, total)
        if not first or (stop_after is not None and len(first) >= stop_after):
            return
        if max_concurrency > 1 and total is not None and total > len(first):
            end = total if stop_after is None else min(total, start + stop_after)
            rest = {k: v for k, v in query.items() if k not in ("offset", "limit")}
            offsets = range(start + len(first), end, len(first))
            yield from self._pages_by_offset(
                base_url, rest, len(first), offsets, max_concurrency, total
            )
        else:
            yield from self._pages_by_next(url, body, base_url, query, page_size, start)

    def _pages_by_offset(
        self,
        base_url: str,
        query: dict[str, Any],
        step: int,
        offsets: range,
        max_concurrency: int,
        total: int,
    ) -> Generator[Page, None, None]:
        """Fetch pages at `offsets` with at most `max_concurrency` requests in flight.

        Offsets are only right while the list holds still: a page reporting another `count`
        than the first means items moved between pages, so some would be lost or doubled.
        """
        from collections import deque
        from concurrent.futures import Future, ThreadPoolExecutor

        def fetch(offset: int) -> Any:
            return self.request("GET", base_url, params={**query, "limit": step, "offset": offset})

        pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="vh-lite-page")
        pending = iter(offsets)
        window: deque[Future[Any]] = deque()
        try:
            for offset in pending:
                window.append(pool.submit(fetch, offset))
                if len(window) >= max_concurrency:
                    break
            while window:
                body = window.popleft().result()
                following = next(pending, None)
                if following is not None:
                    window.append(pool.submit(fetch, following))
                results = _page_results(body, base_url)
                if _count(body) != total:
                    raise ApiError(
                        f"the list changed while it was being read ({total} items, then "
                        f"{_count(body)})",
                        hint="run the command again",
                    )
                yield Page(results, total)
                if not results:
                    return
        finally:
            # Stopped early (a limit, an error, Ctrl-C): drop what has not started yet.
            pool.shutdown(wait=False, cancel_futures=True)

    def _pages_by_next(
        self,
        url: str,
        body: Any,
        base_url: str,
        query: dict[str, list[str]],
        page_size: int,
        start: int,
    ) -> Generator[Page, None, None]:
        """The pages after `body`, following `next` links (or offsets when `next` is absent)."""
        current = url
        seen = start + len(body["results"])
        visited: set[str] = set()
        while True:
            total = _count(body)
            next_url = body.get("next")
            params: dict[str, Any] | None = None
            if isinstance(next_url, str) and next_url:
                # DRF sends absolute links; a relative one is resolved, never sent elsewhere.
                next_url = urljoin(current, next_url)
                if next_url in visited:
                    raise ApiError(f"the server's pagination loops back to {next_url}")
                visited.add(next_url)
                current = next_url
            elif total is not None and seen < total:
                current = base_url
                params = {**{k: v for k, v in query.items() if k != "offset"}, "offset": seen}
                params.setdefault("limit", page_size)
            else:
                return
            body = self.request("GET", current, params=params)
            results = _page_results(body, current)
            seen += len(results)
            yield Page(results, _count(body))
            if not results:
                return

    def iter_projects(
        self,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_concurrency: int = 1,
        stop_after: int | None = None,
    ) -> Generator[Page, None, None]:
        return self.iter_pages(
            api_url(self.host, "projects/"),
            page_size=page_size,
            max_concurrency=max_concurrency,
            stop_after=stop_after,
        )

    def get_project(self, project_id: str) -> dict[str, Any]:
        body = self.request("GET", api_url(self.host, f"projects/{quote(project_id, safe='')}/"))
        if not isinstance(body, dict):
            raise ApiError("the server's project answer is not an object")
        return body


def _count(body: dict[str, Any]) -> int | None:
    count = body.get("count")
    return count if isinstance(count, int) and not isinstance(count, bool) else None


class Page(NamedTuple):
    results: list[dict[str, Any]]
    total: int | None  # the server's `count` of all items, when it sent one


def with_query(url: str, params: dict[str, Any]) -> str:
    """`url` with `params` appended to whatever query string it already has."""
    return f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(params, doseq=True)}"


def _page_results(body: Any, url: str) -> list[dict[str, Any]]:
    """The page's items; anything but a list of objects is the wrong envelope, an error."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise ApiError(f"the server's answer to {urlsplit(url).path} is not a paginated list")
    results: list[dict[str, Any]] = body["results"]
    if not all(isinstance(item, dict) for item in results):
        raise ApiError(
            f"the server's answer to {urlsplit(url).path} lists something that is not an object"
        )
    return results


def _offset_in(query: dict[str, list[str]]) -> int:
    values = query.get("offset") or ["0"]
    return int(values[0]) if values[0].isdigit() else 0


def _origin_text(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _describe_transport_error(exc: Exception) -> str:
    """A short reason for a transport failure: TLS problems say so plainly."""
    text = str(exc)
    cause: BaseException | None = exc
    while cause is not None:
        name = type(cause).__name__
        if "SSL" in name or "Certificate" in name or "CERTIFICATE_VERIFY_FAILED" in str(cause):
            return f"TLS error: {cause}"
        cause = cause.__cause__ or cause.__context__
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "the host name could not be resolved"
    if "Connection refused" in text:
        return "connection refused"
    return text or type(exc).__name__
