"""environments list: where executions can run, on the generic list path."""

from typing import Annotated

import typer

from ..kinds.environments import ENVIRONMENT
from . import options
from .records import list_options, run_list

_FIELDS, _SORT, _SEARCH, _LIMIT = options.kind_options(ENVIRONMENT)


def list_command(
    ctx: typer.Context,
    gpu: Annotated[bool, typer.Option("--gpu", help="Only environments with a GPU.")] = False,
    fmt: options.FormatOption = None,
    as_json: options.JsonOption = False,
    fields: Annotated[str | None, _FIELDS] = None,
    search: Annotated[str | None, _SEARCH] = None,
    sort: Annotated[str | None, _SORT] = None,
    limit: Annotated[int | None, _LIMIT] = None,
    max_concurrency: options.MaxConcurrencyOption = options.DEFAULT_MAX_CONCURRENCY,
    profile: options.ProfileOption = None,
) -> None:
    """List the environments executions can run in, with GPUs and prices (all pages).

    Examples:
      vh-lite environments list
      vh-lite environments list --gpu --sort price
      vh-lite environments list --json | jq -r '.[].slug'
    """  # fmt: skip
    app = options.app_context(ctx, profile)
    opts = list_options(
        ctx, ENVIRONMENT, fmt=fmt, as_json=as_json, fields=fields, search=search, sort=sort,
        limit=limit, max_concurrency=max_concurrency,
        conditions=(lambda env: env.get("has_gpu") is True,) if gpu else (),
    )  # fmt: skip
    run_list(opts, app)
