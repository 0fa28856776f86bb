"""Client-side filtering, sorting and limiting of project listings.

The API's server-side filters for projects are not documented, so vh-lite filters on the
client. Everything here works on pages (lists of dicts) so that output can stream and
fetching stops as soon as enough items are in hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from .errors import UsageError
from .fields import get_path
from .timestamps import parse_timestamp

SORTABLE_FIELDS = ("name", "ctime", "mtime", "execution_count", "last_execution_ctime")

Project = dict[str, Any]


class SortKey(NamedTuple):
    field: str
    descending: bool

    @classmethod
    def parse(cls, text: str) -> SortKey:
        field = text.removeprefix("-")
        if field not in SORTABLE_FIELDS:
            raise UsageError(
                f"cannot sort by {field!r}; sortable fields: {', '.join(SORTABLE_FIELDS)} "
                "(prefix with - for descending)"
            )
        return cls(field, text.startswith("-"))


class ListQuery(NamedTuple):
    owner: str | None = None
    search: str | None = None
    sort: SortKey | None = None
    limit: int | None = None


def _matches(query: ListQuery) -> Callable[[Project], bool]:
    owner = query.owner.casefold() if query.owner else None
    needle = query.search.casefold() if query.search else None

    def match(project: Project) -> bool:
        if owner is not None and str(get_path(project, "owner.username") or "").casefold() != owner:
            return False
        if needle is not None:
            text = f"{get_path(project, 'name') or ''}\n{get_path(project, 'description') or ''}"
            if needle not in text.casefold():
                return False
        return True

    return match


def sort_projects(projects: list[Project], key: SortKey) -> list[Project]:
    """Stable sort; items without a value go last in either direction."""

    def value(project: Project) -> Any:
        raw = get_path(project, key.field)
        if key.field == "name":
            return str(raw).casefold() if raw is not None else None
        if key.field == "execution_count":
            return raw if isinstance(raw, int | float) and not isinstance(raw, bool) else None
        moment = parse_timestamp(raw)
        return None if moment is None else moment.timestamp()

    present = [(value(p), p) for p in projects]
    with_value = [pair for pair in present if pair[0] is not None]
    without = [p for v, p in present if v is None]
    with_value.sort(key=lambda pair: pair[0], reverse=key.descending)
    return [p for _, p in with_value] + without


def apply_query(pages: Iterable[list[Project]], query: ListQuery) -> Iterator[list[Project]]:
    """Filter, then sort, then limit; yields pages and stops consuming `pages` when done."""
    match = _matches(query)
    chosen: Iterator[list[Project]] = ([p for p in page if match(p)] for page in pages)
    if query.sort is not None:  # sorting must see everything first
        chosen = iter([sort_projects([p for page in chosen for p in page], query.sort)])
    remaining = query.limit
    for page in chosen:
        if remaining is not None:
            page = page[:remaining]
            remaining -= len(page)
        if page:
            yield page
        if remaining is not None and remaining <= 0:
            # Done early: close the source now, so fetching (and any progress bar) ends
            # before the caller writes its output.
            close = getattr(pages, "close", None)
            if close is not None:
                close()
            return
