"""RecordKind: what the generic layers (render, fields, listing) need to know about a kind of
API object. Each kind describes itself once (projects.py); nothing else names its fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

Record = dict[str, Any]

# How a sort key compares: text case-insensitively, numbers as numbers, times as instants.
SortType = Literal["text", "number", "time"]


class RecordKind(NamedTuple):
    noun: str  # "project"
    # Fields the API is known to send; any other field a server sends is valid too, once it
    # has been seen in the data.
    known_fields: Sequence[str]
    delimited_columns: Sequence[str]  # CSV/TSV default columns
    table_columns: Sequence[tuple[str, str]]  # (path, header) for the table and plain lines
    detail_rows: Sequence[tuple[str, str]]  # (path, label) for the one-object view
    sort_keys: Mapping[str, SortType]  # --sort FIELD
    time_fields: frozenset[str]  # shown as "3 days ago" on a terminal
    title_path: str  # the one-object view's title
    link_path: str | None = None  # where a record's web page URL lives (urls.display)
    link_column: str | None = None  # the table column that links to that page
    flexible_column: str | None = None  # the table column that shrinks to fit the terminal
    owner_path: str | None = None  # what --owner matches
    search_paths: Sequence[str] = ()  # what --search looks in
