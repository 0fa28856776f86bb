"""Advice added to the client's errors, which state only facts: what to do next depends on
where the token came from and what the user was doing (docs/development.md)."""

from __future__ import annotations

from .errors import ApiError, AuthError, NetworkError, VhLiteError

# Advice by the reason an error names, whichever layer raised it.
_BY_REASON = {
    "plain-http": "use https://, or pass --allow-insecure-http if you really mean it",
    "list-changed": "run the command again",
    "foreign-next": "the server may be misconfigured behind a proxy",
    "not-json": "is the host a Valohai installation?",
    # A NetworkError's reasons.
    "timeout": "check the host and your network, or raise --timeout",
    "dns": "check the spelling of the host name, and your network connection",
    "refused": "check the host URL and port: is the server running there?",
    "tls-verify": "if the server uses a private certificate authority, trust it with "
    "--ca-file PATH",
    "not-tls": "if the server speaks plain http, use an http:// URL",
    "disconnected": "if the server expects TLS, use an https:// URL",
    "other": "check the host URL and your network connection",
}


def explain(exc: VhLiteError, *, rejected_hint: str | None = None) -> VhLiteError:
    if exc.hint is None:
        exc.hint = _hint_for(exc, rejected_hint)
    return exc


def _hint_for(exc: VhLiteError, rejected_hint: str | None) -> str | None:
    if exc.reason in _BY_REASON:
        return _BY_REASON[exc.reason]
    if isinstance(exc, AuthError):
        return rejected_hint if exc.status == 401 else None
    if isinstance(exc, NetworkError):  # a reason with no advice of its own
        return _BY_REASON["other"]
    if not isinstance(exc, ApiError) or exc.status is None:
        return None
    if exc.status == 404:
        return "check the host URL, including any path prefix"
    if exc.status == 429:
        if exc.retry_after is not None:
            return f"the server asks to wait {exc.retry_after:.0f} s before trying again"
        return "the server is rate-limiting; try again later"
    if exc.status in (500, 502, 503, 504):
        return "the server or a proxy in front of it failed; try again later"
    if exc.status == 501:
        return "the server does not support this request"
    return None
