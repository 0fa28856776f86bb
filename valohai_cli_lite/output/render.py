"""Records in every output format. Data goes to stdout; the status lines for people (the count
under a table, "No projects found.") go to stderr, on a terminal only."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from enum import Enum
from itertools import chain
from typing import TYPE_CHECKING

from ..kinds.fields import cell_text, select_fields
from ..kinds.kind import Column, Record, RecordKind, blank
from ..text import relative_time, safe_link, sanitize, terminal_safe, tsv_escape

if TYPE_CHECKING:
    from ..terminal.iostreams import IOStreams

SPOOL_IN_MEMORY = 8 << 20  # rendered output kept in memory before a temporary file takes it


class OutputFormat(str, Enum):
    table = "table"
    plain = "plain"  # one record per line, tab-separated, nothing cut: a pipe's default
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"


def resolve_format(
    io: IOStreams, explicit: OutputFormat | None, *, json_flag: bool
) -> OutputFormat:
    if json_flag:
        return OutputFormat.json
    return explicit or (OutputFormat.table if io.is_stdout_tty else OutputFormat.plain)


# What a spreadsheet takes for the start of a formula (=HYPERLINK(...) would be a live link).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _delimited_pages(
    io: IOStreams, pages: Iterable[list[Record]], columns: Sequence[Column], fmt: OutputFormat
) -> Iterator[str]:
    """CSV (RFC 4180) or TSV, a header row of field paths first. In CSV, text a spreadsheet
    would run as a formula gets a leading `'`, as OWASP advises, so it shows as the text it
    is. Numbers stay numbers (-2); TSV, JSON and JSONL stay exact."""
    import csv
    import io as stringio

    def neutralised(value: object) -> str:
        text = cell_text(value)
        return "'" + text if isinstance(value, str) and text.startswith(FORMULA_STARTS) else text

    # VH_CSV_FORMULAS=keep: CSV text exactly as the server sent it, formulas and all.
    keep = io.environ.get("VH_CSV_FORMULAS", "").strip().lower() == "keep"
    cell = neutralised if fmt is OutputFormat.csv and not keep else cell_text

    # The csv module quotes a value holding "\r" only when "\r" is in the line terminator, so
    # rows are written with "\r\n" and the terminator is then turned into a Unix "\n".
    buffer = stringio.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = [[column.header for column in columns]]
    for rows in chain([header], ([[cell(c.of(r)) for c in columns] for r in p] for p in pages)):
        if io.is_stdout_tty:
            rows = [[terminal_safe(cell) for cell in row] for row in rows]
        if fmt is OutputFormat.tsv:
            yield "".join("\t".join(tsv_escape(cell) for cell in row) + "\n" for row in rows)
            continue
        lines = []
        for row in rows:
            try:
                writer.writerow(row)
            except csv.Error:  # Python 3.10's writer refuses NUL, which RFC 4180 allows quoted
                buffer.write(",".join('"' + c.replace('"', '""') + '"' for c in row) + "\r\n")
            lines.append(buffer.getvalue()[:-2] + "\n")
            buffer.seek(0)
            buffer.truncate()
        yield "".join(lines)


def _plain_pages(pages: Iterable[list[Record]], columns: Sequence[Column]) -> Iterator[str]:
    for page in pages:  # for grep, cut and awk: no header
        yield "".join(
            "\t".join(sanitize(cell_text(column.of(r))) for column in columns) + "\n" for r in page
        )


def _json_pages(io: IOStreams, pages: Iterable[list[Record]]) -> Iterator[str]:
    """One JSON array, as json.dumps writes a list."""
    compact = not io.is_stdout_tty
    separator = "," if compact else ",\n"
    started = False
    yield "["
    for page in filter(None, pages):
        lead = separator if started else separator[1:]  # no comma before the first
        text = lead + separator.join(io.json_text(record, compact=compact) for record in page)
        yield text if compact else text.replace("\n", "\n  ")  # JSON escapes its own
        started = True
    yield "]\n" if compact or not started else "\n]\n"


def _table_columns(kind: RecordKind, fields: Sequence[str] | None) -> list[Column]:
    return [Column(path.upper(), path) for path in fields] if fields else list(kind.table_columns)


def write_records(
    io: IOStreams,
    pages: Iterable[list[Record]],
    fmt: OutputFormat,
    kind: RecordKind,
    fields: Sequence[str] | None = None,
    *,
    link_base: str | None = None,
) -> None:
    """`link_base` (the host) resolves relative links for people. JSONL and the table stream;
    the rest is spooled and written once every page is in: a failure midway leaves stdout
    empty, not a list a script could mistake for whole, and memory holds text, not records."""
    if fmt is not OutputFormat.table:
        io.use_utf8()
    if fmt is OutputFormat.jsonl:
        for page in pages:
            chosen = (select_fields(r, fields) if fields else r for r in page)
            io.write("".join(io.json_text(r, compact=True) + "\n" for r in chosen))
            io.flush()
        return
    if fmt is OutputFormat.table:
        from .table import stream_table

        count = stream_table(io, pages, kind, _table_columns(kind, fields), link_base)
        if io.is_stderr_tty:  # status is for people; a script sees nothing extra
            plural = "" if count == 1 else "s"
            io.message(f"{count} {kind.noun}{plural}" if count else f"No {kind.noun}s found.")
        return
    if fmt is OutputFormat.json:
        if fields:
            pages = ([select_fields(r, fields) for r in page] for page in pages)
        chunks = _json_pages(io, pages)
    elif fmt in (OutputFormat.csv, OutputFormat.tsv):
        columns = [Column(path, path) for path in fields] if fields else kind.delimited_columns
        chunks = _delimited_pages(io, pages, columns, fmt)
    else:
        chunks = _plain_pages(pages, _table_columns(kind, fields))
    _spooled(
        io, chunks, empty_message=f"No {kind.noun}s found." if fmt is OutputFormat.plain else None
    )


def _spooled(io: IOStreams, chunks: Iterable[str], *, empty_message: str | None) -> None:
    import tempfile

    with tempfile.SpooledTemporaryFile(
        SPOOL_IN_MEMORY, "w+", encoding="utf-8", newline=""
    ) as spool:
        for chunk in chunks:
            spool.write(chunk)
        if not spool.tell():
            if empty_message and io.is_stderr_tty:
                io.message(empty_message)
            return
        io.page()
        spool.seek(0)
        while block := spool.read(1 << 16):
            io.write(block)
        io.flush()


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
    """JSON carries `record` as sent; the others show `view` (its nulls filled in) when given."""
    if fmt is not OutputFormat.table:
        io.use_utf8()
    if fmt in (OutputFormat.json, OutputFormat.jsonl):
        chosen = select_fields(record, fields) if fields else record
        compact = fmt is OutputFormat.jsonl or not io.is_stdout_tty
        return io.write_line(io.json_text(chosen, compact=compact))
    record = view if view is not None else record
    if fmt in (OutputFormat.csv, OutputFormat.tsv):
        return write_records(io, [[record]], fmt, kind, fields)
    rows = [Column(path, path) for path in fields] if fields else kind.detail_rows
    rows = [row for row in rows if not (row.optional and blank(row.of(record)))]
    if fmt is not OutputFormat.table:
        io.write("".join(f"{row.path}\t{sanitize(cell_text(row.of(record)))}\n" for row in rows))
        io.flush()
        return
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
        cell = Text(text, style=row.color.get(str(value), "") if row.color else "")
        if url and io.hyperlinks:
            cell.stylize(Style(link=url))
        grid.add_row(Text(row.header), cell)
    title = Text(sanitize(cell_text(kind.title.of(record))) or kind.noun)
    io.console().print(Panel(grid, title=title, title_align="left", expand=False))
