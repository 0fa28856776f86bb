"""Every output format, on the same data: they must agree with each other."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from valohai_cli_lite.commands.projects import PROJECT
from valohai_cli_lite.errors import UsageError
from valohai_cli_lite.render import write_record, write_records

TRICKY = 'commas, "quotes"\ttabs\nnewlines\r\nand ünïcødé [bold]markup[/bold] \x1b[31mred'
PROJECTS: list[dict[str, Any]] = [
    {"id": "p1", "name": "one", "description": TRICKY, "owner": {"id": 1, "username": "me"},
     "execution_count": 3, "last_execution_ctime": "2026-11-24T12:00:00Z",
     "ctime": "2026-01-01T00:00:00Z", "mtime": "2026-01-02T00:00:00Z",
     "urls": {"display": "https://app.example/p/me/one/"}, "extra": {"kept": True}},
    {"id": "p2", "name": "two", "description": None, "owner": None, "execution_count": 0,
     "last_execution_ctime": None, "ctime": None, "mtime": None},
]  # fmt: skip


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def render(fmt: str, fields: list[str] | None = None, pages: Any = None) -> str:
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdout", out)
        write_records(
            pages if pages is not None else [PROJECTS[:1], PROJECTS[1:]], fmt, PROJECT, fields
        )
    return out.getvalue()


def test_json_is_the_api_objects_untouched() -> None:
    assert json.loads(render("json")) == PROJECTS


def test_jsonl_is_one_compact_object_per_line() -> None:
    lines = render("jsonl").splitlines()
    assert [json.loads(line) for line in lines] == PROJECTS


@pytest.mark.parametrize(("fmt", "sep"), [("csv", ","), ("tsv", "\t")])
def test_delimited_round_trips(fmt: str, sep: str) -> None:
    rows = list(csv.reader(io.StringIO(render(fmt)), delimiter=sep))
    assert rows[0] == [
        "id",
        "name",
        "owner.username",
        "description",
        "execution_count",
        "last_execution_ctime",
        "ctime",
        "mtime",
    ]
    assert rows[1][3] == TRICKY
    assert rows[1][:3] == ["p1", "one", "me"]
    assert rows[2] == ["p2", "two", "", "", "0", "", "", ""]


def test_formats_agree_on_ids() -> None:
    from_json = [p["id"] for p in json.loads(render("json"))]
    from_jsonl = [json.loads(line)["id"] for line in render("jsonl").splitlines()]
    from_csv = [r["id"] for r in csv.DictReader(io.StringIO(render("csv")))]
    from_tsv = [r["id"] for r in csv.DictReader(io.StringIO(render("tsv")), delimiter="\t")]
    from_plain = [line.split("\t")[0] for line in render("plain", ["id"]).splitlines()]
    assert from_json == from_jsonl == from_csv == from_tsv == from_plain == ["p1", "p2"]


def test_fields_apply_to_every_format() -> None:
    fields = ["name", "owner.username"]
    assert json.loads(render("json", fields)) == [
        {"name": "one", "owner": {"username": "me"}},
        {"name": "two", "owner": {"username": None}},
    ]
    assert json.loads(render("jsonl", fields).splitlines()[0]) == {
        "name": "one",
        "owner": {"username": "me"},
    }
    assert render("csv", fields).splitlines() == ["name,owner.username", "one,me", "two,"]
    assert render("plain", fields).splitlines() == ["one\tme", "two\t"]


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "tsv", "plain", "table"])
def test_unknown_field_is_a_usage_error_before_any_output(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    with pytest.raises(UsageError) as info:
        write_records([PROJECTS], fmt, PROJECT, ["name", "bogus"])
    assert "unknown field: bogus" in info.value.message
    assert "owner.username" in info.value.message
    assert out.getvalue() == ""


def test_plain_lines_have_no_controls_and_no_truncation() -> None:
    lines = render("plain").splitlines()
    assert len(lines) == 2
    assert lines[0].split("\t") == [
        "one",
        "me",
        "3",
        "2026-11-24T12:00:00Z",
        'commas, "quotes" tabs newlines and ünïcødé [bold]markup[/bold] ?[31mred',
    ]


def test_table_shows_markup_literally_and_no_data_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    tty, terminal_stderr = FakeTTY(), FakeTTY()
    monkeypatch.setattr("sys.stdout", tty)
    monkeypatch.setattr("sys.stderr", terminal_stderr)
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("TERM", "dumb")
    marked = {**PROJECTS[1], "name": "[bold]n[/bold]\x1b]0;title\x07"}
    write_records([[PROJECTS[0], marked]], "table", PROJECT)
    text = tty.getvalue()
    assert "[bold]n[/bold]?]0;title?" in text
    assert "\x1b" not in text  # TERM=dumb: no colour, no links, nothing from the data
    assert "2 projects" in terminal_stderr.getvalue()


def test_empty_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert render("json", pages=[]) == "[]\n"
    assert render("jsonl", pages=[]) == ""
    assert render("csv", pages=[]).startswith("id,name")
    assert render("plain", pages=[]) == ""  # and nothing on a non-terminal stderr either
    terminal_stderr = FakeTTY()
    monkeypatch.setattr("sys.stderr", terminal_stderr)
    assert render("plain", pages=[]) == ""
    assert "No projects found." in terminal_stderr.getvalue()


def test_one_record_views(monkeypatch: pytest.MonkeyPatch) -> None:
    checks: list[tuple[str, Callable[[str], bool]]] = [
        ("json", lambda s: json.loads(s) == PROJECTS[0]),
        ("jsonl", lambda s: json.loads(s) == PROJECTS[0]),
        ("csv", lambda s: next(csv.DictReader(io.StringIO(s)))["description"] == TRICKY),
        ("plain", lambda s: "urls.display\thttps://app.example/p/me/one/" in s),
    ]
    for fmt, check in checks:
        out = io.StringIO()
        monkeypatch.setattr("sys.stdout", out)
        write_record(PROJECTS[0], fmt, PROJECT)
        assert check(out.getvalue()), fmt
    tty = FakeTTY()
    monkeypatch.setattr("sys.stdout", tty)
    monkeypatch.setenv("TERM", "dumb")
    write_record(PROJECTS[0], "table", PROJECT)
    panel = tty.getvalue()
    assert "https://app.example/p/me/one/" in panel
    assert "Executions" in panel
    assert "\x1b" not in panel
