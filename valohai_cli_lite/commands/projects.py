"""projects list and projects show.

Each command is a Typer function that only turns flags into an options object, and a
run_<verb>(opts, app) that does the work with what the AppContext provides.
"""

import re
from typing import Annotated, NamedTuple

import typer

from ..client import DEFAULT_PAGE_SIZE, ValohaiClient
from ..context import AppContext
from ..errors import ApiError, UsageError, VhLiteError
from ..kinds.fields import get_path
from ..kinds.kind import Record
from ..kinds.projects import PROJECT, owner_name
from ..kinds.query import ListQuery, SortKey, apply_query, owned_by
from ..output.render import OutputFormat, write_record, write_records
from ..text import safe_link
from .options import (
    DEFAULT_MAX_CONCURRENCY,
    FieldsOption,
    FormatOption,
    JsonOption,
    MaxConcurrencyOption,
    ProfileOption,
    app_context,
    complete_sort_keys,
    format_and_fields,
)

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


# -- projects list ------------------------------------------------------------------------


class ListOptions(NamedTuple):
    format: OutputFormat
    fields: list[str] | None
    query: ListQuery
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    web: bool = False  # open the web app instead


def list_command(
    ctx: typer.Context,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
    fields: FieldsOption = None,
    owner: Annotated[
        list[str] | None,
        typer.Option(
            "--owner",
            metavar="NAME",
            show_default=False,
            help="Only projects owned by this user or organization (a name, or an id); "
            "repeat for any of several.",
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
            autocompletion=complete_sort_keys,
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
    web: Annotated[
        bool, typer.Option("--web", help="Open the Valohai web app in your browser instead.")
    ] = False,
    profile: ProfileOption = None,
) -> None:
    """List every project you can see (all pages).

    Examples:
      vh-lite projects list
      vh-lite projects list --owner acme-org --sort -execution_count --limit 10
      vh-lite projects list --format csv --fields id,name,owner.username > projects.csv
    """  # fmt: skip
    app = app_context(ctx, profile)
    output_format, chosen_fields = format_and_fields(ctx, fmt, as_json, fields, PROJECT)
    for flag, value in [("--owner", o) for o in owner or []] + [("--search", search)]:
        if value is not None and not value.strip():
            raise UsageError(f"{flag} needs a value; an empty one matches nothing")
    sort_key = SortKey.parse(sort, PROJECT) if sort else None
    query = ListQuery(owners=tuple(owner or ()), search=search, sort=sort_key, limit=limit)
    run_list(ListOptions(output_format, chosen_fields, query, max_concurrency, web), app)


def run_list(opts: ListOptions, app: AppContext) -> None:
    if opts.web:
        # The web app's start page lists your projects; nothing needs fetching for it.
        with app.api_client() as (_, creds):
            _open(app, creds.host + "/")
        return
    # When the first `limit` projects are exactly the answer, fetch no more than that.
    wanted = None if opts.query.filters else opts.query.limit
    page_size = min(DEFAULT_PAGE_SIZE, wanted) if wanted else DEFAULT_PAGE_SIZE
    with app.api_client() as (client, creds):
        # Last time's page size and total let the second round of requests go with the first.
        key = f"{creds.host}/api/v0/projects/"
        guess = app.paging_cache.get(key) if opts.max_concurrency > 1 else None
        pages = app.with_progress(
            client.iter_projects(
                page_size=page_size,
                max_concurrency=opts.max_concurrency,
                stop_after=wanted,
                guess=guess,
                learned=lambda seen: app.paging_cache.put(key, seen),
            ),
            PROJECT.noun,
            # The rows themselves show the progress of a streamed listing on a terminal.
            streams_to_stdout=opts.format in (OutputFormat.jsonl, OutputFormat.table),
            wanted=wanted,
        )
        chosen = apply_query(pages, opts.query, PROJECT)
        write_records(app.io, chosen, opts.format, PROJECT, opts.fields, link_base=creds.host)


def _open(app: AppContext, url: str) -> None:
    if app.services.open_browser(url):
        app.io.message(f"Opened {url} in your browser.")
    else:
        app.io.message(f"Open {url} in your browser.")


# -- projects show ------------------------------------------------------------------------


class ShowOptions(NamedTuple):
    project: str  # an id, a name, or OWNER/NAME
    format: OutputFormat
    fields: list[str] | None
    web: bool = False  # open the project's page instead


def show_command(
    ctx: typer.Context,
    project: Annotated[
        str, typer.Argument(metavar="NAME_OR_ID", help="Project id, name, or OWNER/NAME.")
    ],
    fmt: FormatOption = None,
    as_json: JsonOption = False,
    fields: FieldsOption = None,
    web: Annotated[
        bool, typer.Option("--web", help="Open the project's page in your browser instead.")
    ] = False,
    profile: ProfileOption = None,
) -> None:
    """Show one project: by id, by name, or by OWNER/NAME.

    Examples:
      vh-lite projects show my-project
      vh-lite projects show acme-org/my-project --json
      vh-lite projects show my-project --web
    """  # fmt: skip
    app = app_context(ctx, profile)
    if not project.strip() or project.endswith("/"):
        raise UsageError("projects show needs a project id, name, or OWNER/NAME")
    output_format, chosen_fields = format_and_fields(ctx, fmt, as_json, fields, PROJECT)
    run_show(ShowOptions(project, output_format, chosen_fields, web), app)


def run_show(opts: ShowOptions, app: AppContext) -> None:
    view: Record | None = None
    with app.api_client() as (client, creds):
        if _UUID.match(opts.project):
            record = _get_by_id(client, opts.project)
        else:
            found = _find_by_name(app, client, opts.project)
            if opts.web or not found.get("id"):  # the list entry has the link already
                record = found
            else:
                # The detail object says more (repository, environment variables, execution
                # summary). What it leaves null (counters, the last run) the list entry,
                # fetched a moment ago, fills in for the views; JSON stays as sent.
                record = _get_by_id(client, str(found["id"]))
                view = {**record, **{k: v for k, v in found.items() if record.get(k) is None}}
    if opts.web:
        url = safe_link(get_path(record, PROJECT.link_path or ""), creds.host)
        if url is None:
            raise VhLiteError("the server sent no web address for this project")
        _open(app, url)
        return
    write_record(app.io, record, opts.format, PROJECT, opts.fields, link_base=creds.host, view=view)


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
    everything = [project for page in pages for project in page]
    matches = [
        p for p in everything
        if get_path(p, "name") == name and (not owner or owned_by(PROJECT, p, {owner.casefold()}))
    ]  # fmt: skip
    if not matches:
        raise VhLiteError(
            f"no project named {wanted!r}{_did_you_mean(everything, name)}",
            hint="see 'vh-lite projects list --search TEXT'",
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


def _did_you_mean(projects: list[Record], name: str) -> str:
    """'; did you mean X?' with the names closest to `name`: same letters in another case
    first, then similar spellings."""
    import difflib

    names = sorted({str(n) for n in (get_path(p, "name") for p in projects) if n is not None})
    same = [n for n in names if n.casefold() == name.casefold()]
    close = same or difflib.get_close_matches(name, names, n=3, cutoff=0.7)
    return f"; did you mean {' or '.join(close)}?" if close else ""
