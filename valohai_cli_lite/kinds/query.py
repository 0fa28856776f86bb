"""Client-side filter, sort and limit: what the server is not known to apply, and again what
it was asked to (some ignore it). On pages, so output streams and fetching stops early."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from ..errors import UsageError
from ..text import parse_timestamp
from .fields import get_path
from .kind import Record, RecordKind


class SortKey(NamedTuple):
    field: str
    descending: bool

    @classmethod
    def parse(cls, text: str, kind: RecordKind) -> SortKey:
        field = text.removeprefix("-")
        if field not in kind.sort_keys:
            raise UsageError(
                f"cannot sort by {field!r}; sortable fields: {', '.join(kind.sort_keys)} "
                "(prefix with - for descending)"
            )
        return cls(field, text.startswith("-"))


class ListQuery(NamedTuple):
    # What every record must meet (--owner; the server's filters, for one that ignores them).
    conditions: tuple[Callable[[Record], bool], ...] = ()
    search: str | None = None
    sort: SortKey | None = None
    limit: int | None = None

    @property
    def filters(self) -> bool:
        """Whether the answer depends on more than the first `limit` records."""
        return bool(self.conditions) or self.search is not None or self.sort is not None


def owned_by(kind: RecordKind, record: Record, owners: set[str]) -> bool:
    """`owners`: casefolded names or ids. What --owner and OWNER/NAME both mean."""
    ids = kind.owner_ids(record) if kind.owner_ids else ()
    return not owners.isdisjoint(text.casefold() for text in ids)


def sort_records(records: list[Record], key: SortKey, kind: RecordKind) -> list[Record]:
    """Records without a value go last in either direction."""
    sort_type = kind.sort_keys[key.field]
    accessor = kind.sort_values.get(key.field)

    def value(record: Record) -> Any:
        raw = accessor(record) if accessor else get_path(record, key.field)
        if sort_type == "text":
            return str(raw).casefold() if raw is not None else None
        if sort_type == "number":
            return raw if isinstance(raw, int | float) and not isinstance(raw, bool) else None
        moment = parse_timestamp(raw)
        return None if moment is None else moment.timestamp()

    present = [(value(r), r) for r in records]
    with_value = [pair for pair in present if pair[0] is not None]
    with_value.sort(key=lambda pair: pair[0], reverse=key.descending)
    return [r for _, r in with_value] + [r for v, r in present if v is None]


def apply_query(
    pages: Iterable[list[Record]], query: ListQuery, kind: RecordKind
) -> Iterator[list[Record]]:
    needle = query.search.casefold() if query.search else None

    def match(record: Record) -> bool:
        if not all(condition(record) for condition in query.conditions):
            return False
        if needle is None:
            return True
        text = "\n".join(str(get_path(record, path) or "") for path in kind.search_paths)
        return needle in text.casefold()

    chosen: Iterator[list[Record]] = ([r for r in page if match(r)] for page in pages)
    if query.sort is not None:  # sorting must see everything first
        everything = [r for page in chosen for r in page]
        chosen = iter([sort_records(everything, query.sort, kind)])
    remaining = query.limit
    for page in chosen:
        if remaining is not None:
            page = page[:remaining]
            remaining -= len(page)
        if page:
            yield page
        if remaining is not None and remaining <= 0:
            # Close the source now: fetching (and any progress bar) ends before the output.
            getattr(pages, "close", lambda: None)()
            return
