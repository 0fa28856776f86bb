"""Rendering API objects in every output format: table, plain lines, JSON, JSONL, CSV, TSV.

Commands pass pages of plain dicts plus the RecordKind that describes them; this module picks
the fields, validates --fields, and writes through IOStreams. Data goes to stdout; the two
status lines for people (the count under a table, "No projects found.") go to stderr, on a
terminal only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum
from itertools import chain
from typing import TYPE_CHECKING, Any

from .fields import cell_text, get_path, select_fields
from .records import Column, Record, RecordKind
from .text import relative_time, sanitize, terminal_safe, tsv_escape

if TYPE_CHECKING:
    from .iostreams import IOStreams


class OutputFormat(str, Enum):
    table = "table"
    # One record per line, tab-separated, no header, nothing cut: what a pipe gets when no
    # format was asked for.
    plain = "plain"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"


def resolve_format(
    io: IOStreams, explicit: OutputFormat | None, *, json_flag: bool
) -> OutputFormat:
    if json_flag:
        return OutputFormat.json
    if explicit is not None:
        return explicit
    return OutputFormat.table if io.is_stdout_tty else OutputFormat.plain


def _write_csv(io: IOStreams, rows: Iterable[list[str]]) -> None:
    # RFC 4180 quoting as the csv module does it, so values with commas, quotes or newlines
    # survive a round trip through any CSV reader.
    import csv
    import io as stringio

    # The csv module quotes a value holding "\r" only when "\r" is in the line terminator, so
    # rows are written with "\r\n" and the terminator is then turned into a Unix "\n".
    buffer = stringio.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
        io.write(buffer.getvalue()[:-2] + "\n")
        buffer.seek(0)
        buffer.truncate()


def _write_delimited(
    io: IOStreams, records: Sequence[Record], columns: Sequence[Column], fmt: OutputFormat
) -> None:
    """CSV (RFC 4180) or TSV (one line per record, `\\t \\n \\r \\\\` escaped, never quoted),
    a header row of field paths first. On a terminal, controls in the data are shown as '?'."""
    cells = ([cell_text(column.of(r)) for column in columns] for r in records)
    rows: Iterable[list[str]] = chain([[column.header for column in columns]], cells)
    if io.is_stdout_tty:
        rows = ([terminal_safe(cell) for cell in row] for row in rows)
    if fmt is OutputFormat.csv:
        _write_csv(io, rows)
    else:
        for row in rows:
            io.write("\t".join(tsv_escape(cell) for cell in row) + "\n")
    io.flush()


def _write_plain(io: IOStreams, records: Sequence[Record], columns: Sequence[Column]) -> None:
    # One line per record, tab-separated, no header, nothing truncated: for grep/cut/awk.
    for record in records:
        cells = (sanitize(cell_text(column.of(record))) for column in columns)
        io.write("\t".join(cells) + "\n")
    io.flush()


def safe_link(value: Any, base: str | None) -> str | None:
    """A URL fit for an OSC 8 hyperlink or for showing as a link: http(s), printable, no
    whitespace. A relative one (some servers send `/p/alice/x/`) is resolved against `base`,
    the host; without a base it is no link at all."""
    if not isinstance(value, str) or not value or len(value) > 2048:
        return None
    url: str = value
    if url.startswith("/") and not url.startswith("//") and base:
        from urllib.parse import urljoin

        url = urljoin(base, url)
    if not url.startswith(("https://", "http://")):
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return None
    return url


def _cell_for_person(kind: RecordKind, path: str, value: Any) -> str:
    return relative_time(value) if path in kind.time_fields else sanitize(cell_text(value))


def _print_table(
    io: IOStreams,
    records: Sequence[Record],
    kind: RecordKind,
    columns: Sequence[Column],
    link_base: str | None,
) -> None:
    from rich.style import Style
    from rich.table import Table
    from rich.text import Text

    links = io.hyperlinks and kind.link_path is not None
    rows = [[column.of(record) for column in columns] for record in records]
    numeric = {
        i for i in range(len(columns))
        if any(isinstance(row[i], int | float) for row in rows)
        and all(isinstance(row[i], int | float | None) for row in rows)
    }  # fmt: skip
    paths = [column.path for column in columns]
    flexible = kind.flexible_column if kind.flexible_column in paths else paths[-1]
    table = Table(header_style="bold", box=None, pad_edge=False)
    for i, column in enumerate(columns):
        if column.path == flexible:
            # The one column that may shrink: rich squeezes wrappable columns to fit the width,
            # so it stays wrappable while each cell is cut to one line with "…".
            table.add_column(column.header, ratio=1)
        else:
            table.add_column(column.header, no_wrap=True,
                             justify="right" if i in numeric else "left")  # fmt: skip
    for record, values in zip(records, rows, strict=True):
        cells = []
        for path, value in zip(paths, values, strict=True):
            # Text(), not a str: rich markup in user data ("[bold]") must show literally.
            cell = Text(_cell_for_person(kind, path, value), no_wrap=True, overflow="ellipsis")
            if links and path == kind.link_column:
                url = safe_link(get_path(record, kind.link_path or ""), link_base)
                if url:
                    cell.stylize(Style(link=url))
            cells.append(cell)
        table.add_row(*cells)
    io.console().print(table)


def _table_columns(kind: RecordKind, fields: Sequence[str] | None) -> list[Column]:
    if fields:
        return [Column(path.upper(), path) for path in fields]
    return list(kind.table_columns)


def write_records(
    io: IOStreams,
    pages: Iterable[list[Record]],
    fmt: OutputFormat,
    kind: RecordKind,
    fields: Sequence[str] | None = None,
    *,
    link_base: str | None = None,
) -> None:
    """Write a listing. `link_base` (the host) resolves relative links for people; data
    formats carry every value as the server sent it.

    JSONL streams page by page. Every other format first collects every page, so a failure
    midway leaves stdout empty rather than holding a list a script could mistake for whole.
    """
    page_iter = iter(pages)
    if fmt is not OutputFormat.table:
        io.use_utf8()
    if fmt is OutputFormat.jsonl:
        for page in page_iter:
            chosen = (select_fields(r, fields) if fields else r for r in page)
            io.write("".join(io.json_text(r, compact=True) + "\n" for r in chosen))
            io.flush()
        return

    records = [record for page in page_iter for record in page]
    if fmt is OutputFormat.json:
        io.write_json([select_fields(r, fields) for r in records] if fields else records)
    elif fmt in (OutputFormat.csv, OutputFormat.tsv):
        columns = [Column(path, path) for path in fields] if fields else kind.delimited_columns
        _write_delimited(io, records, columns, fmt)
    elif not records:
        if io.is_stderr_tty:  # status is for people; a script sees empty stdout
            io.message(f"No {kind.noun}s found.")
    elif fmt is OutputFormat.plain:
        _write_plain(io, records, _table_columns(kind, fields))
    else:
        _print_table(io, records, kind, _table_columns(kind, fields), link_base)
        if io.is_stderr_tty:
            io.message(f"{len(records)} {kind.noun}{'s' if len(records) != 1 else ''}")


def write_record(
    io: IOStreams,
    record: Record,
    fmt: OutputFormat,
    kind: RecordKind,
    fields: Sequence[str] | None = None,
    *,
    link_base: str | None = None,
    view: Record | None = None,
) -> None:
    """Write one object: JSON as an object, CSV/TSV as a header and a row, a panel for people.

    JSON and JSONL carry `record` exactly as the server sent it; the other formats show
    `view` when given (the record with what it leaves null filled in from elsewhere).
    """
    if fmt is not OutputFormat.table:
        io.use_utf8()
    if fmt in (OutputFormat.json, OutputFormat.jsonl):
        chosen = select_fields(record, fields) if fields else record
        io.write_line(
            io.json_text(chosen, compact=fmt is OutputFormat.jsonl or not io.is_stdout_tty)
        )
        return
    record = view if view is not None else record
    if fmt in (OutputFormat.csv, OutputFormat.tsv):
        write_records(io, [[record]], fmt, kind, fields)
    else:
        rows = [Column(path, path) for path in fields] if fields else _detail_rows(kind, record)
        if fmt is OutputFormat.plain:
            for row in rows:
                io.write(f"{row.path}\t{sanitize(cell_text(row.of(record)))}\n")
            io.flush()
        else:
            _print_detail(io, record, kind, rows, link_base)


def _detail_rows(kind: RecordKind, record: Record) -> list[Column]:
    return [row for row in kind.detail_rows if not (row.optional and row.of(record) in (None, ""))]


def _print_detail(
    io: IOStreams,
    record: Record,
    kind: RecordKind,
    rows: Sequence[Column],
    link_base: str | None,
) -> None:
    from rich.panel import Panel
    from rich.style import Style
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for row in rows:
        value = row.of(record)
        url = safe_link(value, link_base) if row.path == kind.link_path else None
        text = sanitize(cell_text(url or (None if row.path == kind.link_path else value)))
        if row.path in kind.time_fields and value:
            text = f"{text} ({relative_time(value)})"
        cell = Text(text)
        if url and io.hyperlinks:
            cell.stylize(Style(link=url))
        grid.add_row(Text(row.header), cell)
    title = Text(sanitize(cell_text(get_path(record, kind.title_path))) or kind.noun)
    io.console().print(Panel(grid, title=title, title_align="left", expand=False))
