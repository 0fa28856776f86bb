"""The one list path and the one show path, for any RecordKind (see docs/development.md)."""

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import quote

import typer

from ..client import DEFAULT_PAGE_SIZE, ValohaiClient, with_query
from ..client.hosts import api_url
from ..context import AppContext
from ..errors import ApiError, UsageError, VhLiteError
from ..kinds.fields import get_path
from ..kinds.kind import Record, RecordKind
from ..kinds.query import ListQuery, SortKey, apply_query, owned_by
from ..output.render import OutputFormat, write_record, write_records
from ..text import safe_link
from .options import DEFAULT_MAX_CONCURRENCY, format_and_fields

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_COUNTER = re.compile(r"#?([0-9]+)")


class ListOptions(NamedTuple):
    kind: RecordKind
    format: OutputFormat
    fields: list[str] | None
    query: ListQuery
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    web: bool = False  # open the web app's list instead
    parent: str | None = None  # the parent's id, name or OWNER/NAME (--project)
    mine: bool = False  # only the user's own (--mine)
    params: Mapping[str, Any] = {}  # other server-side filters (ordering, status)


def list_options(
    ctx: typer.Context,
    kind: RecordKind,
    *,
    fmt: OutputFormat | None,
    as_json: bool,
    fields: str | None,
    search: str | None,
    sort: str | None,
    limit: int | None,
    conditions: tuple[Callable[[Record], bool], ...] = (),
    parent: str | None = None,
    **rest: Any,
) -> ListOptions:
    """Each flag checked before any request is made; `rest` goes to ListOptions as it is."""
    output_format, chosen_fields = format_and_fields(ctx, fmt, as_json, fields, kind)
    if search is not None and not search.strip():
        raise UsageError("--search needs a value; an empty one matches nothing")
    query = ListQuery(conditions, search, SortKey.parse(sort, kind) if sort else None, limit)
    parent = _parent_ref(kind, parent)
    return ListOptions(kind, output_format, chosen_fields, query, parent=parent, **rest)


def _parent_ref(kind: RecordKind, ref: str | None) -> str | None:
    if kind.parent is None:
        return None
    if ref is None or not ref.strip():
        noun = kind.parent.noun
        raise UsageError(f"which {noun}? pass --{noun} NAME (or set VH_{noun.upper()})")
    return ref.strip()


def _parent_id(
    app: AppContext, client: ValohaiClient, kind: RecordKind, parent: str | None
) -> str | None:
    """The id of what `kind` lives in (`show N` is "{endpoint}{id}:{N}/")."""
    if kind.parent is None or parent is None:
        return None
    return parent if is_id(parent) else str(find_by_name(app, client, kind.parent, parent)["id"])


def _id_of(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def run_list(opts: ListOptions, app: AppContext) -> None:
    kind = opts.kind
    with app.api_client() as (client, creds):
        if opts.web and kind.list_page is not None:
            open_in_browser(app, creds.host + kind.list_page)
            return
        # The parent (?project=<id>) and --mine go to the server, and are checked here too,
        # since some servers (minihai) ignore them.
        params: dict[str, Any] = {}
        checks: list[Callable[[Record], bool]] = []
        ident = _parent_id(app, client, kind, opts.parent)
        if kind.parent is not None and ident is not None:
            field = kind.parent.noun
            params[field] = ident
            checks.append(lambda r: r.get(field) is None or str(_id_of(r.get(field))) == ident)
        if opts.mine and kind.creator_id is not None:
            creator_id = kind.creator_id
            me = str(creds.user_id if creds.user_id is not None else client.me().get("id"))
            params["creator"] = me
            checks.append(lambda r: creator_id(r) is None or str(creator_id(r)) == me)
        params.update(opts.params)
        query = opts.query._replace(conditions=(*opts.query.conditions, *checks))
        # When the first `limit` records are exactly the answer, fetch no more than that.
        wanted = None if query.filters else query.limit
        url = api_url(creds.host, kind.endpoint)
        url = with_query(url, params) if params else url
        # Last time's page size and total let the second round of requests go with the first.
        cache = app.paging_cache
        pages = client.iter_pages(
            url,
            page_size=min(DEFAULT_PAGE_SIZE, wanted) if wanted else DEFAULT_PAGE_SIZE,
            max_concurrency=opts.max_concurrency,
            stop_after=wanted,
            guess=cache.get(url) if opts.max_concurrency > 1 else None,
            learned=lambda seen: cache.put(url, seen),
        )
        shown = app.with_progress(
            pages,
            kind.noun,
            # The rows themselves show the progress of a streamed listing on a terminal.
            streams_to_stdout=opts.format in (OutputFormat.jsonl, OutputFormat.table),
            wanted=wanted,
        )
        chosen = apply_query(shown, query, kind)
        write_records(app.io, chosen, opts.format, kind, opts.fields, link_base=creds.host)


class ShowOptions(NamedTuple):
    kind: RecordKind
    ref: str  # an id, a name (OWNER/NAME), or a counter (N, #N)
    format: OutputFormat
    fields: list[str] | None
    web: bool = False  # open the record's page instead
    parent: str | None = None  # what a counter counts within (--project)


def show_options(
    ctx: typer.Context,
    kind: RecordKind,
    ref: str,
    *,
    fmt: OutputFormat | None,
    as_json: bool,
    fields: str | None,
    web: bool,
    parent: str | None = None,
) -> ShowOptions:
    by_counter = kind.by_counter and _COUNTER.fullmatch(ref) is not None
    if not ref.strip() or ref.endswith("/") or not (kind.name_paths or by_counter or is_id(ref)):
        what = "counter (N or #N) or id" if kind.by_counter else "id or name"
        what = "id, name, or OWNER/NAME" if kind.owner_ids else what
        raise UsageError(f"{kind.plural} show needs a {kind.noun} {what}")
    output_format, chosen_fields = format_and_fields(ctx, fmt, as_json, fields, kind)
    parent = _parent_ref(kind, parent) if by_counter else None
    return ShowOptions(kind, ref, output_format, chosen_fields, web, parent)


def run_show(opts: ShowOptions, app: AppContext) -> None:
    kind, view = opts.kind, None
    with app.api_client() as (client, creds):
        counter = _COUNTER.fullmatch(opts.ref) if kind.by_counter else None
        if counter is not None:
            ident, number = _parent_id(app, client, kind, opts.parent), counter.group(1)
            where = f" in {kind.parent.noun} {opts.parent}" if kind.parent and opts.parent else ""
            record = get_one(client, kind, f"{ident}:{number}", f"#{number}{where}")
        elif kind.has_detail and is_id(opts.ref):
            record = get_one(client, kind, opts.ref, opts.ref)
        else:
            record = find_by_name(app, client, kind, opts.ref)
            if kind.has_detail and not opts.web and record.get("id"):
                # The detail object says more; what it leaves null the list entry, fetched a
                # moment ago, fills in for the views. JSON stays as sent.
                found = record
                record = get_one(client, kind, str(found["id"]), str(found["id"]))
                view = {**record, **{k: v for k, v in found.items() if record.get(k) is None}}
    if opts.web:
        url = safe_link(get_path(record, kind.link_path or ""), creds.host)
        if url is None:
            raise VhLiteError(f"the server sent no web address for this {kind.noun}")
        open_in_browser(app, url)
        return
    write_record(app.io, record, opts.format, kind, opts.fields, link_base=creds.host, view=view)


def is_id(text: str) -> bool:
    return _UUID.match(text) is not None


def get_one(client: ValohaiClient, kind: RecordKind, ident: str, label: str) -> Record:
    try:
        return client.get_object(f"{kind.endpoint}{quote(ident, safe=':')}/")
    except ApiError as exc:
        if exc.status == 404:
            raise VhLiteError(f"{kind.noun} {label} not found (or not visible to you)") from None
        raise


def find_by_name(app: AppContext, client: ValohaiClient, kind: RecordKind, wanted: str) -> Record:
    """The one record whose name (any of kind.name_paths) is `wanted`, or OWNER/NAME when
    the kind has owners (OWNER a username or, in older data, an id)."""
    owner, name = wanted.rpartition("/")[::2] if kind.owner_ids else ("", wanted)
    pages = client.iter_pages(
        api_url(client.host, kind.endpoint), max_concurrency=DEFAULT_MAX_CONCURRENCY
    )
    everything = [r for page in app.with_progress(pages, kind.noun) for r in page]
    matches = [
        r for r in everything
        if any(_text(get_path(r, path)) == name for path in kind.name_paths)
        and (not owner or owned_by(kind, r, {owner.casefold()}))
    ]  # fmt: skip
    if len(matches) == 1:
        return matches[0]
    if not matches:
        import difflib

        found = (get_path(r, path) for r in everything for path in kind.name_paths)
        names = sorted({str(n) for n in found if n is not None})
        # The same letters in another case first, then similar spellings.
        close = [n for n in names if n.casefold() == name.casefold()]
        close = close or difflib.get_close_matches(name, names, n=3, cutoff=0.7)
        raise VhLiteError(
            f"no {kind.noun} named {wanted!r}"
            + (f"; did you mean {' or '.join(close)}?" if close else ""),
            hint=f"see 'vh-lite {kind.plural} list --search TEXT'",
        )
    candidates = ", ".join(
        f"{(kind.owner_ids(r) or ['?'])[0]}/{name} ({get_path(r, 'id')})" if kind.owner_ids
        else str(get_path(r, "id"))
        for r in matches
    )  # fmt: skip
    raise VhLiteError(
        f"{wanted!r} matches {len(matches)} {kind.plural}: {candidates}",
        hint=f"use {'OWNER/NAME or ' if kind.owner_ids else ''}the {kind.noun} id",
    )


def _text(value: Any) -> str | None:
    """A name as text: a server may send a numeric name (2024) as a JSON number."""
    return None if value is None or isinstance(value, dict | list) else str(value)


def open_in_browser(app: AppContext, url: str) -> None:
    opened = app.services.open_browser(url)
    app.io.message(f"{'Opened' if opened else 'Open'} {url} in your browser.")
