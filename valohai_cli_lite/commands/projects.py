"""projects list and projects show, on the generic list and show paths (records.py)."""

from typing import Annotated

import typer

from ..errors import UsageError
from ..kinds.projects import PROJECT
from ..kinds.query import owned_by
from . import options
from .records import list_options, run_list, run_show, show_options

_FIELDS, _SORT, _SEARCH, _LIMIT = options.kind_options(PROJECT)
FieldsOption = Annotated[str | None, _FIELDS]


def list_command(
    ctx: typer.Context,
    fmt: options.FormatOption = None,
    as_json: options.JsonOption = False,
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
    search: Annotated[str | None, _SEARCH] = None,
    sort: Annotated[str | None, _SORT] = None,
    limit: Annotated[int | None, _LIMIT] = None,
    max_concurrency: options.MaxConcurrencyOption = options.DEFAULT_MAX_CONCURRENCY,
    web: options.WebOption = False,
    profile: options.ProfileOption = None,
) -> None:
    """List every project you can see (all pages).

    Examples:
      vh-lite projects list
      vh-lite projects list --owner acme-org --sort -execution_count --limit 10
      vh-lite projects list --format csv --fields id,name,owner.username > projects.csv
    """  # fmt: skip
    app = options.app_context(ctx, profile)
    if any(not name.strip() for name in owner or []):
        raise UsageError("--owner needs a value; an empty one matches nothing")
    owners = {name.casefold() for name in owner or []}
    conditions = (lambda project: owned_by(PROJECT, project, owners),) if owners else ()
    opts = list_options(
        ctx, PROJECT, fmt=fmt, as_json=as_json, fields=fields, search=search, sort=sort,
        limit=limit, max_concurrency=max_concurrency, web=web, conditions=conditions,
    )  # fmt: skip
    run_list(opts, app)


def show_command(
    ctx: typer.Context,
    project: Annotated[
        str, typer.Argument(metavar="NAME_OR_ID", help="Project id, name, or OWNER/NAME.")
    ],
    fmt: options.FormatOption = None,
    as_json: options.JsonOption = False,
    fields: FieldsOption = None,
    web: options.WebOption = False,
    profile: options.ProfileOption = None,
) -> None:
    """Show one project: by id, by name, or by OWNER/NAME.

    Examples:
      vh-lite projects show my-project
      vh-lite projects show acme-org/my-project --json
      vh-lite projects show my-project --web
    """  # fmt: skip
    app = options.app_context(ctx, profile)
    opts = show_options(ctx, PROJECT, project, fmt=fmt, as_json=as_json, fields=fields, web=web)
    run_show(opts, app)
