"""Errors with a user-facing message and an exit code; `cli.run` is the one place that turns
them into a line on stderr and an exit code, so no command ever calls `sys.exit` itself."""

from __future__ import annotations

# Documented exit codes (docs/exit-codes.md); keep the two in step.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 4
EXIT_INTERRUPTED = 130


class VhLiteError(Exception):
    """An expected failure: shown as one line (plus an optional hint), never a traceback."""

    exit_code = EXIT_ERROR

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        reason: str | None = None,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        words: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.reason = reason  # a word for what went wrong, so hints.py can add advice above
        self.status = status  # the HTTP status, when the server answered
        self.code = code  # the API's machine-readable error code, e.g. "has_2fa"
        self.words = words  # the server's own words about it, one line
        self.retry_after = retry_after  # a 429 or 503's Retry-After that was not waited for


class UsageError(VhLiteError):
    exit_code = EXIT_USAGE


class AuthError(VhLiteError):  # no credentials, or the server rejected them
    exit_code = EXIT_AUTH


class ApiError(VhLiteError):
    """The API answered with an error status or a body we cannot use."""


class PermissionDenied(ApiError):
    """A 403 for a valid token without the right to do this: logging in again will not help."""


class NetworkError(VhLiteError):
    """The request never got a usable HTTP answer; its reasons are in hints._BY_REASON."""

    def __init__(self, message: str, *, timed_out: bool = False, reason: str = "other") -> None:
        super().__init__(message, reason="timeout" if timed_out else reason)
        self.timed_out = timed_out


class ConfigError(VhLiteError):
    """A local config or credentials file cannot be read or written."""


class OutputError(VhLiteError):  # stdout cannot be written (a full disk, a closed descriptor)
    def __init__(self, exc: OSError | None = None) -> None:
        reason = exc.strerror or str(exc) if exc is not None else "standard output is closed"
        super().__init__(f"cannot write the output: {reason}")


class StdoutClosed(Exception):
    """The reader of stdout went away (`vh-lite ... | head -1`): stop quietly, exit 0."""


# Secrets seen (tokens, passwords), scrubbed from anything the error reporter prints: a last
# line of defence should one ever end up in a message.
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    if len(value) >= 4:  # a tiny "secret" would redact ordinary words
        # Messages sometimes show a value escaped (repr, bytes), which a plain match misses.
        in_bytes = repr(value.encode("utf-8", "backslashreplace"))[2:-1]
        _secrets.update((value, repr(value)[1:-1], in_bytes))


def check_token(token: str, source: str) -> str:
    """A token is printable ASCII without spaces; anything else is refused without showing it
    (it could not go into an HTTP header, and httpx's error for it would quote the header)."""
    if not token or not all("!" <= ch <= "~" for ch in token):
        raise AuthError(
            f"the token from {source} is not a valid API token (it must be printable ASCII "
            "without spaces or line breaks)"
        )
    return token


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return text
