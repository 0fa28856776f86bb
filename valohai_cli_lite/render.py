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

from .fields import cell_text, get_path, select_fields, validate_fields
from .records import Record, RecordKind
from .text import relative_time, sanitize

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


def _write_delimited(
    io: IOStreams, records: Sequence[Record], columns: Sequence[str], sep: str
) -> None:
    # Quoting as the csv module does it, so values with separators, quotes or newlines survive a
    # round trip through any CSV reader.
    import csv
    import io as stringio

    # The csv module quotes a value holding "\r" only when "\r" is in the line terminator, so
    # rows are written with "\r\n" and the terminator is then turned into a Unix "\n".
    buffer = stringio.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    for row in chain(
        [list(columns)], ([cell_text(get_path(r, path)) for path in columns] for r in records)
    ):
        writer.writerow(row)
        io.write(buffer.getvalue()[:-2] + "\n")
        buffer.seek(0)
        buffer.truncate()
    io.flush()


def _write_plain(io: IOStreams, records: Sequence[Record], columns: Sequence[str]) -> None:
    # One line per record, tab-separated, no header, nothing truncated: for grep/cut/awk.
    for record in records:
        cells = (sanitize(cell_text(get_path(record, path))) for path in columns)
        io.write("\t".join(cells) + "\n")
    io.flush()


def _safe_link(value: Any) -> str | None:
    """A URL fit for an OSC 8 hyperlink: http(s), printable, no whitespace."""
    if not isinstance(value, str) or len(value) > 2048:
        return None
    if not value.startswith(("https://", "http://")):
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return None
    return value


def _cell_for_person(kind: RecordKind, path: str, value: Any) -> str:
    return relative_time(value) if path in kind.time_fields else sanitize(cell_text(value))


def _print_table(
    io: IOStreams, records: Sequence[Record], kind: RecordKind, columns: Sequence[tuple[str, str]]
) -> None:
    from rich.style import Style
    from rich.table import Table
    from rich.text import Text

    links = io.hyperlinks and kind.link_path is not None
    numeric = {
        path for path, _ in columns
        if any(isinstance(get_path(r, path), int | float) for r in records)
        and all(isinstance(get_path(r, path), int | float | None) for r in records)
    }  # fmt: skip
    paths = [path for path, _ in columns]
    flexible = kind.flexible_column if kind.flexible_column in paths else paths[-1]
    table = Table(header_style="bold", box=None, pad_edge=False)
    for path, header in columns:
        if path == flexible:
            # The one column that may shrink: rich squeezes wrappable columns to fit the width,
            # so it stays wrappable while each cell is cut to one line with "…".
            table.add_column(header, ratio=1)
        else:
            table.add_column(header, no_wrap=True, justify="right" if path in numeric else "left")
    for record in records:
        cells = []
        for path in paths:
            # Text(), not a str: rich markup in user data ("[bold]") must show literally.
            cell = Text(_cell_for_person(kind, path, get_path(record, path)), no_wrap=True,
                        overflow="ellipsis")  # fmt: skip
            if links and path == kind.link_column:
                url = _safe_link(get_path(record, kind.link_path or ""))
                if url:
                    cell.stylize(Style(link=url))
            cells.append(cell)
        table.add_row(*cells)
    io.console().print(table)


def _table_columns(kind: RecordKind, fields: Sequence[str] | None) -> list[tuple[str, str]]:
    if fields:
        return [(path, path.upper()) for path in fields]
    return list(kind.table_columns)


def write_records(
    io: IOStreams,
    pages: Iterable[list[Record]],
    fmt: OutputFormat,
    kind: RecordKind,
    fields: Sequence[str] | None = None,
) -> None:
    """Write a listing.

    JSONL streams page by page. Every other format first collects every page, so a failure
    midway leaves stdout empty rather than holding a list a script could mistake for whole.
    """
    page_iter = iter(pages)
    if fmt is OutputFormat.jsonl:
        first = next(page_iter, [])
        if fields:
            validate_fields(fields, kind.known_fields, first)
        for page in chain([first], page_iter):
            chosen = (select_fields(r, fields) if fields else r for r in page)
            io.write("".join(io.json_text(r, compact=True) + "\n" for r in chosen))
            io.flush()
        return

    records = [record for page in page_iter for record in page]
    if fields:
        validate_fields(fields, kind.known_fields, records)
    if fmt is OutputFormat.json:
        io.write_json([select_fields(r, fields) for r in records] if fields else records)
    elif fmt in (OutputFormat.csv, OutputFormat.tsv):
        sep = "," if fmt is OutputFormat.csv else "\t"
        _write_delimited(io, records, fields or kind.delimited_columns, sep)
    elif not records:
        if io.is_stderr_tty:  # status is for people; a script sees empty stdout
            io.message(f"No {kind.noun}s found.")
    elif fmt is OutputFormat.plain:
        _write_plain(io, records, [path for path, _ in _table_columns(kind, fields)])
    else:
        _print_table(io, records, kind, _table_columns(kind, fields))
        if io.is_stderr_tty:
            io.message(f"{len(records)} {kind.noun}{'s' if len(records) != 1 else ''}")


def write_record(
    io: IOStreams,
    record: Record,
    fmt: OutputFormat,
    kind: RecordKind,
    fields: Sequence[str] | None = None,
) -> None:
    """Write one object: JSON as an object, CSV/TSV as a header and a row, a panel for people."""
    if fields:
        validate_fields(fields, kind.known_fields, [record])
    if fmt is OutputFormat.json:
        io.write_json(select_fields(record, fields) if fields else record)
    elif fmt in (OutputFormat.jsonl, OutputFormat.csv, OutputFormat.tsv):
        write_records(io, [[record]], fmt, kind, fields)
    else:
        rows = [(path, path) for path in fields] if fields else list(kind.detail_rows)
        if fmt is OutputFormat.plain:
            for path, _ in rows:
                io.write(f"{path}\t{sanitize(cell_text(get_path(record, path)))}\n")
            io.flush()
        else:
            _print_detail(io, record, kind, rows)


def _print_detail(
    io: IOStreams, record: Record, kind: RecordKind, rows: Sequence[tuple[str, str]]
) -> None:
    from rich.panel import Panel
    from rich.style import Style
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for path, label in rows:
        value = get_path(record, path)
        text = sanitize(cell_text(value))
        if path in kind.time_fields and value:
            text = f"{text} ({relative_time(value)})"
        cell = Text(text)
        url = _safe_link(value) if path == kind.link_path else None
        if url and io.hyperlinks:
            cell.stylize(Style(link=url))
        grid.add_row(Text(label), cell)
    title = Text(sanitize(cell_text(get_path(record, kind.title_path))) or kind.noun)
    io.console().print(Panel(grid, title=title, title_align="left", expand=False))
