"""Every output format, on the same data: they must agree with each other."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from conftest import read_tsv, read_tsv_records

from valohai_cli_lite.kinds.projects import PROJECT
from valohai_cli_lite.output.render import OutputFormat, write_record, write_records
from valohai_cli_lite.output.table import WIDTH_SAMPLE
from valohai_cli_lite.terminal.iostreams import IOStreams

TRICKY = 'commas, "quotes"\ttabs\nnewlines\r\nand ünïcødé [bold]markup[/bold] \x1b[31mred'
PROJECTS: list[dict[str, Any]] = [
    {"id": "p1", "name": "one", "description": TRICKY, "owner": {"id": 1, "username": "me"},
     "execution_count": 3, "last_execution_ctime": "2026-11-24T12:00:00Z",
     "ctime": "2026-01-01T00:00:00Z", "mtime": "2026-01-02T00:00:00Z",
     "urls": {"display": "https://app.example/p/me/one/"}, "extra": {"kept": True}},
    {"id": "p2", "name": "two", "description": None, "owner": None, "execution_count": 0,
     "last_execution_ctime": None, "ctime": None, "mtime": None},
]  # fmt: skip


def render(fmt: str, fields: list[str] | None = None, pages: Any = None) -> str:
    io, _, out, _ = IOStreams.test()
    chosen = pages if pages is not None else [PROJECTS[:1], PROJECTS[1:]]
    write_records(io, chosen, OutputFormat(fmt), PROJECT, fields)
    return out.getvalue()


def test_json_is_the_api_objects_untouched() -> None:
    assert json.loads(render("json")) == PROJECTS


def test_jsonl_is_one_compact_object_per_line() -> None:
    lines = render("jsonl").splitlines()
    assert [json.loads(line) for line in lines] == PROJECTS


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_delimited_round_trips(fmt: str) -> None:
    text = render(fmt)
    rows = list(csv.reader(io.StringIO(text))) if fmt == "csv" else read_tsv(text)
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
    from_tsv = [r["id"] for r in read_tsv_records(render("tsv"))]
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


def test_table_shows_markup_literally_and_no_data_escapes() -> None:
    io, _, out, err = IOStreams.test(
        stdout_tty=True, stderr_tty=True, environ={"TERM": "dumb"}, width=250
    )
    marked = {**PROJECTS[1], "name": "[bold]n[/bold]\x1b]0;title\x07"}
    write_records(io, [[PROJECTS[0], marked]], OutputFormat.table, PROJECT)
    text = out.getvalue()
    assert "[bold]n[/bold]?]0;title?" in text
    assert "\x1b" not in text  # TERM=dumb: no colour, no links, nothing from the data
    assert "2 projects" in err.getvalue()


def test_table_links_names_and_fits_the_width() -> None:
    io, _, out, _ = IOStreams.test(stdout_tty=True, environ={"TERM": "xterm"}, width=60)
    write_records(io, [PROJECTS], OutputFormat.table, PROJECT)
    text = out.getvalue()
    assert "\x1b]8;id=" in text and "https://app.example/p/me/one/" in text
    visible = re.sub(r"\x1b\]8;[^\x1b]*\x1b\\|\x1b\[[0-9;]*m", "", text)
    assert all(len(line) <= 60 for line in visible.splitlines())
    assert "…" in visible  # the description shrinks, cut with an ellipsis
    # Where the other columns leave it less, the description keeps its minimum width (and the
    # terminal wraps) rather than vanish.
    long_name = {**PROJECTS[0], "name": "n" * 45, "description": "0123456789abcdef"}
    io, _, out, _ = IOStreams.test(stdout_tty=True, environ={"TERM": "dumb"}, width=60)
    write_records(io, [[long_name]], OutputFormat.table, PROJECT)
    assert out.getvalue().splitlines()[1].endswith("  012345678…")


def test_tsv_is_one_line_per_record_with_escapes_never_quotes() -> None:
    lines = render("tsv").split("\n")
    assert len(lines) == 4 and lines[-1] == ""
    assert all(line.count("\t") == 7 for line in lines[:-1])
    assert lines[1].split("\t")[3] == (
        'commas, "quotes"\\ttabs\\nnewlines\\r\\nand ünïcødé [bold]markup[/bold] \x1b[31mred'
    )


def test_delimited_data_on_a_terminal_shows_no_controls() -> None:
    for fmt in (OutputFormat.csv, OutputFormat.tsv):
        streams, _, out, _ = IOStreams.test(stdout_tty=True)
        write_records(streams, [PROJECTS], fmt, PROJECT)
        assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()
        assert "?[31mred" in out.getvalue()
    assert "\x1b[31m" in render("csv")  # in a pipe the data stays exact


def test_empty_listing() -> None:
    assert render("json", pages=[]) == "[]\n"
    assert render("jsonl", pages=[]) == ""
    assert render("csv", pages=[]).startswith("id,name")
    assert render("plain", pages=[]) == ""  # and nothing on a non-terminal stderr either
    io, _, out, err = IOStreams.test(stderr_tty=True)
    write_records(io, [], OutputFormat.plain, PROJECT)
    assert out.getvalue() == ""
    assert "No projects found." in err.getvalue()


def test_one_record_views() -> None:
    checks: list[tuple[str, Callable[[str], bool]]] = [
        ("json", lambda s: json.loads(s) == PROJECTS[0]),
        ("jsonl", lambda s: json.loads(s) == PROJECTS[0]),
        ("csv", lambda s: next(csv.DictReader(io.StringIO(s)))["description"] == TRICKY),
        ("plain", lambda s: "urls.display\thttps://app.example/p/me/one/" in s),
    ]
    for fmt, check in checks:
        streams, _, out, _ = IOStreams.test()
        write_record(streams, PROJECTS[0], OutputFormat(fmt), PROJECT)
        assert check(out.getvalue()), fmt
    streams, _, out, _ = IOStreams.test(stdout_tty=True, environ={"TERM": "dumb"})
    write_record(streams, PROJECTS[0], OutputFormat.table, PROJECT)
    panel = out.getvalue()
    assert "https://app.example/p/me/one/" in panel
    assert "Executions" in panel
    assert "\x1b" not in panel


def test_a_big_listing_is_spooled_to_a_file_and_comes_out_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from valohai_cli_lite.output import render as rendering

    monkeypatch.setattr(rendering, "SPOOL_IN_MEMORY", 500)  # a few records spill to disk
    many = [{**PROJECTS[0], "id": f"p{i}"} for i in range(40)]
    for fmt, parse in (("json", json.loads),
                       ("csv", lambda s: list(csv.DictReader(io.StringIO(s))))):  # fmt: skip
        streams, _, out, _ = IOStreams.test()
        write_records(streams, [many[:20], many[20:]], OutputFormat(fmt), PROJECT)
        assert [r["id"] for r in parse(out.getvalue())] == [r["id"] for r in many]


def test_the_table_shows_each_page_before_waiting_for_the_next() -> None:
    streams, _, out, _ = IOStreams.test(stdout_tty=True, environ={"TERM": "dumb"})
    seen: list[str] = []  # what was on screen while the next page was awaited
    # Widths come from the first WIDTH_SAMPLE rows: a page of tiny pages is waited for until
    # there are that many, a page that holds them is printed at once.
    sizes = (2, 3, WIDTH_SAMPLE, 1)

    def pages() -> Any:
        for number, size in enumerate(sizes):
            yield [{**PROJECTS[0], "name": f"page{number}-{i}"} for i in range(size)]
            seen.append(out.getvalue())

    write_records(streams, pages(), OutputFormat.table, PROJECT)
    assert seen[0] == seen[1] == ""  # 2 + 3 rows: too few to measure the columns on
    assert all(f"page{p}-{i}" in seen[2] for p in range(3) for i in range(sizes[p]))
    assert "page3-0" not in seen[2] and "page3-0" in out.getvalue()
    assert len(out.getvalue().splitlines()) == 1 + sum(sizes)


def test_a_link_with_control_characters_never_reaches_the_terminal() -> None:
    hostile = {**PROJECTS[0], "urls": {"display": "https://app.example/p/x/\x1b[2J\x07"}}
    for fmt in ("table", "plain"):
        streams, _, out, _ = IOStreams.test(stdout_tty=True, environ={"TERM": "xterm"})
        write_records(streams, [[hostile]], OutputFormat(fmt), PROJECT)
        assert "\x1b[2J" not in out.getvalue() and "\x07" not in out.getvalue()
    streams, _, out, _ = IOStreams.test(stdout_tty=True, environ={"TERM": "xterm"})
    write_records(streams, [PROJECTS[:1]], OutputFormat.table, PROJECT)
    assert "\x1b]8;id=1;" in out.getvalue()  # a printable link is a link
