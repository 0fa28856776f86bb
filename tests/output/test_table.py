"""The terminal table in-process: output/table.py through write_records with a simulated
terminal (widths, links, data shown literally, each page shown as it comes), and once
through the command line for a terminal that reports no width. (In a real pty:
terminal/test_terminal_table.py.)"""

from __future__ import annotations

import re
from typing import Any

from conftest import PROJECTS, InProcessCli, fake_streams, screen
from rich.cells import cell_len

from valohai_cli_lite.emulator.data import make_project
from valohai_cli_lite.emulator.executions import make_environment, make_execution
from valohai_cli_lite.kinds.environments import ENVIRONMENT
from valohai_cli_lite.kinds.executions import EXECUTION
from valohai_cli_lite.kinds.kind import RecordKind
from valohai_cli_lite.kinds.projects import PROJECT
from valohai_cli_lite.output.render import OutputFormat, write_records
from valohai_cli_lite.output.table import WIDTH_SAMPLE


def test_table_shows_markup_literally_and_no_data_escapes() -> None:
    io, _, out, err = fake_streams(
        stdout_tty=True, stderr_tty=True, environ={"TERM": "dumb"}, width=250
    )
    marked = {**PROJECTS[1], "name": "[bold]n[/bold]\x1b]0;title\x07"}
    write_records(io, [[PROJECTS[0], marked]], OutputFormat.table, PROJECT)
    text = out.getvalue()
    assert "[bold]n[/bold]?]0;title?" in text
    assert "\x1b" not in text  # TERM=dumb: no colour, no links, nothing from the data
    assert "2 projects" in err.getvalue()


def test_table_links_names_and_fits_the_width() -> None:
    io, _, out, _ = fake_streams(stdout_tty=True, environ={"TERM": "xterm"}, width=60)
    write_records(io, [PROJECTS], OutputFormat.table, PROJECT)
    text = out.getvalue()
    assert "\x1b]8;id=" in text and "https://app.example/p/me/one/" in text
    visible = re.sub(r"\x1b\]8;[^\x1b]*\x1b\\|\x1b\[[0-9;]*m", "", text)
    assert all(len(line) <= 60 for line in visible.splitlines())
    assert "…" in visible  # the description shrinks, cut with an ellipsis
    # Where the other columns leave it less, the description keeps its minimum width (and the
    # terminal wraps) rather than vanish.
    long_name = {**PROJECTS[0], "name": "n" * 45, "description": "0123456789abcdef"}
    io, _, out, _ = fake_streams(stdout_tty=True, environ={"TERM": "dumb"}, width=60)
    write_records(io, [[long_name]], OutputFormat.table, PROJECT)
    assert out.getvalue().splitlines()[1].endswith("  012345678…")


def test_the_table_shows_each_page_before_waiting_for_the_next() -> None:
    streams, _, out, _ = fake_streams(stdout_tty=True, environ={"TERM": "dumb"})
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
        streams, _, out, _ = fake_streams(stdout_tty=True, environ={"TERM": "xterm"})
        write_records(streams, [[hostile]], OutputFormat(fmt), PROJECT)
        assert "\x1b[2J" not in out.getvalue() and "\x07" not in out.getvalue()
    streams, _, out, _ = fake_streams(stdout_tty=True, environ={"TERM": "xterm"})
    write_records(streams, [PROJECTS[:1]], OutputFormat.table, PROJECT)
    assert "\x1b]8;id=1;" in out.getvalue()  # a printable link is a link


def test_a_terminal_that_reports_no_width_still_gets_the_table(
    cli: InProcessCli, env: dict[str, str]
) -> None:
    for width, columns in ((0, None), (None, "0")):
        extra = {"COLUMNS": columns} if columns else {}
        result = cli.run("projects", "list", "--limit", "3", width=width, stdout_tty=True,
                         env=extra)  # fmt: skip
        assert "project-0003" in result.stdout, (width, columns)
        shown = re.sub(r"\x1b\]8;[^\x1b]*\x1b\\|\x1b\[[0-9;]*m", "", result.stdout)
        assert max(len(line) for line in shown.splitlines()) <= 80


# --- narrow terminals ------------------------------------------------------------------------

# Project columns from the most to the least useful: a narrowing terminal loses them from the
# end, NAME never.
PROJECT_HEADERS = ["NAME", "OWNER", "EXECUTIONS", "LAST RUN", "DESCRIPTION"]


def _table(kind: RecordKind, records: list[dict[str, Any]], width: int) -> list[str]:
    """The table's lines as a terminal `width` cells wide shows them."""
    io, _, out, _ = fake_streams(stdout_tty=True, environ={"TERM": "dumb"}, width=width)
    write_records(io, [records], OutputFormat.table, kind)
    return out.getvalue().splitlines()


def _headers(line: str, known: list[str]) -> list[str]:
    """The full names of the columns a header line shows (a header may be cut with '…')."""
    shown = re.split(r" {2,}", line.strip())
    return [next(h for h in known if h.startswith(cell.removesuffix("…"))) for cell in shown]


def _fits(lines: list[str], width: int) -> bool:
    return all(cell_len(line) <= width for line in lines)


def test_a_narrowing_terminal_drops_the_least_useful_columns_first_and_keeps_the_name() -> None:
    records = [make_project(i, "https://app.example") for i in range(12)]
    seen: list[list[str]] = []
    for width in range(130, 0, -1):
        lines = _table(PROJECT, records, width)
        assert _fits(lines, width), (width, lines)  # nothing wraps at any width
        headers = _headers(lines[0], PROJECT_HEADERS)
        assert headers == PROJECT_HEADERS[: len(headers)], (width, headers)
        if not seen or headers != seen[-1]:
            seen.append(headers)
        for record, line in zip(records, lines[1:], strict=True):
            name = line.split("  ")[0]
            readable = min(len(record["name"]), 16, width)
            assert record["name"].startswith(name.removesuffix("…"))
            assert cell_len(name) >= readable, (width, line)
    # Every column was shown at some width and went at a narrower one, DESCRIPTION first.
    assert [len(headers) for headers in seen] == [5, 4, 3, 2, 1]


def test_a_long_name_keeps_sixteen_cells_before_other_columns_go() -> None:
    records = [{**make_project(i, "https://app.example"),
                "name": f"an-experiment-with-a-long-name-{i:04d}"} for i in range(4)]  # fmt: skip
    for width in (20, 30, 40, 60, 100):
        lines = _table(PROJECT, records, width)
        assert _fits(lines, width), (width, lines)
        names = [line.split("  ")[0] for line in lines[1:]]
        assert all(len(name) >= 16 and name.startswith("an-experiment-w") for name in names)
    assert _headers(_table(PROJECT, records, 40)[0], PROJECT_HEADERS) == PROJECT_HEADERS[:3]
    assert _headers(_table(PROJECT, records, 20)[0], PROJECT_HEADERS) == ["NAME"]


def test_executions_and_environments_fit_every_width() -> None:
    executions = [make_execution(1, counter, "https://app.example") for counter in range(1, 13)]
    environments = [make_environment(number, "https://app.example") for number in range(8)]
    for kind, records, first in ((EXECUTION, executions, "#"),
                                 (ENVIRONMENT, environments, "NAME")):  # fmt: skip
        for width in range(120, 4, -1):
            lines = _table(kind, records, width)
            assert _fits(lines, width), (kind.noun, width, lines)
            assert lines[0].split()[0] == first, (kind.noun, width, lines[0])


def test_the_commands_fit_a_narrow_terminal_given_by_its_size_or_columns(
    cli: InProcessCli, env: dict[str, str]
) -> None:
    commands = (["projects", "list", "--limit", "20"],
                ["executions", "list", "--project", "project-0002", "--limit", "20"],
                ["environments", "list"])  # fmt: skip
    for width in (20, 30, 40, 60, 100):
        for size, columns in ((width, None), (250, str(width))):
            for args in commands:
                extra = {"COLUMNS": columns} if columns else {}
                result = cli.run(*args, stdout_tty=True, width=size, env=extra)
                assert result.returncode == 0, result.stderr
                lines = screen(result.stdout).splitlines()
                assert len(lines) > 1 and _fits(lines, width), (args, width, lines)
    at_40 = screen(cli.run(*commands[0], stdout_tty=True, width=40).stdout).splitlines()
    assert _headers(at_40[0], PROJECT_HEADERS) == ["NAME", "OWNER", "EXECUTIONS"]
    assert [line.split()[0] for line in at_40[1:4]] == [
        "project-0001", "project-0002", "project-0003",
    ]  # fmt: skip
