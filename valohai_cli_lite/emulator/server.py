"""A loopback emulator of the parts of Valohai's REST API (v0) that vh-lite uses.

Standard library only, so tests and demos need nothing beyond Python. Response shapes follow
Django REST Framework, which the real API is built on; docs/emulator.md lists what is served.
"""

from __future__ import annotations

import contextlib
import functools
import http
import ipaddress
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from valohai_cli_lite.emulator.data import (
    LOGIN_REFUSAL_MESSAGES,
    EmulatedUser,
    default_users,
    find_project_index,
    make_project,
)
from valohai_cli_lite.hosts import API_PREFIX

HANG_SECONDS = 300.0


@functools.lru_cache(maxsize=20_000)
def _generated_project(index: int, base_url: str) -> dict[str, Any]:
    # Generating a project costs ~40 us; a benchmark of 10,000 projects at 8 requests at a
    # time would otherwise measure the emulator's CPU as much as the client's. Only the
    # serialiser reads these dicts, so sharing them is safe.
    return make_project(index, base_url)


@dataclass
class EmulatorConfig:
    """How the emulator behaves. Read on every request, so tests may change it mid-run."""

    token: str = "emulator-token"  # noqa: S105 - the emulator's documented default
    projects: int = 25
    # The page size when a request gives no `limit`; also the cap on `limit` unless
    # `max_limit` is set, as on a server that refuses to hand out everything at once.
    page_size: int = 100
    max_limit: int | None = None
    latency_ms: int = 0
    host: str = "127.0.0.1"
    port: int = 0
    users: list[EmulatedUser] = field(default_factory=default_users)
    # Whose profile `users/me` returns: the configured token belongs to this user.
    token_user: str = "demo"  # noqa: S105 - a user name, not a secret
    # Status codes to answer the next requests with, one popped per request before anything
    # else is looked at: 502/503/504 answer with HTML as a load balancer does, 429 with
    # Retry-After, other codes with a DRF-style JSON body, and 0 answers normally.
    # Two more faults may be queued the same way: "truncate" answers 200 with the JSON body cut
    # in half, "hang" never answers (until the emulator stops or HANG_SECONDS pass).
    fail_next: list[int | str] = field(default_factory=list)
    # Rewrite `next` links to point at this origin (e.g. "http://127.0.0.2:9"), as a hostile
    # or misconfigured server might: a careful client must not send its token there.
    foreign_next: str | None = None
    # Serve HTTPS with this certificate chain and key (PEM files), for TLS tests.
    tls_cert: str | None = None
    tls_key: str | None = None
    # Hand-written projects served after the generated ones (duplicate names, hostile text...).
    extra_projects: list[dict[str, Any]] = field(default_factory=list)
    verbose: bool = False
    # Keep every request in Emulator.requests (tests read them); off for the command line.
    record_requests: bool = True

    @property
    def project_count(self) -> int:
        return max(self.projects, 0) + len(self.extra_projects)

    def project(self, index: int, base_url: str) -> dict[str, Any]:
        generated = max(self.projects, 0)
        if index < generated:
            return _generated_project(index, base_url)
        return self.extra_projects[index - generated]

    @property
    def limit_cap(self) -> int:
        return self.page_size if self.max_limit is None else self.max_limit


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # keys lowercased
    body: bytes


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
    # DRF's defaults: compact separators, non-ASCII left as UTF-8.
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Reply(status, body, "application/json", dict(headers or {}))


def not_found() -> Reply:
    return json_reply(404, {"detail": "Not found."})


def failure_reply(status: int) -> Reply:
    """An injected failure, shaped like whatever sends that status in front of a real API."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Injected failure"
    if status == 429:
        return json_reply(
            429,
            {"detail": "Request was throttled. Expected available in 1 second."},
            {"Retry-After": "1"},
        )
    if status >= 500:
        # Load balancers and proxies answer with HTML, not the API's JSON.
        html = f"<html><head><title>{status} {phrase}</title></head><body>"
        html += f"<center><h1>{status} {phrase}</h1></center></body></html>\n"
        return Reply(status, html.encode("utf-8"), "text/html")
    return json_reply(status, {"detail": phrase})


# --- pagination --------------------------------------------------------------------------


def _query_int(
    query: dict[str, list[str]], key: str, default: int, *, strict: bool, cutoff: int | None = None
) -> int:
    # DRF's positive_int: negative (or, when strict, zero) and non-numbers mean "use default".
    if key not in query:
        return default
    try:
        value = int(query[key][-1])
    except ValueError:
        return default
    if value < 0 or (value == 0 and strict):
        return default
    return min(value, cutoff) if cutoff is not None else value


def _with_query_param(url: str, key: str, value: int | None) -> str:
    """`url` with `key` set to `value` (None: removed); the rest kept and sorted, as in DRF."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    if value is None:
        params.pop(key, None)
    else:
        params[key] = [str(value)]
    query = urlencode(sorted(params.items()), doseq=True)
    return urlunsplit((scheme, netloc, path, query, fragment))


def paginate_projects(
    config: EmulatorConfig, base_url: str, path: str, query: dict[str, list[str]]
) -> dict[str, Any]:
    """A page of projects the way DRF's LimitOffsetPagination answers `path?query`.

    Like DRF, a `limit` or `offset` that is not a usable number falls back to the default
    instead of failing, and `limit` is silently capped.
    """
    limit = _query_int(query, "limit", config.page_size, strict=True, cutoff=config.limit_cap)
    offset = _query_int(query, "offset", 0, strict=False)
    count = config.project_count
    end = min(offset + limit, count)
    results = [config.project(index, base_url) for index in range(offset, end)]

    this_url = base_url + path
    if query:
        this_url += "?" + urlencode(query, doseq=True)
    next_url: str | None = None
    if offset + limit < count:
        next_url = _with_query_param(this_url, "limit", limit)
        next_url = _with_query_param(next_url, "offset", offset + limit)
    previous_url: str | None = None
    if offset > 0:
        previous_url = _with_query_param(this_url, "limit", limit)
        # DRF drops `offset` rather than sending offset=0 when going back to the start.
        previous_offset = offset - limit if offset - limit > 0 else None
        previous_url = _with_query_param(previous_url, "offset", previous_offset)
    if next_url is not None and config.foreign_next:
        next_url = (
            config.foreign_next.rstrip("/")
            + urlsplit(next_url)._replace(scheme="", netloc="").geturl()
        )
    return {"count": count, "next": next_url, "previous": previous_url, "results": results}


# --- endpoints ---------------------------------------------------------------------------


def _authentication_failure(request: RecordedRequest, config: EmulatorConfig) -> Reply | None:
    """None when the request carries the configured token; otherwise DRF's 401 answer."""
    # DRF's TokenAuthentication: the keyword is case-insensitive, the token is not.
    parts = request.headers.get("authorization", "").split()
    detail: str | None = None
    if not parts or parts[0].lower() != "token":
        detail = "Authentication credentials were not provided."
    elif len(parts) == 1:
        detail = "Invalid token header. No credentials provided."
    elif len(parts) > 2:
        detail = "Invalid token header. Token string should not contain spaces."
    elif parts[1] != config.token:
        detail = "Invalid token."
    if detail is None:
        return None
    return json_reply(401, {"detail": detail}, {"WWW-Authenticate": "Token"})


def _method_not_allowed(method: str, allowed: str) -> Reply:
    return json_reply(405, {"detail": f'Method "{method}" not allowed.'}, {"Allow": allowed})


def _field_error(message: str, code: str) -> list[dict[str, str]]:
    return [{"message": message, "code": code}]


def _parse_login_form(request: RecordedRequest) -> dict[str, Any] | Reply:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not request.body:
        return {}
    if content_type == "application/json":
        try:
            data = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return json_reply(400, {"detail": f"JSON parse error - {exc}"})
        if not isinstance(data, dict):
            kind = type(data).__name__
            message = f"Invalid data. Expected a dictionary, but got {kind}."
            return json_reply(400, {"non_field_errors": _field_error(message, "invalid")})
        return data
    if content_type == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return json_reply(400, {"detail": "Form data is not valid UTF-8."})
        return {key: values[-1] for key, values in form.items()}
    return json_reply(415, {"detail": f'Unsupported media type "{content_type}" in request.'})


def get_token(request: RecordedRequest, config: EmulatorConfig) -> Reply:
    if request.method != "POST":
        return _method_not_allowed(request.method, "POST, OPTIONS")
    data = _parse_login_form(request)
    if isinstance(data, Reply):
        return data

    values: dict[str, str] = {}
    errors: dict[str, list[dict[str, str]]] = {}
    for name in ("username", "password"):
        raw = data.get(name)
        if raw is None:
            errors[name] = _field_error("This field is required.", "required")
        elif isinstance(raw, bool) or not isinstance(raw, str | int | float):
            errors[name] = _field_error("Not a valid string.", "invalid")
        else:
            # DRF trims the username but takes the password exactly as sent.
            text = str(raw).strip() if name == "username" else str(raw)
            if not text:
                errors[name] = _field_error("This field may not be blank.", "blank")
            values[name] = text
    if errors:
        return json_reply(400, errors)

    user = next((u for u in config.users if u.username == values["username"]), None)
    if user is not None and user.login_refusal is not None:
        message = LOGIN_REFUSAL_MESSAGES.get(user.login_refusal, "Use an API token instead.")
        return json_reply(400, {"code": user.login_refusal, "message": message})
    if user is None or user.password is None or user.password != values["password"]:
        error = _field_error("Unable to log in with provided credentials.", "authorization")
        return json_reply(400, {"non_field_errors": error})
    return json_reply(200, {"token": config.token})


def users_me(request: RecordedRequest, config: EmulatorConfig) -> Reply:
    if request.method != "GET":
        return _method_not_allowed(request.method, "GET")
    user = next((u for u in config.users if u.username == config.token_user), None)
    if user is None:
        return not_found()
    return json_reply(200, user.profile())


def answer(request: RecordedRequest, config: EmulatorConfig, base_url: str) -> Reply:
    """The reply to one request. `base_url` is scheme and host as the client addressed us."""
    if not request.path.startswith(API_PREFIX):
        return not_found()
    # The real server wants a trailing slash; accepting both costs nothing here.
    parts = [part for part in request.path[len(API_PREFIX) :].split("/") if part]

    if parts == ["get-token"]:
        return get_token(request, config)

    failure = _authentication_failure(request, config)
    if failure is not None:
        return failure

    if parts == ["users", "me"]:
        return users_me(request, config)
    if parts and parts[0] == "projects" and len(parts) <= 2:
        if request.method != "GET":
            return _method_not_allowed(request.method, "GET")
        if len(parts) == 1:
            return json_reply(200, paginate_projects(config, base_url, request.path, request.query))
        index = find_project_index(parts[1], config.projects)
        if index is not None:
            return json_reply(200, make_project(index, base_url))
        for extra in config.extra_projects:
            if extra.get("id") == parts[1]:
                return json_reply(200, extra)
        return not_found()
    return not_found()


# --- HTTP plumbing -----------------------------------------------------------------------


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
        config = emulator.config
        if config.latency_ms > 0:
            time.sleep(config.latency_ms / 1000)
        failure = emulator.pop_failure()
        if failure == "hang":
            emulator.stopping.wait(HANG_SECONDS)
            self.close_connection = True
            return
        if isinstance(failure, int) and failure:
            self._send(failure_reply(failure))
            return
        reply = answer(request, config, self._base_url())
        if failure == "truncate":
            reply = Reply(200, reply.body[: len(reply.body) // 2], reply.content_type)
        self._send(reply)

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

    def __init__(self, emulator: Emulator, address: tuple[str, int], ipv6: bool) -> None:
        self.address_family = socket.AF_INET6 if ipv6 else socket.AF_INET
        self.emulator = emulator
        self._open_sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._sockets_lock:
            self._open_sockets.add(request)
        super().process_request(request, client_address)

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
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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

    @property
    def port(self) -> int:
        """The port listened on; still known after stop(), so tests can report it."""
        if self._port is None:
            raise RuntimeError("the emulator has not been started")
        return self._port

    @property
    def scheme(self) -> str:
        return "https" if self.config.tls_cert else "http"

    @property
    def base_url(self) -> str:
        host = self._bound_host
        if ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}"

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
        ipv6 = ":" in self._bound_host
        self._server = _EmulatorHTTPServer(self, (self.config.host, self.config.port), ipv6)
        self._port = int(self._server.server_address[1])
        if self.config.tls_cert:
            import ssl

            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.config.tls_cert, self.config.tls_key)
            # A client that rejects the certificate fails the handshake inside accept();
            # socketserver drops such a connection quietly.
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
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
