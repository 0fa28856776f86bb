"""logout, auth status, auth token, auth list and auth switch (login: login.py)."""

import contextlib
from typing import Annotated, Any, NamedTuple

import typer

from ..auth.config import validate_profile_name
from ..auth.credentials import KeyringUnavailable, unlock_advice
from ..auth.session import choose_profile, env_token
from ..client.hosts import DEFAULT_HOST, tokens_page
from ..context import AppContext
from ..errors import ApiError, AuthError, NetworkError, UsageError, VhLiteError, redact
from ..text import sanitize
from .options import ProfileOption, app_context, complete_profiles

# How the profile in force was chosen, in words (session.ProfileSource).
PROFILE_SOURCES = {
    "flag": "from --profile",
    "env": "from VH_PROFILE",
    "host": "logged in to VH_HOST",
    "default": "the default profile",
}


def logout_command(ctx: typer.Context, profile: ProfileOption = None) -> None:
    """Remove the stored token and the profile's settings.

    Examples:
      vh-lite logout
      vh-lite logout --profile work
    """
    run_logout(app_context(ctx, profile))


def run_logout(app: AppContext) -> None:
    name = app.profile_choice().name
    profile = app.config.get(name)
    if profile is not None:
        # Fail before removing anything: a token deleted from the keyring while config.json
        # still names it would leave the profile half logged out.
        app.config.check_writable()
    try:
        removed = app.credentials.delete(name, in_keyring=bool(profile and profile.in_keyring))
    except KeyringUnavailable as exc:
        raise VhLiteError(
            f"cannot remove the token from the system keyring: {exc}; still logged in",
            hint=f"{unlock_advice()}, then run 'vh-lite logout' again",
        ) from None
    if profile is None and not removed:
        raise VhLiteError(f"not logged in (profile '{name}'); nothing to log out of")
    app.config.update(name, lambda _old: None)
    if app.config.active_profile() == name:
        app.config.set_active_profile(None)
    host = profile.host if profile else DEFAULT_HOST
    what = "no stored token was found"
    if removed:
        what = f"removed the token from {' and '.join(removed)}"
    app.io.message(f"Logged out of {host} (profile '{name}'); {what}.")
    app.io.message(
        f"The token itself stays valid until it expires or you revoke it at {tokens_page(host)}"
    )
    if found := env_token(app.environ):
        app.io.warning(f"{found[0]} is still set in your environment and still logs you in")


class StatusOptions(NamedTuple):
    as_json: bool = False


def status_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the facts as a JSON object with fixed keys.")
    ] = False,
    profile: ProfileOption = None,
) -> None:
    """Show who is logged in, where the token comes from, and whether it still works.

    Exit 0 when the token works, 4 when not logged in, 1 when the server rejects the token or
    cannot be reached. The token itself is never printed.

    Examples:
      vh-lite auth status
      vh-lite auth status --json | jq -r .username
    """
    run_status(StatusOptions(as_json), app_context(ctx, profile))


def run_status(opts: StatusOptions, app: AppContext) -> None:
    report, problem = _status_report(app)
    # What the server said (its error, the username) may echo the token: never shown here.
    report = {key: redact(v) if isinstance(v, str) else v for key, v in report.items()}
    if opts.as_json:
        app.io.write_json(report)
    elif report["logged_in"]:
        verdicts = {True: "valid", False: f"rejected by the server ({report['error']})"}
        verdict = verdicts.get(report["token_valid"], f"not checked: {report['error']}")
        user = report["username"] or "unknown"
        if report["user_id"] is not None:
            user += f" (id {report['user_id']})"
        lines = [("Host", report["host"]), ("Token from", report["token_location"]),
                 ("User", user), ("Token", verdict)]  # fmt: skip
        if report["profile"]:
            source = PROFILE_SOURCES[report["profile_source"]]
            lines.insert(0, ("Profile", f"{report['profile']} ({source})"))
        width = max(len(label) for label, _ in lines)
        for label, value in lines:
            app.io.write_line(f"{label + ':':<{width + 1}} {sanitize(str(value))}")
    if problem is not None:
        raise problem


def _status_report(app: AppContext) -> tuple[dict[str, Any], VhLiteError | None]:
    """The facts `auth status` shows (fixed keys, never the token) and the error to exit with."""
    report: dict[str, Any] = {
        "profile": None, "profile_source": None, "logged_in": False, "host": None,
        "username": None, "user_id": None, "token_source": None, "token_location": None,
        "token_valid": None, "error": None,
    }  # fmt: skip
    try:
        with app.api_client() as (client, creds):
            report.update(
                logged_in=True, host=creds.host, username=creds.username,
                token_source=creds.source_kind, token_location=creds.source,
                profile=creds.profile.name if creds.profile else None,
                profile_source=creds.profile.source if creds.profile else None,
            )  # fmt: skip
            user = client.me()
    except VhLiteError as exc:
        report["error"] = exc.message
        if isinstance(exc, AuthError) and report["logged_in"]:
            report["token_valid"] = False
            return report, VhLiteError("the token was rejected by the server", hint=exc.hint)
        if isinstance(exc, (NetworkError, ApiError)):
            return report, VhLiteError(f"could not check the token: {exc.message}")
        if isinstance(exc, AuthError):  # not logged in (4); else an unreadable config file (1)
            with contextlib.suppress(VhLiteError):
                choice = app.profile_choice()
                report.update(profile=choice.name, profile_source=choice.source)
                known = app.config.get(choice.name)
                if known is not None and known.token_store is not None:
                    # Logged in, but the token cannot be read (a locked keyring): what the
                    # profile says is still worth saying.
                    where = ("the system keyring" if known.in_keyring
                             else str(app.credentials.file_path))  # fmt: skip
                    report.update(
                        logged_in=True, host=known.host, username=known.username,
                        user_id=known.user_id, token_source=known.token_store,
                        token_location=where,
                    )  # fmt: skip
        return report, exc
    report.update(token_valid=True, username=user.get("username"), user_id=user.get("id"))
    return report, None


def token_command(ctx: typer.Context, profile: ProfileOption = None) -> None:
    """Print the active token on stdout, for scripts (exit 4 when there is none).

    Example (the header through stdin, never in another program's arguments, which every
    user of the machine can see in ps):

      vh-lite auth token | sed 's/^/Authorization: Token /' | curl -H @- URL
    """
    run_token(app_context(ctx, profile))


def run_token(app: AppContext) -> None:
    app.io.write_line(app.active_credentials().token)


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
    run_list_profiles(as_json, check, app_context(ctx, profile))


def run_list_profiles(as_json: bool, check: bool, app: AppContext) -> None:
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
    if check:
        for row in rows:
            row["token_valid"], row["not_checked_because"] = _check(app, row)
    if as_json:
        app.io.write_json(rows)
    else:
        verdicts = {True: "valid", False: "rejected", None: "not checked"}
        table = [
            ["*" if row["active"] else " ", row["profile"], row["host"] or "(not logged in)",
             row["username"] or "", row["token_store"] or ""]
            + ([": ".join(filter(None, (verdicts[row["token_valid"]], row["not_checked_because"])))]
               if check else [])
            for row in rows
        ]  # fmt: skip
        cells = [[sanitize(str(cell)) for cell in line] for line in table]
        widths = [max(map(len, column)) for column in zip(*cells, strict=True)]
        for line in cells:
            padded = [cell.ljust(width) for cell, width in zip(line, widths, strict=True)]
            app.io.write_line("  ".join(padded).rstrip())
    if found := env_token(app.environ):
        app.io.warning(f"{found[0]} is set in the environment: commands use it, not these profiles")


def _check(app: AppContext, row: dict[str, Any]) -> tuple[bool | None, str | None]:
    """True/False as the server says; None, and why, when it cannot be asked."""
    if not row["token_store"]:
        return None, "not logged in"
    previous = app.options
    app.select_profile(row["profile"])
    try:
        with app.api_client() as (client, _):
            client.me()
        return True, None
    except (AuthError, NetworkError, ApiError) as exc:
        if isinstance(exc, AuthError) and exc.status in (401, 403):
            return False, None
        return None, exc.message
    finally:
        app.options = previous


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
