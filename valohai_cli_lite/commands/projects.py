"""projects list."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import output
from ..client import ValohaiClient
from .common import app_context


def list_projects(
    ctx: typer.Context,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print a JSON array of the projects exactly as the API returns them."
        ),
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", "-L", min=1, help="Show at most this many projects.", show_default=False
        ),
    ] = None,
) -> None:
    """List every project you can see (all pages)."""
    creds = app_context(ctx).active_credentials()
    with ValohaiClient(creds.host, creds.token) as client:
        # All-or-nothing: collect every page before printing, so a failure midway never
        # leaves a partial list on stdout for a script to mistake for the whole one.
        projects = list(client.iter_projects(limit=limit))
    output.render_projects(projects, as_json=as_json)
