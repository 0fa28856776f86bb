"""RecordKind: what the generic layers (listing, showing, render, fields, query) need to know
about a kind of API object. Each kind describes itself once (projects.py, executions.py,
environments.py); nothing else names its fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

from .fields import get_path

Record = dict[str, Any]

# How a sort key compares: text case-insensitively, numbers as numbers, times as instants.
SortType = Literal["text", "number", "time"]


class Column(NamedTuple):
    """One column of the table or plain lines, or one row of the one-object view."""

    header: str  # "OWNER", or "Owner" for a detail row
    path: str  # the field it shows (what --fields would name)
    # What people see, when that is more than the field: a fallback for a null, an id where
    # there is no name, seconds as h:mm:ss. None: the field's value.
    value: Callable[[Record], Any] | None = None
    optional: bool = False  # a detail row left out when there is nothing to show
    # The colour of a value on a terminal, as an SGR code ("32": green); None: no colour.
    color: Callable[[Any], str | None] | None = None

    def of(self, record: Record) -> Any:
        return self.value(record) if self.value is not None else get_path(record, self.path)


class RecordKind(NamedTuple):
    noun: str  # "project"
    endpoint: str  # the list below /api/v0/ ("projects/"); one record: "{endpoint}{id}/"
    # Fields the API is known to send; any other field a server sends is valid too, once it
    # has been seen in the data.
    known_fields: Sequence[str]
    delimited_columns: Sequence[Column]  # CSV/TSV default columns (header: the field path)
    table_columns: Sequence[Column]  # the table and plain lines
    detail_rows: Sequence[Column]  # the one-object view
    sort_keys: Mapping[str, SortType]  # --sort FIELD
    time_fields: frozenset[str]  # shown as "3 days ago" on a terminal
    title_path: str  # the one-object view's title
    # How a sort key reads a record when that is more than its field (owner: a name or id).
    sort_values: Mapping[str, Callable[[Record], Any]] = {}
    link_path: str | None = "urls.display"  # where a record's web page URL lives
    link_column: str | None = None  # the table column (path) that links to that page
    flexible_column: str | None = None  # the table column (path) that shrinks to fit
    search_paths: Sequence[str] = ()  # what --search looks in
    # How `show REF` finds one record: fields matched exactly in the list ("name"), the
    # owner's names and ids (OWNER/NAME), by a counter within a project (`#N`), and whether
    # "{endpoint}{id}/" answers a richer object than the list's.
    name_paths: Sequence[str] = ("name",)
    owner_ids: Callable[[Record], Sequence[str]] | None = None
    by_counter: bool = False
    has_detail: bool = True
    list_page: str | None = None  # the web app's page listing them (--web), below the host

    @property
    def plural(self) -> str:
        return self.noun + "s"
