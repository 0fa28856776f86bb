"""The terminal table in-process: output/table.py through write_records with a simulated
terminal (widths, links, data shown literally, each page shown as it comes), and once
through the command line for a terminal that reports no width. (In a real pty:
terminal/test_terminal_table.py.)"""

from __future__ import annotations

import re
from typing import Any

from conftest import PROJECTS, InProcessCli

from valohai_cli_lite.kinds.projects import PROJECT
from valohai_cli_lite.output.render import OutputFormat, write_records
from valohai_cli_lite.output.table import WIDTH_SAMPLE
from valohai_cli_lite.terminal.iostreams import IOStreams


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
