"""output/render.py, unit: every output format on the same data, and they must agree with
each other. (The terminal table: test_table.py.)"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import PROJECTS, TRICKY, fake_streams, read_tsv, read_tsv_records

from valohai_cli_lite.kinds.projects import PROJECT
from valohai_cli_lite.output.render import OutputFormat, write_record, write_records


def render(fmt: str, fields: list[str] | None = None, pages: Any = None) -> str:
    io, _, out, _ = fake_streams()
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


def test_tsv_is_one_line_per_record_with_escapes_never_quotes() -> None:
    lines = render("tsv").split("\n")
    assert len(lines) == 4 and lines[-1] == ""
    assert all(line.count("\t") == 7 for line in lines[:-1])
    assert lines[1].split("\t")[3] == (
        'commas, "quotes"\\ttabs\\nnewlines\\r\\nand ünïcødé [bold]markup[/bold] \x1b[31mred'
    )


def test_delimited_data_on_a_terminal_shows_no_controls() -> None:
    for fmt in (OutputFormat.csv, OutputFormat.tsv):
        streams, _, out, _ = fake_streams(stdout_tty=True)
        write_records(streams, [PROJECTS], fmt, PROJECT)
        assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()
        assert "?[31mred" in out.getvalue()
    assert "\x1b[31m" in render("csv")  # in a pipe the data stays exact


def test_indented_json_closes_the_array_on_its_own_line_and_counts_only_for_people() -> None:
    io, _, out, err = fake_streams(stdout_tty=True)
    write_records(io, [PROJECTS], OutputFormat.json, PROJECT)
    assert out.getvalue().startswith("[\n  {\n") and out.getvalue().endswith("}\n]\n")
    assert json.loads(out.getvalue()) == PROJECTS
    io, _, out, err = fake_streams(stdout_tty=True, stderr_tty=False)
    write_records(io, [PROJECTS], OutputFormat.table, PROJECT)
    assert out.getvalue() and err.getvalue() == ""  # a script reading stderr sees nothing
    io, _, out, err = fake_streams(stdout_tty=True, stderr_tty=True)
    write_records(io, [PROJECTS], OutputFormat.table, PROJECT)
    assert err.getvalue() == "2 projects\n"


def test_a_nul_in_csv_is_written_on_every_python() -> None:
    # Python 3.10's csv writer refuses NUL; RFC 4180 allows it in a quoted field.
    project = {**PROJECTS[0], "name": 'a\0"b'}
    lines = render("csv", ["id", "name"], pages=[[project]]).splitlines()
    assert lines[1] in (f'{project["id"]},"a\0""b"', f'"{project["id"]}","a\0""b"')


def test_empty_listing() -> None:
    assert render("json", pages=[]) == "[]\n"
    assert render("jsonl", pages=[]) == ""
    assert render("csv", pages=[]).startswith("id,name")
    assert render("plain", pages=[]) == ""  # and nothing on a non-terminal stderr either
    io, _, out, err = fake_streams(stderr_tty=True)
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
        streams, _, out, _ = fake_streams()
        write_record(streams, PROJECTS[0], OutputFormat(fmt), PROJECT)
        assert check(out.getvalue()), fmt
    streams, _, out, _ = fake_streams(stdout_tty=True, environ={"TERM": "dumb"})
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
        streams, _, out, _ = fake_streams()
        write_records(streams, [many[:20], many[20:]], OutputFormat(fmt), PROJECT)
        assert [r["id"] for r in parse(out.getvalue())] == [r["id"] for r in many]
