"""HTTP answers and failures as typed errors: status -> error, DRF bodies, Retry-After.

Only facts about the answer go into an error (status, the API's message and code, how long
the server asked to wait). Advice for the user depends on who is asking and is added above
the client (hints.py).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import ApiError, AuthError

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
        for key in ("detail", "message"):
            if isinstance(body.get(key), str):
                return str(body[key])
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


def raise_for_status(response: httpx.Response) -> None:
    """Turn an error status into AuthError (401/403) or ApiError with the API's message.

    Bodies that are not JSON (proxies and load balancers answer with HTML) are never shown:
    the status line says enough.
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
    code = error_code_from_body(body)
    if status in (401, 403):
        raise AuthError(text, status=status, code=code)
    if status == 404:
        text += f" ({response.request.method} {response.request.url.path})"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    raise ApiError(text, status=status, code=code, retry_after=retry_after)


def decode_json(response: httpx.Response) -> Any:
    """The decoded body of a successful answer (raise_for_status); ApiError if it is not JSON."""
    raise_for_status(response)
    try:
        return response.json()
    except ValueError:
        raise ApiError(
            f"the server answered {response.status_code} but the body is not valid JSON "
            f"({response.request.url.path})",
            status=response.status_code,
            reason="not-json",  # probably not a Valohai API at all
        ) from None


def origin_text(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# OpenSSL's words for "this port does not speak TLS" (a plain-http server asked for https).
_NOT_TLS = ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure",
            "packet length too long", "unknown protocol", "HTTP_REQUEST")  # fmt: skip


def describe_transport_error(exc: Exception) -> tuple[str, str]:
    """(a short reason in plain words, its kind) for a transport failure.

    OpenSSL's own text is kept, but only after a sentence a person can act on.
    """
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
    """'[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate
    (_ssl.c:1006)' -> 'certificate verify failed: self-signed certificate'."""
    import re

    detail = re.sub(r"^\[SSL: [A-Z_]+\] ", "", detail.strip())
    return re.sub(r" \(_ssl\.c:\d+\)$", "", detail) or "no details"
