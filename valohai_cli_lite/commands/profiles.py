"""auth list and auth switch: the profiles a user has, and which one commands use."""

from typing import Annotated, Any, NamedTuple

import typer

from ..completion import complete_profiles
from ..config import validate_profile_name
from ..context import AppContext
from ..errors import ApiError, AuthError, NetworkError, UsageError, VhLiteError
from ..session import choose_profile, env_token
from ..text import sanitize
from .common import app_context
from .options import ProfileOption

# -- auth list ----------------------------------------------------------------------------


class ListProfilesOptions(NamedTuple):
    as_json: bool = False
    check: bool = False  # validate each token with the server (one request per profile)


def list_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON array of profiles.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Also ask each profile's server whether its token works."),
    ] = False,
    profile: ProfileOption = None,
) -> None:
    """List every profile: host, user, where its token lives, and which one is active.

    Nothing is sent over the network unless --check is given.

    Examples:
      vh-lite auth list
      vh-lite auth list --json | jq -r '.[] | select(.active) | .host'
      vh-lite auth list --check
    """
    run_list_profiles(ListProfilesOptions(as_json, check), app_context(ctx, profile))


def run_list_profiles(opts: ListProfilesOptions, app: AppContext) -> None:
    profiles = app.config.profiles()
    try:
        active = app.profile_choice().name
    except VhLiteError:  # VH_HOST names a host no profile is logged in to: the choice
        active = choose_profile(app.options.profile, {}, app.config).name  # without it
    rows: list[dict[str, Any]] = [
        {"profile": name, "host": p.host, "username": p.username, "token_store": p.token_store,
         "active": name == active}
        for name, p in profiles.items()
    ]  # fmt: skip
    if active not in profiles:  # the active profile is not logged in: still say which it is
        rows.append({"profile": active, "host": None, "username": None, "token_store": None,
                     "active": True})  # fmt: skip
    if opts.check:
        for row in rows:
            row["token_valid"] = _check(app, row["profile"]) if row["token_store"] else None
    if opts.as_json:
        app.io.write_json(rows)
    else:
        _print_profiles(app, rows, opts.check)
    found = env_token(app.environ)
    if found:
        app.io.warning(f"{found[0]} is set in the environment: commands use it, not these profiles")


def _check(app: AppContext, name: str) -> bool | None:
    """True/False as the server says; None when it cannot be asked (unreachable, locked)."""
    previous = app.options
    app.select_profile(name)
    try:
        with app.api_client() as (client, _):
            client.me()
        return True
    except AuthError as exc:
        return False if exc.status in (401, 403) else None
    except (NetworkError, ApiError):
        return None
    finally:
        app.options = previous


def _print_profiles(app: AppContext, rows: list[dict[str, Any]], checked: bool) -> None:
    verdicts = {True: "valid", False: "rejected", None: "not checked"}
    table = [
        ["*" if row["active"] else " ", row["profile"], row["host"] or "(not logged in)",
         row["username"] or "", row["token_store"] or ""]
        + ([verdicts[row["token_valid"]]] if checked else [])
        for row in rows
    ]  # fmt: skip
    widths = [
        max(len(sanitize(str(cell))) for cell in column) for column in zip(*table, strict=True)
    ]
    for cells in table:
        padded = [
            sanitize(str(cell)).ljust(width) for cell, width in zip(cells, widths, strict=True)
        ]
        app.io.write_line("  ".join(padded).rstrip())


# -- auth switch --------------------------------------------------------------------------


def switch_command(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            metavar="PROFILE",
            autocompletion=complete_profiles,
            help="The profile commands use from now on.",
        ),
    ],
) -> None:
    """Make PROFILE the default for every later command (VH_PROFILE and --profile still win).

    Examples:
      vh-lite auth switch work
      vh-lite auth switch default
    """
    run_switch(validate_profile_name(name), app_context(ctx))


def run_switch(name: str, app: AppContext) -> None:
    profiles = app.config.profiles()
    if name not in profiles:
        known = ", ".join(profiles) or "none yet"
        raise UsageError(f"no profile named {name!r}; known profiles: {known}",
                         hint=f"log in to create it: vh-lite login --profile {name}")  # fmt: skip
    app.config.set_active_profile(name)
    chosen = profiles[name]
    app.io.message(
        f"Switched to profile '{name}' ({chosen.username or 'unknown user'} on {chosen.host})."
    )
    if app.options.profile is not None and app.options.profile.source == "env":
        app.io.warning(f"VH_PROFILE={app.options.profile.name} is set and still wins while set")
