"""The table on a terminal, streamed (docs/performance.md): rich's Table measures every cell
before the first line, for 100,000 projects tens of seconds and hundreds of megabytes."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..kinds.fields import cell_text, get_path
from ..kinds.kind import Column, Record, RecordKind
from ..text import relative_time, safe_link, sanitize

if TYPE_CHECKING:
    from ..terminal.iostreams import IOStreams

GAP = "  "  # between columns
MIN_FLEXIBLE = 10  # the shrinking column is never cut below this many cells
READABLE = 16  # nor the first column (a name) below this, before other columns go
WIDTH_SAMPLE = 50  # rows the column widths are measured on (more if the first page has more)
BOLD, RESET = "\x1b[1m", "\x1b[0m"
SGR = {"red": "31", "green": "32", "yellow": "33", "cyan": "36"}  # what kinds colour with


def cell_for_person(kind: RecordKind, path: str, value: Any) -> str:
    return relative_time(value) if path in kind.time_fields else sanitize(cell_text(value))


def _cell_len(text: str) -> int:
    """Display width: the length, for ASCII (sanitised: no controls); rich knows the rest."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def stream_table(
    io: IOStreams,
    pages: Iterable[list[Record]],
    kind: RecordKind,
    columns: Sequence[Column],
    link_base: str | None,
) -> int:
    """How many rows were printed."""
    page_iter = iter(pages)
    first: list[Record] = []
    for more in page_iter:  # enough rows to measure, even from a server of tiny pages
        first += more
        if len(first) >= WIDTH_SAMPLE:
            break
    if not first:
        return 0
    # A terminal whose encoding is not Unicode (LANG=C) shows what it cannot encode as
    # escapes (\xfc): widths are measured on that, and cut text ends in "...".
    encoding = None if io.stdout_is_unicode else io.stdout_encoding
    ellipsis = "…" if encoding is None or "…".encode(encoding, "ignore") else "..."

    def cells_of(record: Record) -> list[str]:
        cells = [cell_for_person(kind, column.path, column.of(record)) for column in columns]
        if encoding is None:
            return cells
        return [c.encode(encoding, "backslashreplace").decode(encoding) for c in cells]

    rows = [cells_of(record) for record in first]
    # A column only some servers fill (a creator) goes when the first rows have none...
    blank = [
        column.optional and not any(row[i] for row in rows) for i, column in enumerate(columns)
    ]
    columns, rows = _without(columns, rows, blank)
    widths = fit_widths(kind, columns, rows, io.width() or 80)
    # ...and so do those the terminal has no room for (width 0).
    columns, rows = _without(columns, rows, [width == 0 for width in widths])
    widths = [width for width in widths if width]
    numeric = [
        any(isinstance(v, int | float) for v in values)
        and all(isinstance(v, int | float | None) for v in values)
        for values in zip(*([c.of(r) for c in columns] for r in first), strict=True)
    ]
    link = _linker(io, kind, link_base)
    io.page()
    header = GAP.join(
        _fit(column.header, width, right, ellipsis)
        for column, width, right in zip(columns, widths, numeric, strict=True)
    ).rstrip()
    io.write((f"{BOLD}{header}{RESET}" if io.styled else header) + "\n")
    link_at = [column.path == kind.link_column for column in columns]
    paint = io.color_enabled()

    def line(record: Record, cells: list[str]) -> str:
        parts = []
        for column, cell, width, right, linked in zip(
            columns, cells, widths, numeric, link_at, strict=True
        ):
            text = _fit(cell, width, right, ellipsis)
            if paint and column.color:
                sgr = SGR.get(column.color.get(str(column.of(record)), ""))
                text = _around(text, f"\x1b[{sgr}m", RESET) if sgr else text
            parts.append(link(record, text) if linked else text)
        return GAP.join(parts).rstrip() + "\n"

    count = 0
    later = ([(record, cells_of(record)) for record in page] for page in page_iter)
    for page in itertools.chain([list(zip(first, rows, strict=True))], later):
        # One write per 200 rows, flushed before the next page is waited for: the first
        # rows are on screen as soon as the first page is in.
        for start in range(0, len(page), 200):
            io.write("".join(itertools.starmap(line, page[start : start + 200])))
        count += len(page)
        io.flush()
    return count


def _without(
    columns: Sequence[Column], rows: list[list[str]], gone: list[bool]
) -> tuple[Sequence[Column], list[list[str]]]:
    kept = [i for i, away in enumerate(gone) if not away]
    return [columns[i] for i in kept], [[row[i] for i in kept] for row in rows]


def fit_widths(
    kind: RecordKind, columns: Sequence[Column], rows: Sequence[Sequence[str]], available: int
) -> list[int]:
    """Where the widest cells do not fit, the flexible column (a description) shrinks first, to
    MIN_FLEXIBLE, then the widest others, never below their header, the first column (the
    name) not below READABLE. Then columns go (width 0) from the right, as a kind lists its
    columns most useful first; the first column stays, cut to fit if it must."""
    natural = [
        max([_cell_len(column.header), column.width, *(_cell_len(row[i]) for row in rows)])
        for i, column in enumerate(columns)
    ]
    paths = [column.path for column in columns]
    flexible = paths.index(kind.flexible_column) if kind.flexible_column in paths else None
    floors = [
        min(natural[i], MIN_FLEXIBLE if i == flexible
            else max(_cell_len(column.header), 4, READABLE if i == 0 else 0))
        for i, column in enumerate(columns)
    ]  # fmt: skip
    leaving = list(range(len(columns) - 1, 0, -1))
    kept = list(range(len(columns)))
    while True:
        widths = [natural[i] if i in kept else 0 for i in range(len(columns))]
        excess = sum(widths) + len(GAP) * (len(kept) - 1) - available
        if flexible in kept and excess > 0:
            cut = min(excess, widths[flexible] - floors[flexible])
            widths[flexible] -= cut
            excess -= cut
        while excess > 0 and (shrinkable := [i for i in kept if widths[i] > floors[i]]):
            widths[max(shrinkable, key=lambda i: widths[i])] -= 1
            excess -= 1
        if excess <= 0 or not leaving:
            break
        kept.remove(leaving.pop(0))
    if excess > 0:  # the first column alone is still too wide: cut to the terminal
        widths[0] = max(1, widths[0] - excess)
    return widths


def _fit(text: str, width: int, right: bool, ellipsis: str) -> str:
    size = _cell_len(text)
    if size > width:
        from rich.cells import set_cell_size

        return str(set_cell_size(text, max(width - len(ellipsis), 0))) + ellipsis
    padding = " " * (width - size)
    return padding + text if right else text + padding


def _linker(io: IOStreams, kind: RecordKind, link_base: str | None) -> Any:
    """OSC 8 hyperlinks to the record's page, where the terminal has them."""
    if not (io.hyperlinks and kind.link_path):
        return lambda _record, text: text
    ids = itertools.count(1)

    def link(record: Record, text: str) -> str:
        url = safe_link(get_path(record, kind.link_path or ""), link_base)
        if url is None:
            return text
        return _around(text, f"\x1b]8;id={next(ids)};{url}\x1b\\", "\x1b]8;;\x1b\\")

    return link


def _around(cell: str, before: str, after: str) -> str:
    """A padded cell's text between two escape sequences, its padding left outside."""
    stripped = cell.rstrip(" ")
    return f"{before}{stripped}{after}{cell[len(stripped) :]}"
