"""executions list and executions show: a project's executions, on the generic paths."""

from typing import Annotated

import typer

from ..kinds.executions import EXECUTION, STATUSES, UNFINISHED
from . import options
from .records import list_options, run_list, run_show, show_options

_FIELDS, _SORT, _SEARCH, _LIMIT = options.kind_options(EXECUTION)
CHOICES = (*STATUSES, "incomplete")
HELP = f"Only executions in this status; incomplete: {', '.join(UNFINISHED)}. Repeatable."
StatusOption = Annotated[list[str] | None, options.choices_option("--status", CHOICES, HELP)]
FieldsOption = Annotated[str | None, _FIELDS]


def list_command(
    ctx: typer.Context,
    project: options.ProjectOption = None,
    status: StatusOption = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only executions you created.")] = False,
    fmt: options.FormatOption = None,
    as_json: options.JsonOption = False,
    fields: FieldsOption = None,
    search: Annotated[str | None, _SEARCH] = None,
    sort: Annotated[str | None, _SORT] = None,
    limit: Annotated[int | None, _LIMIT] = None,
    max_concurrency: options.MaxConcurrencyOption = options.DEFAULT_MAX_CONCURRENCY,
    profile: options.ProfileOption = None,
) -> None:
    """List a project's executions, newest first (all pages).

    Examples:
      vh-lite executions list --project my-project
      vh-lite executions list --project acme/my-project --status error --mine
      vh-lite executions list --project my-project --sort -duration --limit 5 --json
    """  # fmt: skip
    app = options.app_context(ctx, profile)
    wanted = set(status or [])
    wanted = (wanted - {"incomplete"}) | (set(UNFINISHED) if "incomplete" in wanted else set())
    # Asked of the server as `vh` asks, and checked here too (minihai ignores filters).
    opts = list_options(
        ctx, EXECUTION, fmt=fmt, as_json=as_json, fields=fields, search=search, sort=sort,
        limit=limit, max_concurrency=max_concurrency, parent=project, mine=mine,
        params={"ordering": "-counter", "deleted": "false", "status": sorted(wanted)},
        conditions=(lambda execution: execution.get("status") in wanted,) if wanted else (),
    )  # fmt: skip
    run_list(opts, app)


def show_command(
    ctx: typer.Context,
    counter: Annotated[
        str, typer.Argument(metavar="N", help="The execution's counter (N or #N), or its id.")
    ],
    project: options.ProjectOption = None,
    fmt: options.FormatOption = None,
    as_json: options.JsonOption = False,
    fields: FieldsOption = None,
    web: options.WebOption = False,
    profile: options.ProfileOption = None,
) -> None:
    """Show one execution of a project: status, step, duration, parameters and more.

    Examples:
      vh-lite executions show 42 --project my-project
      vh-lite executions show 42 --project my-project --json
      vh-lite executions show 42 --project my-project --web
    """  # fmt: skip
    app = options.app_context(ctx, profile)
    opts = show_options(
        ctx, EXECUTION, counter, fmt=fmt, as_json=as_json, fields=fields, web=web,
        parent=project,
    )  # fmt: skip
    run_show(opts, app)
