"""Text for people and programs; nothing here asks whether a stream is a terminal."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime


# These character sets are compiled when first used, by re's own cache: most runs never need
# them, and compiling them all costs ~0.7 ms.
# Never raw on a terminal, besides the C0 controls: DEL and the C1 controls (U+009B alone
# starts an escape sequence on many terminals), the bidi controls that reorder what a person
# reads, the invisible characters that make two names look alike or hide text (zero-width
# ones and joiners, invisible operators, BOM, soft hyphen, Mongolian vowel separator, tags,
# Hangul fillers), and U+2028/U+2029, which break lines.
_HIDDEN = (
    r"\x7f-\x9f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064"
    r"\u2066-\u2069\u3164\ufeff\uffa0\U000e0000-\U000e007f"
)
_TERMINAL_UNSAFE = f"[{_HIDDEN}]"  # inside JSON text (json escapes every C0 control)
_CONTROL_CHARS = rf"[\x00-\x1f{_HIDDEN}]"
# Like _CONTROL_CHARS, but tab and newline may stay: they only move to the next column or line.
_UNSAFE_IN_CELLS = rf"[\x00-\x08\x0b-\x1f{_HIDDEN}]"
# The line breaks json leaves raw.
_LINE_BREAKS_IN_JSON = (("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\x85", "\\u0085"))


def sanitize(text: str) -> str:
    """One printable line: newlines and tabs become spaces, other controls become '?'."""
    # Answered in C. (Non-ASCII text is searched: isprintable() passes the Hangul fillers.)
    if text.isascii() and text.isprintable():
        return text
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    return re.sub(_CONTROL_CHARS, "?", text)


def terminal_safe(text: str) -> str:
    """CSV/TSV on a terminal: data cannot move the cursor, clear the screen or draw links."""
    return re.sub(_UNSAFE_IN_CELLS, "?", text)


def tsv_escape(text: str) -> str:
    """Never quoted: every record is one line with the same number of tab-separated fields."""
    # Four replace() scans (backslash first) cost a fifth of one str.translate with a table
    # that maps a character to two: ~0.5 s of a 100,000-project TSV listing.
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def sanitize_block(text: str) -> str:
    """Like sanitize, but keeps line breaks (tabs become four spaces)."""
    lines = text.replace("\r\n", "\n").split("\n")
    return "\n".join(re.sub(_CONTROL_CHARS, "?", line.replace("\t", "    ")) for line in lines)


def safe_link(value: Any, base: str | None) -> str | None:
    """A URL fit for an OSC 8 hyperlink or showing: http(s), printable, no whitespace. A
    relative one (some servers send `/p/alice/x/`) is resolved against `base`, else none."""
    if not isinstance(value, str) or not value or len(value) > 2048:
        return None
    url = value
    if url.startswith("/") and not url.startswith("//") and base:
        from urllib.parse import urljoin

        url = urljoin(base, url)
    # isprintable() is False for every control, line break and format character (bidi
    # marks) and for every space but " ": with the check for " ", no whitespace either.
    web = url.startswith(("https://", "http://"))
    return url if web and url.isprintable() and " " not in url else None


def json_text(
    value: Any, *, compact: bool, ascii_only: bool = False, terminal: bool = False
) -> str:
    """Compact is much faster to encode. `ascii_only` for a stream whose encoding cannot hold
    more; `terminal` escapes _HIDDEN. Either way the data decodes the same."""
    separators = (",", ":") if compact else None
    text = json.dumps(value, indent=None if compact else 2, separators=separators,
                      ensure_ascii=ascii_only)  # fmt: skip
    if not text.isascii():
        # Valid raw in JSON, but line breaks to JavaScript and str.splitlines(): a JSONL
        # reader splitting on them would cut a record in two. Escaped, they decode the same.
        for raw, escaped in _LINE_BREAKS_IN_JSON:
            text = text.replace(raw, escaped)
    if terminal:  # (DEL is ASCII, and json leaves it raw)
        text = re.sub(_TERMINAL_UNSAFE, _json_escape, text)
    return text


def _json_escape(match: re.Match[str]) -> str:
    """JSON's \\u escapes are UTF-16 code units: past U+FFFF, a surrogate pair."""
    units = match.group().encode("utf-16-be").hex()
    return "".join(f"\\u{units[at : at + 4]}" for at in range(0, len(units), 4))


_UNITS = {"year": 31_536_000, "month": 2_592_000, "day": 86_400, "hour": 3_600, "minute": 60}


def relative_time(iso: Any, now: datetime | None = None) -> str:
    """The raw text when it cannot be parsed; '' for none."""
    from datetime import datetime, timezone

    if iso is None or iso == "":
        return ""
    moment = parse_timestamp(iso)
    if moment is None:  # not a timestamp (text, a number, an object): show it as it is
        return sanitize(json.dumps(iso) if isinstance(iso, dict | list) else str(iso))
    seconds = ((now or datetime.now(timezone.utc)) - moment).total_seconds()
    if seconds < 0:
        return "just now" if seconds > -60 else moment.strftime("%Y-%m-%d")
    for unit, size in _UNITS.items():
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def duration_text(seconds: Any) -> str:
    """h:mm:ss (hours beyond a day keep counting); '' for anything else."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        return ""
    minutes, second = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{second:02d}"


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 (usually with a Z) as an aware datetime (UTC when the text names no zone)."""
    from datetime import datetime, timezone

    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        # Python 3.10 reads only 0, 3 or 6 fractional digits; servers send any of 1-6.
        padded = re.sub(r"(?<=:\d\d\.)\d{1,5}(?!\d)", lambda m: m[0].ljust(6, "0"), text)
        try:
            moment = datetime.fromisoformat(padded)
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
