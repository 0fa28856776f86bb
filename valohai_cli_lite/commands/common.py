"""What every command module uses to reach the shared AppContext."""

from __future__ import annotations

import typer

from ..context import AppContext


def app_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):  # the root callback always sets it
        raise RuntimeError("vh-lite context missing")
    return obj
