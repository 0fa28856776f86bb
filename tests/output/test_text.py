"""text.py, unit: sanitising, JSON text and relative times, independent of any stream."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest

from valohai_cli_lite import text


def test_sanitize_removes_every_control_character() -> None:
    cleaned = text.sanitize("a\x1b[31mb\x07c\x08d\re\nf\tg\x9bh\x7f")
    assert all(ord(ch) >= 0x20 and not 0x7F <= ord(ch) <= 0x9F for ch in cleaned)
    assert cleaned.startswith("a?[31mb?c?d?e f g")


def test_sanitize_block_keeps_lines() -> None:
    assert text.sanitize_block("a\r\nb\tc\x1b") == "a\nb    c?"


def test_relative_time() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
    assert text.relative_time("2026-11-24T12:00:00Z", now) == "3 days ago"
    assert text.relative_time("2026-11-27T11:59:30Z", now) == "just now"
    assert text.relative_time("2026-11-27T10:00:00+00:00", now) == "2 hours ago"
    assert text.relative_time("2025-11-27T10:00:00+00:00", now) == "1 year ago"
    assert text.relative_time("2026-11-27T12:00:30Z", now) == "just now"  # clocks differ
    assert text.relative_time("2027-01-01T00:00:00Z", now) == "2027-01-01"
    assert text.relative_time(None, now) == ""
    assert text.relative_time("garbage\x1b", now) == "garbage?"
    assert text.relative_time({"a": 1}, now) == '{"a": 1}'


class _Python310Datetime(datetime):
    """datetime.fromisoformat as strict as Python 3.10's: 0, 3 or 6 fractional digits only."""

    @classmethod
    def fromisoformat(cls, date_string: str) -> _Python310Datetime:
        fraction = re.search(r"\.(\d+)", date_string)
        if (fraction and len(fraction[1]) not in (3, 6)) or date_string.endswith("Z"):
            raise ValueError(f"Invalid isoformat string: {date_string!r}")
        return super().fromisoformat(date_string)


@pytest.mark.parametrize("strict", [False, True], ids=["this-python", "python-3.10"])
@pytest.mark.parametrize("digits", range(7))
@pytest.mark.parametrize("zone", ["Z", "+00:00", ""])
def test_timestamps_with_any_number_of_fractional_digits(
    monkeypatch: pytest.MonkeyPatch, strict: bool, digits: int, zone: str
) -> None:
    # Servers send 1-6 digits ("…05.12Z"): shown as "… ago", not raw, on every Python.
    if strict:
        monkeypatch.setattr("datetime.datetime", _Python310Datetime)
    fraction = "123456"[:digits]
    stamp = f"2026-11-24T11:59:55{'.' if digits else ''}{fraction}{zone}"
    moment = text.parse_timestamp(stamp)
    assert moment is not None and moment.tzinfo is not None
    assert moment.microsecond == int(fraction.ljust(6, "0"))
    now = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
    assert text.relative_time(stamp, now) == "3 days ago"
    assert text.parse_timestamp("2026-11-24 noon") is None


def test_json_text_compact_and_pretty() -> None:
    data = {"name": "ünï\x1b", "n": [1, 2]}
    assert json.loads(text.json_text(data, compact=True)) == data
    assert "\n" not in text.json_text(data, compact=True)
    assert text.json_text(data, compact=False).startswith("{\n  ")


def test_ascii_only_json_escapes_and_does_not_depend_on_call_order() -> None:
    # The encoder cache is keyed on every option: an ASCII-only call first must not make a
    # later UTF-8 call escape (nor the other way round).
    data = {"d": "日本"}
    assert text.json_text(data, compact=True, ascii_only=True) == '{"d":"\\u65e5\\u672c"}'
    assert text.json_text(data, compact=True) == '{"d":"日本"}'
    assert text.json_text(data, compact=True, ascii_only=True).isascii()


def test_json_escapes_the_line_breaks_it_would_leave_raw() -> None:
    data = {"d": "a\u2028b\u2029c\x85d\ne"}
    for compact in (True, False):
        encoded = text.json_text(data, compact=compact)
        assert json.loads(encoded) == data
        assert len(encoded.splitlines()) == (1 if compact else 3)


# One of each kind of character that must not reach a terminal raw: C1 (CSI), DEL, bidi
# override, zero-width space, BOM, soft hyphen, a tag character, a Hangul filler.
HIDDEN = "\x9b\x7f\u202e\u200b\ufeff\u00ad\U000e0041\u3164"


@pytest.mark.parametrize("compact", [True, False])
def test_json_for_a_terminal_escapes_what_it_must_not_see(compact: bool) -> None:
    data = {"name": f"a{HIDDEN}b", "nested": [f"x{HIDDEN}"]}
    shown = text.json_text(data, compact=compact, terminal=True)
    assert shown.isascii() and not any(character in shown for character in HIDDEN)
    assert "\\u202e" in shown and "\\udb40\\udc41" in shown  # JSON's own escapes
    assert json.loads(shown) == data
    exact = text.json_text(data, compact=compact)  # programs get the data as is
    assert all(character in exact for character in HIDDEN) and json.loads(exact) == data


def test_every_hidden_character_is_replaced_in_text_for_people() -> None:
    assert text.sanitize(f"a{HIDDEN}b") == "a" + "?" * len(HIDDEN) + "b"
    assert text.terminal_safe(f"a\t{HIDDEN}\n") == "a\t" + "?" * len(HIDDEN) + "\n"
    assert text.sanitize("Zoë 日本") == "Zoë 日本"  # letters are not hidden characters
