"""RecordKind: what the generic layers need to know about a kind of API object. Each kind
describes itself once (projects.py, ...); nothing else names its fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

from .fields import get_path

Record = dict[str, Any]

# How a sort key compares: text case-insensitively, numbers as numbers, times as instants.
SortType = Literal["text", "number", "time"]


class Column(NamedTuple):
    """A column of the table or plain lines, or a row of the one-object view."""

    header: str  # "OWNER", or "Owner" for a detail row
    path: str  # the field it shows (what --fields would name)
    # When people see more than the field: a fallback for a null, seconds as h:mm:ss...
    value: Callable[[Record], Any] | None = None
    # Left out when blank: a detail row, or a table column in every row of the first page.
    optional: bool = False
    color: Mapping[str, str] | None = None  # on a terminal: status -> "green", "red"...
    width: int = 0  # at least this wide in the table (the longest status)

    def of(self, record: Record) -> Any:
        return self.value(record) if self.value is not None else get_path(record, self.path)


def blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, dict | list) and not value)


def first_of(*paths: str) -> Callable[[Record], Any]:
    """The first value along `paths` that is there and not an object: the same fact where
    servers put it in different places (creator_name or creator.username, a bare id)."""

    def value(record: Record) -> Any:
        found = (get_path(record, path) for path in paths)
        return next((v for v in found if not blank(v) and not isinstance(v, dict)), None)

    return value


class RecordKind(NamedTuple):
    noun: str  # "project"
    endpoint: str  # the list below /api/v0/ ("projects/"); one record: "{endpoint}{id}/"
    # Fields the API is known to send; any other is valid too, once seen in the data.
    known_fields: Sequence[str]
    delimited_columns: Sequence[Column]  # CSV/TSV default columns (header: the field path)
    table_columns: Sequence[Column]  # the table and plain lines
    detail_rows: Sequence[Column]  # the one-object view
    sort_keys: Mapping[str, SortType]  # --sort FIELD
    time_fields: frozenset[str]  # shown as "3 days ago" on a terminal
    title: Column  # the one-object view's title
    # How a sort key reads a record when that is more than its field (owner: a name or id).
    sort_values: Mapping[str, Callable[[Record], Any]] = {}
    link_path: str | None = "urls.display"  # where a record's web page URL lives
    link_column: str | None = None  # the table column (path) that links to that page
    flexible_column: str | None = None  # the table column (path) that shrinks to fit
    search_paths: Sequence[str] = ()  # what --search looks in
    # How `show REF` finds one: fields matched exactly, the owner's names and ids (OWNER/NAME),
    # a counter within a project (`#N`); whether "{endpoint}{id}/" answers more than the list.
    name_paths: Sequence[str] = ("name",)
    owner_ids: Callable[[Record], Sequence[str]] | None = None
    by_counter: bool = False
    has_detail: bool = True
    # The kind this one is listed within: its noun is both the list's filter (?project=<id>)
    # and the record's field holding it (nested or a bare id).
    parent: RecordKind | None = None
    creator_id: Callable[[Record], Any] | None = None  # whose it is, for --mine (?creator=)
    list_page: str | None = None  # the web app's page listing them (--web), below the host

    @property
    def plural(self) -> str:
        return self.noun + "s"
