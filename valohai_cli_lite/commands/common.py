"""What every command module uses to reach the shared AppContext."""

import typer

from ..context import AppContext


def app_context(ctx: typer.Context, profile: str | None = None) -> AppContext:
    """The run's AppContext; `profile` is a --profile given after the command word, which
    wins over one given before it or in VH_PROFILE."""
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):  # the root callback always sets it
        raise RuntimeError("vh-lite context missing")
    if profile is not None:
        from ..config import validate_profile_name

        obj.select_profile(validate_profile_name(profile))
    return obj
