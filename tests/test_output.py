from __future__ import annotations

import io
import json
from datetime import datetime, timezone

import pytest

from valohai_cli_lite import output


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


PROJECT = {
    "id": "p1",
    "name": "evil\x1b]8;;http://x\x07name\x1b[2J",
    "description": "a\tb\nc\r[bold]x",
    "owner": {"id": 1, "username": "me"},
    "execution_count": 3,
    "last_execution_ctime": "2026-11-24T12:00:00Z",
    "extra": {"kept": True},
}


def test_sanitize_removes_every_control_character() -> None:
    cleaned = output.sanitize("a\x1b[31mb\x07c\x08d\re\nf\tg\x9bh\x7f")
    assert all(ord(ch) >= 0x20 and not 0x7F <= ord(ch) <= 0x9F for ch in cleaned)
    assert cleaned.startswith("a?[31mb?c?d?e f g")


def test_relative_time() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
    assert output.relative_time("2026-11-24T12:00:00Z", now) == "3 days ago"
    assert output.relative_time("2026-11-27T11:59:30Z", now) == "just now"
    assert output.relative_time("2026-11-27T10:00:00+00:00", now) == "2 hours ago"
    assert output.relative_time(None, now) == ""
    assert output.relative_time("garbage\x1b", now) == "garbage?"


def test_json_keeps_data_exact(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    output.render_projects([PROJECT], as_json=True)
    assert json.loads(capsys.readouterr().out) == [PROJECT]


def test_piped_lines_are_plain(capsys: pytest.CaptureFixture[str]) -> None:
    output.render_projects([PROJECT, {"id": "p2"}], as_json=False)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].split("\t") == [
        "evil?]8;;http://x?name?[2J",
        "me",
        "3",
        "2026-11-24T12:00:00Z",
        "a b c?[bold]x",
    ]
    assert lines[1] == "\t\t\t\t"  # missing fields render empty, not as a crash


def test_table_on_a_terminal_has_no_control_chars_and_literal_markup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeTTY()
    monkeypatch.setattr("sys.stdout", fake)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    output.render_projects([PROJECT], as_json=False)
    text = fake.getvalue()
    assert "NAME" in text and "DESCRIPTION" in text
    assert "[bold]x" in text  # rich markup in data is shown literally
    # Styling of our own headers may remain (NO_COLOR is about colour); nothing from the data.
    assert "\x1b]8" not in text and "\x1b[2J" not in text and "\x07" not in text
    assert "\x1b[3" not in text  # no colour codes at all


def test_empty_table_message_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    output.render_projects([], as_json=False)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "No projects found" in captured.err


def test_color_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert output.color_enabled(FakeTTY())
    assert not output.color_enabled(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "")
    assert not output.color_enabled(FakeTTY())
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not output.color_enabled(FakeTTY())
