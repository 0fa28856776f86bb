"""projects list and projects show."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from ..client import DEFAULT_PAGE_SIZE, ValohaiClient
from ..errors import ApiError, VhLiteError
from ..fields import DEFAULT_PROJECT_COLUMNS, KNOWN_PROJECT_FIELDS, get_path
from ..listing import SORTABLE_FIELDS, ListQuery, SortKey, apply_query
from ..progress import pages_with_progress, progress_allowed
from ..render import OutputFormat, RecordKind, write_record, write_records
from .common import app_context
from .options import (
    DEFAULT_MAX_CONCURRENCY,
    FieldsOption,
    FormatOption,
    JsonOption,
    MaxConcurrencyOption,
    chosen_format,
)

PROJECT = RecordKind(
    noun="project",
    known_fields=KNOWN_PROJECT_FIELDS,
    delimited_columns=DEFAULT_PROJECT_COLUMNS,
    table_columns=(
        ("name", "NAME"), ("owner.username", "OWNER"), ("execution_count", "EXECUTIONS"),
        ("last_execution_ctime", "LAST RUN"), ("description", "DESCRIPTION"),
    ),
    detail_rows=(
        ("name", "Name"), ("id", "ID"), ("owner.username", "Owner"),
        ("description", "Description"), ("execution_count", "Executions"),
        ("running_execution_count", "Running"), ("queued_execution_count", "Queued"),
        ("last_execution_ctime", "Last run"), ("ctime", "Created"), ("mtime", "Modified"),
        ("urls.display", "URL"),
    ),
    link_path="urls.display",
)  # fmt: skip

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def list_projects(
    ctx: typer.Context,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
    fields: FieldsOption = None,
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner",
            metavar="NAME",
            help="Only projects owned by this user or organization.",
            show_default=False,
        ),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            metavar="TEXT",
            help="Only projects whose name or description contains this text (case-insensitive).",
            show_default=False,
        ),
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            metavar="[-]FIELD",
            show_default=False,
            help=f"Sort by {', '.join(SORTABLE_FIELDS)}; a leading - sorts descending.",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-L",
            metavar="N",
            min=1,
            help="Show at most this many projects (after filtering and sorting).",
            show_default=False,
        ),
    ] = None,
    max_concurrency: MaxConcurrencyOption = DEFAULT_MAX_CONCURRENCY,
) -> None:
    """List every project you can see (all pages)."""
    output_format, chosen_fields = chosen_format(ctx, fmt, as_json, fields)
    query = ListQuery(
        owner=owner, search=search, sort=SortKey.parse(sort) if sort else None, limit=limit
    )
    app = app_context(ctx)
    creds = app.active_credentials()
    unfiltered = owner is None and search is None and query.sort is None
    # When the first `limit` projects are exactly the answer, fetch no more than that.
    wanted = limit if unfiltered else None
    page_size = min(DEFAULT_PAGE_SIZE, wanted) if wanted else DEFAULT_PAGE_SIZE
    streams = output_format == OutputFormat.jsonl.value
    with app.client(creds) as client:
        all_pages = client.iter_projects(
            page_size=page_size, max_concurrency=max_concurrency, stop_after=wanted
        )
        pages = pages_with_progress(
            all_pages, "project", enabled=progress_allowed(streams), wanted=wanted
        )
        write_records(apply_query(pages, query), output_format, PROJECT, chosen_fields)


def _find_by_name(client: ValohaiClient, wanted: str) -> dict[str, Any]:
    owner, _, name = wanted.rpartition("/")
    pages = pages_with_progress(
        client.iter_projects(max_concurrency=DEFAULT_MAX_CONCURRENCY),
        "project",
        enabled=progress_allowed(False),
    )
    matches = [
        project for page in pages for project in page
        if get_path(project, "name") == name
        and (not owner or get_path(project, "owner.username") == owner)
    ]  # fmt: skip
    if not matches:
        raise VhLiteError(
            f"no project named {wanted!r}", hint="see 'vh-lite projects list --search TEXT'"
        )
    if len(matches) > 1:
        candidates = ", ".join(
            f"{get_path(p, 'owner.username')}/{get_path(p, 'name')} ({get_path(p, 'id')})"
            for p in matches
        )
        raise VhLiteError(
            f"{wanted!r} matches {len(matches)} projects: {candidates}",
            hint="use OWNER/NAME or the project id",
        )
    return matches[0]


def show_project(
    ctx: typer.Context,
    project: Annotated[
        str, typer.Argument(metavar="NAME_OR_ID", help="Project id, name, or OWNER/NAME.")
    ],
    fmt: FormatOption = None,
    as_json: JsonOption = False,
    fields: FieldsOption = None,
) -> None:
    """Show one project: by id, by name, or by OWNER/NAME."""
    output_format, chosen_fields = chosen_format(ctx, fmt, as_json, fields)
    app = app_context(ctx)
    creds = app.active_credentials()
    with app.client(creds) as client:
        if _UUID.match(project):
            try:
                record = client.get_project(project)
            except ApiError as exc:
                if exc.status == 404:
                    raise VhLiteError(
                        f"project {project} not found (or not visible to you)"
                    ) from None
                raise
        else:
            record = _find_by_name(client, project)
    write_record(record, output_format, PROJECT, chosen_fields)
