"""HTTP answers and failures as typed errors holding only facts about the answer; advice
depends on who is asking, and is added above (hints.py)."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import ApiError, AuthError, PermissionDenied

if TYPE_CHECKING:
    import httpx


# A server asking to wait longer than this is not retried (by the transport, or by the page
# scheduler): the error says how long it asked for.
MAX_RETRY_AFTER = 30.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    with contextlib.suppress(TypeError, ValueError, IndexError):
        moment = parsedate_to_datetime(value)
        if moment.tzinfo is not None:
            return max(0.0, moment.timestamp() - (time.time() if now is None else now))
    return None


MAX_WORDS = 300  # characters of the server's words shown, in one line
# Where FastAPI's validation errors say a field was (`"loc": ["body", "body", "commit"]`).
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


def error_message_from_body(body: Any) -> str | None:
    """The server's words as one line, from DRF's `detail`, `non_field_errors` and field lists
    (`{"name": ["..."]}` -> "name: ..."), a top-level `{code, message}`, FastAPI's
    `{"detail": {"error": ...}}` and `{"detail": [{"loc", "msg"}]}` ("commit: field required")."""
    from ..text import sanitize

    if not isinstance(body, dict | list):  # a bare JSON string or number is no error shape
        return None
    words = sanitize(_words(body)).strip()
    if len(words) > MAX_WORDS:
        words = words[: MAX_WORDS - 1].rstrip() + "…"
    return words or None


def _words(value: Any, field: str = "") -> str:
    if isinstance(value, str):
        return f"{field}: {value}" if field else value
    if isinstance(value, list):
        parts = (_words(item, field) for item in value)
        return "; ".join(dict.fromkeys(part for part in parts if part))
    if not isinstance(value, dict):
        return ""
    if isinstance(value.get("msg"), str) and isinstance(value.get("loc"), list):  # FastAPI
        where = ".".join(str(step) for step in value["loc"] if step not in _LOCATIONS)
        return _words(value["msg"], where or field)
    for key in ("detail", "message", "error", "msg"):
        if key in value:
            return _words(value[key], field)
    parts = (_words(item, field if key == "non_field_errors" else key)
             for key, item in value.items() if key != "code")  # fmt: skip
    return "; ".join(part for part in parts if part)


def error_code_from_body(body: Any) -> str | None:
    """A top-level `code` (get-token uses it for has_2fa / has_external_identity), else the
    first in a list of errors (`{"non_field_errors": [{"code": ...}]}`)."""
    if not isinstance(body, dict):
        return None
    listed = (item for value in body.values() if isinstance(value, list) for item in value)
    codes = (item.get("code") for item in (body, *listed) if isinstance(item, dict))
    return next((code for code in codes if isinstance(code, str)), None)


# A 403 with these words is about the credentials (DRF answers 403 when no token was sent,
# or an invalid one when session authentication comes first): log in again. Any other 403 is
# a valid token without the right: permission denied.
_ABOUT_CREDENTIALS = ("credential", "token", "authenticat", "log in", "login", "signature")


def raise_for_status(response: httpx.Response) -> None:
    """An error status as AuthError, PermissionDenied or ApiError. Bodies that are not JSON
    (proxies and load balancers answer with HTML) are never shown."""
    if response.is_success:
        return
    try:
        body: Any = response.json()
    except (ValueError, RecursionError):
        body = None
    status = response.status_code
    detail = error_message_from_body(body)
    summary = f"{status} {response.reason_phrase}".strip()
    said = f": {detail}" if detail else ""
    text = f"the server answered {summary}{said}"
    code = error_code_from_body(body)
    about_credentials = any(word in (detail or "").lower() for word in _ABOUT_CREDENTIALS)
    if status == 401 or (status == 403 and about_credentials):
        raise AuthError(text, status=status, code=code, words=detail)
    if status == 403:
        raise PermissionDenied(f"permission denied{said} (403)", status=status, words=detail)
    if status == 404:
        text += f" ({response.request.method} {response.request.url.path})"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    raise ApiError(text, status=status, code=code, retry_after=retry_after, words=detail)


def decode_json(response: httpx.Response) -> Any:
    """ApiError if the body is not JSON (nor NaN and Infinity, which Python's json reads)."""
    raise_for_status(response)
    try:
        return response.json(parse_constant=_not_json)
    except RecursionError:  # deeper than Python's stack: no Valohai answer is like that
        raise ApiError(
            f"the server's answer to {response.request.url.path} is nested too deeply to read"
        ) from None
    except ValueError:
        raise ApiError(
            f"the server answered {response.status_code} but the body is not valid JSON "
            f"({response.request.url.path})",
            status=response.status_code,
            reason="not-json",  # probably not a Valohai API at all
        ) from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def origin_text(url: str) -> str:
    """`scheme://host[:port]` of a URL, for messages; a server's link may hold anything."""
    from ..text import sanitize

    parts = urlsplit(url)
    return sanitize(f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}")[:200]


# OpenSSL's words for "this port does not speak TLS" (a plain-http server asked for https).
_NOT_TLS = ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure",
            "packet length too long", "unknown protocol", "HTTP_REQUEST")  # fmt: skip


def describe_transport_error(exc: Exception) -> tuple[str, str]:
    """(reason, kind); OpenSSL's own text is kept, after a sentence a person can act on."""
    text = str(exc)
    cause: BaseException | None = exc
    while cause is not None:
        detail = str(cause)
        if "CERTIFICATE_VERIFY_FAILED" in detail or "certificate verify failed" in detail:
            return f"its TLS certificate does not verify ({_openssl_reason(detail)})", "tls-verify"
        if any(marker in detail for marker in _NOT_TLS):
            return f"it does not answer TLS on that port ({_openssl_reason(detail)})", "not-tls"
        name = type(cause).__name__
        if "SSL" in name or "Certificate" in name:
            return f"the TLS handshake failed ({_openssl_reason(detail)})", "other"
        cause = cause.__cause__ or cause.__context__
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "the host name could not be resolved", "dns"
    if "Temporary failure in name resolution" in text or "No address associated" in text:
        return "the host name could not be resolved", "dns"
    if "Connection refused" in text:
        return "connection refused", "refused"
    if "Server disconnected" in text or "Connection reset" in text:
        return "the server closed the connection without answering", "disconnected"
    return text or type(exc).__name__, "other"


def _openssl_reason(detail: str) -> str:
    """'[SSL: X] certificate verify failed: self-signed certificate (_ssl.c:1006)' -> the words."""
    import re

    detail = re.sub(r"^\[SSL: [A-Z_]+\] ", "", detail.strip())
    return re.sub(r" \(_ssl\.c:\d+\)$", "", detail) or "no details"
