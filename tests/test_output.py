from __future__ import annotations

import io
import json
from datetime import datetime, timezone

import pytest

from valohai_cli_lite import output


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_sanitize_removes_every_control_character() -> None:
    cleaned = output.sanitize("a\x1b[31mb\x07c\x08d\re\nf\tg\x9bh\x7f")
    assert all(ord(ch) >= 0x20 and not 0x7F <= ord(ch) <= 0x9F for ch in cleaned)
    assert cleaned.startswith("a?[31mb?c?d?e f g")


def test_relative_time() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
    assert output.relative_time("2026-11-24T12:00:00Z", now) == "3 days ago"
    assert output.relative_time("2026-11-27T11:59:30Z", now) == "just now"
    assert output.relative_time("2026-11-27T10:00:00+00:00", now) == "2 hours ago"
    assert output.relative_time("2025-11-27T10:00:00+00:00", now) == "1 year ago"
    assert output.relative_time(None, now) == ""
    assert output.relative_time("garbage\x1b", now) == "garbage?"


def test_json_text_compact_and_pretty() -> None:
    data = {"name": "ünï\x1b", "n": [1, 2]}
    assert json.loads(output.json_text(data, compact=True)) == data
    assert "\n" not in output.json_text(data, compact=True)
    assert output.json_text(data, compact=False).startswith("{\n  ")


def test_write_json_is_indented_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    for stream, indented in ((FakeTTY(), True), (io.StringIO(), False)):
        monkeypatch.setattr("sys.stdout", stream)
        output.write_json([{"a": 1}])
        assert ("\n  " in stream.getvalue()) is indented


def test_color_and_link_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert output.color_enabled(FakeTTY())
    assert output.links_enabled(FakeTTY())
    assert not output.color_enabled(io.StringIO())
    assert not output.links_enabled(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "")
    assert not output.color_enabled(FakeTTY())
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not output.color_enabled(FakeTTY())
    assert not output.links_enabled(FakeTTY())


def test_json_escapes_the_line_breaks_it_would_leave_raw() -> None:
    data = {"d": "a\u2028b\u2029c\x85d\ne"}
    for compact in (True, False):
        text = output.json_text(data, compact=compact)
        assert json.loads(text) == data
        assert len(text.splitlines()) == (1 if compact else 3)


def test_indented_json_escapes_what_a_terminal_must_not_see() -> None:
    data = {"name": "a\u202eb\x9b31mc"}
    pretty = output.json_text(data, compact=False)
    assert "\u202e" not in pretty and "\x9b" not in pretty
    assert json.loads(pretty) == data
    assert "\u202e" in output.json_text(data, compact=True)  # programs get the data as is
