"""Rendering API objects in every output format: table, plain lines, JSON, JSONL, CSV, TSV.

Commands pass pages of plain dicts plus a RecordKind describing the columns; this module picks
the fields, validates --fields, and writes. Data goes to stdout; the two status lines for
people (the count under a table, "No projects found.") go to stderr, on a terminal only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from enum import Enum
from itertools import chain
from typing import Any, NamedTuple

from .fields import cell_text, get_path, select_fields, validate_fields
from .output import (
    color_enabled,
    is_terminal,
    json_text,
    links_enabled,
    message,
    relative_time,
    sanitize,
    write_json,
)


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"


# What `table` becomes when stdout is not a terminal and no format was asked for.
PLAIN = "plain"


class RecordKind(NamedTuple):
    noun: str  # "project"
    known_fields: Sequence[str]
    delimited_columns: Sequence[str]  # CSV/TSV default columns
    table_columns: Sequence[tuple[str, str]]  # (path, header) for the table and plain lines
    detail_rows: Sequence[tuple[str, str]]  # (path, label) for the one-object view
    link_path: str | None = None  # where a record's web page URL lives (urls.display)


def resolve_format(explicit: OutputFormat | None, *, json_flag: bool) -> str:
    if json_flag:
        return OutputFormat.json.value
    if explicit is not None:
        return explicit.value
    return OutputFormat.table.value if is_terminal(sys.stdout) else PLAIN


def _is_time(path: str) -> bool:
    return path.endswith(("ctime", "mtime"))


def _write_delimited(records: Sequence[dict[str, Any]], columns: Sequence[str], sep: str) -> None:
    # Quoting as the csv module does it, so values with separators, quotes or newlines survive a
    # round trip through any CSV reader.
    import csv
    import io

    # The csv module quotes a value holding "\r" only when "\r" is in the line terminator, so
    # rows are written with "\r\n" and the terminator is then turned into a Unix "\n".
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    for row in chain(
        [list(columns)], ([cell_text(get_path(r, path)) for path in columns] for r in records)
    ):
        writer.writerow(row)
        sys.stdout.write(buffer.getvalue()[:-2] + "\n")
        buffer.seek(0)
        buffer.truncate()
    sys.stdout.flush()


def _write_plain(records: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    # One line per record, tab-separated, no header, nothing truncated: for grep/cut/awk.
    for record in records:
        cells = (sanitize(cell_text(get_path(record, path))) for path in columns)
        sys.stdout.write("\t".join(cells) + "\n")
    sys.stdout.flush()


def _safe_link(value: Any) -> str | None:
    """A URL fit for an OSC 8 hyperlink: http(s), printable, no whitespace."""
    if not isinstance(value, str) or len(value) > 2048:
        return None
    if not value.startswith(("https://", "http://")):
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return None
    return value


def _print_table(
    records: Sequence[dict[str, Any]], kind: RecordKind, columns: Sequence[tuple[str, str]]
) -> None:
    from rich.console import Console
    from rich.style import Style
    from rich.table import Table
    from rich.text import Text

    console = Console(no_color=not color_enabled(sys.stdout), highlight=False, soft_wrap=False)
    links = links_enabled(sys.stdout) and kind.link_path is not None
    numeric = {
        path for path, _ in columns
        if any(isinstance(get_path(r, path), int | float) for r in records)
        and all(isinstance(get_path(r, path), int | float | None) for r in records)
    }  # fmt: skip
    flexible = "description" if any(p == "description" for p, _ in columns) else columns[-1][0]
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
        for path, _ in columns:
            value = get_path(record, path)
            text = relative_time(value) if _is_time(path) else sanitize(cell_text(value))
            # Text(), not a str: rich markup in user data ("[bold]") must show literally.
            cell = Text(text, no_wrap=True, overflow="ellipsis")
            if links and path == "name":
                url = _safe_link(get_path(record, kind.link_path or ""))
                if url:
                    cell.stylize(Style(link=url))
            cells.append(cell)
        table.add_row(*cells)
    console.print(table)


def _table_columns(kind: RecordKind, fields: Sequence[str] | None) -> list[tuple[str, str]]:
    if fields:
        return [(path, path.upper()) for path in fields]
    return list(kind.table_columns)


def write_records(
    pages: Iterable[list[dict[str, Any]]],
    fmt: str,
    kind: RecordKind,
    fields: Sequence[str] | None = None,
) -> int:
    """Write a listing; returns how many records were written.

    JSONL streams page by page. Every other format first collects every page, so a failure
    midway leaves stdout empty rather than holding a list a script could mistake for whole.
    """
    page_iter = iter(pages)
    if fmt == OutputFormat.jsonl.value:
        first = next(page_iter, [])
        if fields:
            validate_fields(fields, kind.known_fields, first)
        written = 0
        for page in chain([first], page_iter):
            lines = (
                json_text(select_fields(r, fields) if fields else r, compact=True) for r in page
            )
            sys.stdout.write("".join(line + "\n" for line in lines))
            sys.stdout.flush()
            written += len(page)
        return written

    records = [record for page in page_iter for record in page]
    if fields:
        validate_fields(fields, kind.known_fields, records)
    if fmt == OutputFormat.json.value:
        chosen = [select_fields(r, fields) for r in records] if fields else records
        write_json(chosen)
    elif fmt in (OutputFormat.csv.value, OutputFormat.tsv.value):
        sep = "," if fmt == OutputFormat.csv.value else "\t"
        _write_delimited(records, fields or kind.delimited_columns, sep)
    elif not records:
        if is_terminal(sys.stderr):  # status is for people; a script sees empty stdout
            message(f"No {kind.noun}s found.")
    elif fmt == PLAIN:
        _write_plain(records, [path for path, _ in _table_columns(kind, fields)])
    else:
        _print_table(records, kind, _table_columns(kind, fields))
        if is_terminal(sys.stderr):
            message(f"{len(records)} {kind.noun}{'s' if len(records) != 1 else ''}")
    return len(records)


def write_record(
    record: dict[str, Any], fmt: str, kind: RecordKind, fields: Sequence[str] | None = None
) -> None:
    """Write one object: JSON as an object, CSV/TSV as a header and a row, a panel for people."""
    if fields:
        validate_fields(fields, kind.known_fields, [record])
    if fmt == OutputFormat.json.value:
        chosen = select_fields(record, fields) if fields else record
        write_json(chosen)
    elif fmt in (OutputFormat.jsonl.value, OutputFormat.csv.value, OutputFormat.tsv.value):
        write_records([[record]], fmt, kind, fields)
        return
    else:
        rows = [(path, path) for path in fields] if fields else list(kind.detail_rows)
        if fmt == PLAIN:
            for path, _ in rows:
                value = sanitize(cell_text(get_path(record, path)))
                sys.stdout.write(f"{path}\t{value}\n")
        else:
            _print_detail(record, kind, rows)
    sys.stdout.flush()


def _print_detail(
    record: dict[str, Any], kind: RecordKind, rows: Sequence[tuple[str, str]]
) -> None:
    from rich.console import Console
    from rich.panel import Panel
    from rich.style import Style
    from rich.table import Table
    from rich.text import Text

    console = Console(no_color=not color_enabled(sys.stdout), highlight=False)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for path, label in rows:
        value = get_path(record, path)
        text = sanitize(cell_text(value))
        if _is_time(path) and value:
            text = f"{text} ({relative_time(value)})"
        cell = Text(text)
        url = _safe_link(value) if path == kind.link_path else None
        if url and links_enabled(sys.stdout):
            cell.stylize(Style(link=url))
        grid.add_row(Text(label), cell)
    title = Text(sanitize(cell_text(get_path(record, "name"))) or kind.noun)
    console.print(Panel(grid, title=title, title_align="left", expand=False))
