"""The streams: terminal and colour decisions, messages on stderr, JSON text, sanitising.

render.py builds every output format on top of these; nothing else asks whether a stream is a
terminal, and every write to stdout goes through the guard installed by guard_stdout().
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from typing import IO, TYPE_CHECKING, Any

from .errors import VhLiteError

if TYPE_CHECKING:
    from datetime import datetime

# What must not reach a terminal raw inside JSON text (json itself escapes C0 controls).
_TERMINAL_UNSAFE = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# C0 controls, DEL, C1 controls and the bidirectional overrides. Data from the server must
# never move the cursor, clear the screen, start an escape sequence or reorder what a person
# reads in human-readable output.
_CONTROL_CHARS = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


class StdoutClosed(Exception):
    """The reader of stdout went away (`vh-lite ... | head -1`): stop quietly."""


class OutputError(VhLiteError):
    """stdout cannot be written (a full disk, a closed descriptor)."""

    def __init__(self, exc: OSError | None = None) -> None:
        reason = exc.strerror or str(exc) if exc is not None else "standard output is closed"
        super().__init__(f"cannot write the output: {reason}")


class _ClosedStdout:
    """Stands in for a stdout the shell closed (`vh-lite ... >&-`)."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OutputError()

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class _PipeGuard:
    """Wraps sys.stdout so a closed pipe surfaces as StdoutClosed wherever data is written.

    Typer turns a BrokenPipeError into exit 1; `... | head -1` under `set -o pipefail` should
    not fail a script, so main() maps StdoutClosed to exit 0 instead.
    """

    def __init__(self, stream: IO[str] | _ClosedStdout) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise StdoutClosed from None
        except OSError as exc:  # a full disk, a closed descriptor: the user must know
            raise OutputError(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise StdoutClosed from None
        except OSError as exc:
            raise OutputError(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_stdout() -> None:
    """Make stdout safe to write to: closed pipes end quietly, and text the stream's
    encoding cannot represent (PYTHONIOENCODING=ascii, an old terminal) is written as
    backslash escapes instead of crashing."""
    if sys.stdout is None:
        sys.stdout = _ClosedStdout()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and not _is_unicode(stream) and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    if not isinstance(sys.stdout, _PipeGuard):
        sys.stdout = _PipeGuard(sys.stdout)


def is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def color_enabled(stream: IO[str]) -> bool:
    """Colour only on a terminal, and never with NO_COLOR (any value) or TERM=dumb."""
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def sanitize(text: str) -> str:
    """One printable line: newlines and tabs become spaces, other controls become '?'."""
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    return _CONTROL_CHARS.sub("?", text)


def sanitize_block(text: str) -> str:
    """Like sanitize, but keeps line breaks and tabs: for multi-line text shown on a terminal."""
    lines = text.replace("\r\n", "\n").split("\n")
    return "\n".join(_CONTROL_CHARS.sub("?", line.replace("\t", "    ")) for line in lines)


# Every message below may quote server text (a username, an error detail): all are sanitised.


def message(text: str) -> None:
    """A status line for humans, always on stderr so stdout stays pure data."""
    print(sanitize(text), file=sys.stderr, flush=True)


def warning(text: str) -> None:
    prefix = "\x1b[1;33mwarning:\x1b[0m" if color_enabled(sys.stderr) else "warning:"
    print(f"{prefix} {sanitize(text)}", file=sys.stderr, flush=True)


def debug_line(text: str) -> None:
    """--debug output: one line per request, response and retry, tokens already redacted."""
    print(f"debug: {sanitize(text)}", file=sys.stderr, flush=True)


def error_line(text: str) -> None:
    prefix = "\x1b[1;31mvh-lite: error:\x1b[0m" if color_enabled(sys.stderr) else "vh-lite: error:"
    print(f"{prefix} {sanitize(text)}", file=sys.stderr, flush=True)


def links_enabled(stream: IO[str]) -> bool:
    """OSC 8 hyperlinks: on a terminal that is not 'dumb' (others print them as garbage)."""
    return is_terminal(stream) and os.environ.get("TERM") != "dumb"


def _is_unicode(stream: object) -> bool:
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    return encoding in ("utf8", "utf16", "utf32")


# The line breaks json leaves raw (it escapes every C0 control already).
_LINE_BREAKS_IN_JSON = (("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\x85", "\\u0085"))


@functools.cache
def _encoder(compact: bool) -> json.JSONEncoder:
    """One encoder per style for the whole run: json.dumps with options builds a new one per
    call, which is most of the cost of writing 10,000 JSONL lines."""
    ascii_only = not _is_unicode(sys.stdout)
    if compact:
        return json.JSONEncoder(separators=(",", ":"), ensure_ascii=ascii_only)
    return json.JSONEncoder(indent=2, ensure_ascii=ascii_only)


def json_text(value: Any, *, compact: bool) -> str:
    """JSON as text: indented for people, compact (and much faster to encode) for programs.

    Non-ASCII stays readable when stdout can encode it, and is \\u-escaped otherwise, so
    output never fails on a terminal with a narrow encoding.
    """
    text = _encoder(compact).encode(value)
    if not text.isascii():
        # Valid raw in JSON, but line breaks to JavaScript and str.splitlines(): a JSONL
        # reader splitting on them would cut a record in two. Escaped, they decode the same.
        for raw, escaped in _LINE_BREAKS_IN_JSON:
            text = text.replace(raw, escaped)
        if not compact:
            # Indented JSON is for a terminal: C1 controls and bidi overrides from the data
            # would reach it raw (json escapes only C0). Escaped, the data is unchanged.
            text = _TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def write_line(text: str) -> None:
    """One line of data on stdout, through the guard that turns write failures into errors
    (typer.echo may bypass it and write to the raw buffer)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def write_json(value: Any) -> None:
    """JSON on stdout: indented on a terminal, compact in a pipe."""
    sys.stdout.write(json_text(value, compact=not is_terminal(sys.stdout)) + "\n")
    sys.stdout.flush()


def relative_time(iso: Any, now: datetime | None = None) -> str:
    """'3 days ago' for a timestamp; the raw text when it cannot be parsed; '' for none."""
    from datetime import datetime, timezone

    from .timestamps import parse_timestamp

    if iso is None or iso == "":
        return ""
    moment = parse_timestamp(iso)
    if moment is None:  # not a timestamp (text, a number, an object): show it as it is
        return sanitize(json.dumps(iso) if isinstance(iso, dict | list) else str(iso))
    seconds = ((now or datetime.now(timezone.utc)) - moment).total_seconds()
    if seconds < 0:
        return "just now" if seconds > -60 else moment.strftime("%Y-%m-%d")
    for unit, size in (
        ("year", 31_536_000),
        ("month", 2_592_000),
        ("day", 86_400),
        ("hour", 3_600),
        ("minute", 60),
    ):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"
