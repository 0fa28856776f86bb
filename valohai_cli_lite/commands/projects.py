"""projects list and projects show.

Each command is a Typer function that only turns flags into an options object, and a
run_<verb>(opts, app) that does the work with what the AppContext provides.
"""

from __future__ import annotations

import re
from typing import Annotated, NamedTuple

import typer

from ..client import DEFAULT_PAGE_SIZE, ValohaiClient
from ..context import AppContext
from ..errors import ApiError, VhLiteError
from ..fields import get_path
from ..listing import ListQuery, SortKey, apply_query
from ..projects import PROJECT, owner_ids, owner_name
from ..records import Record
from ..render import OutputFormat, write_record, write_records
from .common import app_context
from .options import (
    DEFAULT_MAX_CONCURRENCY,
    FieldsOption,
    FormatOption,
    JsonOption,
    MaxConcurrencyOption,
    format_and_fields,
)

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


# -- projects list ------------------------------------------------------------------------


class ListOptions(NamedTuple):
    format: OutputFormat
    fields: list[str] | None
    query: ListQuery
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY


def list_command(
    ctx: typer.Context,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
    fields: FieldsOption = None,
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner",
            metavar="NAME",
            show_default=False,
            help="Only projects owned by this user or organization (a name, or an id).",
        ),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            metavar="TEXT",
            show_default=False,
            help="Only projects whose name or description contains this text (case-insensitive).",
        ),
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            metavar="[-]FIELD",
            show_default=False,
            help=f"Sort by {', '.join(PROJECT.sort_keys)}; a leading - sorts descending.",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-L",
            metavar="N",
            min=1,
            show_default=False,
            help="Show at most this many projects (after filtering and sorting).",
        ),
    ] = None,
    max_concurrency: MaxConcurrencyOption = DEFAULT_MAX_CONCURRENCY,
) -> None:
    """List every project you can see (all pages)."""
    output_format, chosen_fields = format_and_fields(ctx, fmt, as_json, fields)
    sort_key = SortKey.parse(sort, PROJECT) if sort else None
    query = ListQuery(owner=owner, search=search, sort=sort_key, limit=limit)
    run_list(ListOptions(output_format, chosen_fields, query, max_concurrency), app_context(ctx))


def run_list(opts: ListOptions, app: AppContext) -> None:
    # When the first `limit` projects are exactly the answer, fetch no more than that.
    wanted = None if opts.query.filters else opts.query.limit
    page_size = min(DEFAULT_PAGE_SIZE, wanted) if wanted else DEFAULT_PAGE_SIZE
    with app.api_client() as (client, creds):
        pages = app.with_progress(
            client.iter_projects(
                page_size=page_size, max_concurrency=opts.max_concurrency, stop_after=wanted
            ),
            PROJECT.noun,
            streams_to_stdout=opts.format is OutputFormat.jsonl,
            wanted=wanted,
        )
        chosen = apply_query(pages, opts.query, PROJECT)
        write_records(app.io, chosen, opts.format, PROJECT, opts.fields, link_base=creds.host)


# -- projects show ------------------------------------------------------------------------


class ShowOptions(NamedTuple):
    project: str  # an id, a name, or OWNER/NAME
    format: OutputFormat
    fields: list[str] | None


def show_command(
    ctx: typer.Context,
    project: Annotated[
        str, typer.Argument(metavar="NAME_OR_ID", help="Project id, name, or OWNER/NAME.")
    ],
    fmt: FormatOption = None,
    as_json: JsonOption = False,
    fields: FieldsOption = None,
) -> None:
    """Show one project: by id, by name, or by OWNER/NAME."""
    output_format, chosen_fields = format_and_fields(ctx, fmt, as_json, fields)
    run_show(ShowOptions(project, output_format, chosen_fields), app_context(ctx))


def run_show(opts: ShowOptions, app: AppContext) -> None:
    with app.api_client() as (client, creds):
        if _UUID.match(opts.project):
            record = _get_by_id(client, opts.project)
        else:
            found = _find_by_name(app, client, opts.project)
            # The list entry found it; the detail object says more (repository, environment
            # variables, execution summary). What the detail leaves null (its counters, the
            # last run) the list entry, fetched a moment ago, fills in.
            record = _get_by_id(client, str(found["id"])) if found.get("id") else {}
            record.update({k: v for k, v in found.items() if record.get(k) is None})
    write_record(app.io, record, opts.format, PROJECT, opts.fields, link_base=creds.host)


def _get_by_id(client: ValohaiClient, project_id: str) -> Record:
    try:
        return client.get_project(project_id)
    except ApiError as exc:
        if exc.status == 404:
            raise VhLiteError(f"project {project_id} not found (or not visible to you)") from None
        raise


def _find_by_name(app: AppContext, client: ValohaiClient, wanted: str) -> Record:
    """The one project called NAME or OWNER/NAME (OWNER a username or, in older data, an id)."""
    owner, _, name = wanted.rpartition("/")
    pages = app.with_progress(
        client.iter_projects(max_concurrency=DEFAULT_MAX_CONCURRENCY), PROJECT.noun
    )
    matches = [
        project for page in pages for project in page
        if get_path(project, "name") == name and (not owner or owner in owner_ids(project))
    ]  # fmt: skip
    if not matches:
        raise VhLiteError(
            f"no project named {wanted!r}", hint="see 'vh-lite projects list --search TEXT'"
        )
    if len(matches) > 1:
        candidates = ", ".join(
            f"{owner_name(p)}/{get_path(p, 'name')} ({get_path(p, 'id')})" for p in matches
        )
        raise VhLiteError(
            f"{wanted!r} matches {len(matches)} projects: {candidates}",
            hint="use OWNER/NAME or the project id",
        )
    return matches[0]
