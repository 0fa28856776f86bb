"""login, logout and auth status."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .. import output
from ..client import ValohaiClient
from ..config import Profile
from ..context import AppContext
from ..credentials import KeyringUnavailable
from ..errors import ApiError, AuthError, NetworkError, UsageError, VhLiteError
from ..hosts import DEFAULT_HOST, normalize_host, tokens_page
from ..prompts import (
    ask,
    ask_secret,
    ask_token,
    read_password_from_stdin,
    read_token_from_stdin,
    stdin_is_terminal,
)
from ..session import default_host, env_token
from .common import app_context

# get-token answers these codes for accounts that cannot use a password from a client.
TOKEN_ONLY_CODES = {
    "has_2fa": "two-factor authentication",
    "has_external_identity": "single sign-on (an external identity provider)",
}


def _warn_if_env_token_in_force() -> None:
    found = env_token()
    if found:
        output.warning(
            f"{found[0]} is set in the environment; it takes precedence over stored logins "
            "until it is unset"
        )


def _choose_host(previous: Profile | None, flag: str | None, interactive: bool) -> str:
    """--host, else (prompting with) VH_HOST/VALOHAI_HOST, the profile's host, the default."""
    if flag is not None:
        return normalize_host(flag)
    default = default_host(previous)
    while interactive:
        try:
            return normalize_host(ask("Valohai host", default=default))
        except UsageError as exc:  # a typo at a prompt deserves another try, not an exit
            output.message(f"{exc.message}; try again.")
    return default


def _token_from_password(
    client: ValohaiClient, username: str, password: str, interactive: bool
) -> str:
    try:
        return client.get_token(username, password)
    except ApiError as exc:
        if exc.code in TOKEN_ONLY_CODES:
            url = tokens_page(client.host)
            explanation = (
                f"this account uses {TOKEN_ONLY_CODES[exc.code]}, so it cannot log in with a "
                f"password; create a personal API token at {url}"
            )
            if interactive:
                output.message(explanation.capitalize() + ".")
                return ask_token("Paste the API token (hidden)")
            raise AuthError(explanation, hint="then run: vh-lite login --with-token") from None
        if exc.status is not None and 400 <= exc.status < 500:
            raise AuthError(f"login failed: {exc.message}") from None
        raise


def _obtain_token(
    client: ValohaiClient,
    *,
    with_token: bool,
    username: str | None,
    password_stdin: bool,
    interactive: bool,
) -> str:
    if with_token:
        if stdin_is_terminal():
            return ask_token("Paste your API token (hidden)")
        return read_token_from_stdin()
    if username is not None:
        if password_stdin:
            password = read_password_from_stdin()
        elif interactive:
            password = ask_secret(f"Password for {username}")
        else:
            raise UsageError(
                "standard input is not a terminal; pass the password with --password-stdin"
            )
        return _token_from_password(client, username, password, interactive)
    if not interactive:
        raise UsageError(
            "standard input is not a terminal, so vh-lite cannot ask for credentials",
            hint="use --with-token (token on stdin) or --username NAME --password-stdin",
        )
    output.message(
        f"Log in with a username and password, or with an API token from {tokens_page(client.host)}"
    )
    entered = ask("Username (leave empty to paste an API token)", default="")
    if not entered:
        return ask_token("API token (hidden)")
    return _token_from_password(client, entered, ask_secret("Password (hidden)"), interactive)


def login(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            metavar="URL",
            help="Valohai installation URL (default: "
            "VH_HOST, the profile's host, else https://app.valohai.com).",
            show_default=False,
        ),
    ] = None,
    with_token: Annotated[
        bool, typer.Option("--with-token", help="Read an API token from standard input.")
    ] = False,
    username: Annotated[
        str | None,
        typer.Option(
            "--username",
            "-u",
            metavar="NAME",
            help="Log in with this username (password asked, or from --password-stdin).",
        ),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    insecure_storage: Annotated[
        bool,
        typer.Option(
            "--insecure-storage",
            help="Store the token in a plain-text file (mode 0600) instead of the system keyring.",
        ),
    ] = False,
) -> None:
    """Log in to Valohai and store the token securely."""
    app = app_context(ctx)
    if with_token and (username or password_stdin):
        raise UsageError("--with-token cannot be combined with --username/--password-stdin")
    if password_stdin and not username:
        raise UsageError("--password-stdin needs --username NAME")
    interactive = stdin_is_terminal() and not password_stdin
    _warn_if_env_token_in_force()
    previous = app.config.get(app.profile)
    chosen_host = _choose_host(previous, host, interactive and not with_token)
    # Connection settings carry over from an earlier login to the same host.
    same_host = previous is not None and previous.host == chosen_host
    ca_file = app.ca_file or (previous.ca_file if previous and same_host else None)
    insecure_http = app.allow_insecure_http or bool(
        previous and same_host and previous.allow_insecure_http
    )
    settings = app.client_settings(ca_file=ca_file, allow_insecure_http=insecure_http)

    with ValohaiClient(chosen_host, settings=settings) as client:
        token = _obtain_token(
            client,
            with_token=with_token,
            username=username,
            password_stdin=password_stdin,
            interactive=interactive,
        )
        client.use_token(token)
        try:
            user = client.me()
        except AuthError as exc:
            raise AuthError(
                f"the server rejected the token ({exc.message}); nothing was stored"
            ) from None

    stored, fallback_reason = app.credentials.save(
        app.profile, token, prefer_keyring=not insecure_storage
    )
    who = str(user.get("username"))
    user_id = user.get("id") if isinstance(user.get("id"), int) else None
    app.config.update(
        app.profile,
        lambda _old: Profile(
            host=chosen_host,
            username=who,
            user_id=user_id,
            token_store=stored.kind,
            keyring_backend=stored.keyring_backend,
            ca_file=ca_file,
            allow_insecure_http=insecure_http,
        ),
    )

    if fallback_reason is not None:
        output.warning(
            f"{fallback_reason}; the token is stored in PLAIN TEXT in {stored.description} "
            "(readable only by you, mode 0600). Anyone who can read that file can use your "
            "Valohai account. Install/unlock a keyring, or use VH_API_TOKEN in CI."
        )
    if previous is not None and previous.token_store is not None:
        output.message(
            f"Replaced the previous login of profile '{app.profile}' "
            f"({previous.username or 'unknown user'} on {previous.host})."
        )
    output.message(
        f"Logged in to {chosen_host} as {who} (profile '{app.profile}'). "
        f"Token stored in {stored.description}."
    )


def logout(ctx: typer.Context) -> None:
    """Remove the stored token and the profile's settings."""
    app = app_context(ctx)
    profile = app.config.get(app.profile)
    try:
        removed = app.credentials.delete(
            app.profile, in_keyring=profile is not None and profile.in_keyring
        )
    except KeyringUnavailable as exc:
        raise VhLiteError(
            f"cannot remove the token from the system keyring: {exc}; still logged in",
            hint="unlock the keyring and run 'vh-lite logout' again",
        ) from None
    if profile is None and not removed:
        raise VhLiteError(f"not logged in (profile '{app.profile}'); nothing to log out of")
    app.config.update(app.profile, lambda _old: None)
    host = profile.host if profile else DEFAULT_HOST
    where = " and ".join(removed) if removed else "nowhere (it was already gone)"
    output.message(
        f"Logged out of {host} (profile '{app.profile}'); removed the token from {where}."
    )
    output.message(f"The token itself stays valid until you revoke it at {tokens_page(host)}")
    found = env_token()
    if found:
        output.warning(f"{found[0]} is still set in your environment and still logs you in")


def _status_report(app: AppContext) -> tuple[dict[str, Any], VhLiteError | None]:
    """The facts `auth status` shows (fixed keys, never the token) and the error to exit with."""
    report: dict[str, Any] = {
        "profile": app.profile, "logged_in": False, "host": None, "username": None,
        "user_id": None, "token_source": None, "token_location": None, "token_valid": None,
        "error": None,
    }  # fmt: skip
    try:
        creds = app.active_credentials()
    except VhLiteError as exc:  # not logged in (4), or an unreadable config file (1)
        report["error"] = exc.message
        return report, exc
    report.update(
        logged_in=True, host=creds.host, username=creds.username,
        token_source=creds.source_kind, token_location=creds.source,
    )  # fmt: skip
    if creds.source_kind == "env":
        report["profile"] = None
    problem: VhLiteError | None = None
    with app.client(creds) as client:
        try:
            user = client.me()
        except AuthError as exc:
            report.update(token_valid=False, error=exc.message)
            problem = VhLiteError("the token was rejected by the server", hint=creds.rejected_hint)
        except (NetworkError, ApiError) as exc:
            report["error"] = exc.message
            problem = VhLiteError(f"could not check the token: {exc.message}")
        else:
            report.update(token_valid=True, username=user.get("username"), user_id=user.get("id"))
    return report, problem


def _print_status(report: dict[str, Any]) -> None:
    if report["token_valid"]:
        verdict = "valid"
    elif report["token_valid"] is False:
        verdict = f"rejected by the server ({report['error']})"
    else:
        verdict = f"not checked: {report['error']}"
    user = report["username"] or "unknown"
    if report["user_id"] is not None:
        user += f" (id {report['user_id']})"
    lines = [("Profile", report["profile"])] if report["profile"] else []
    lines += [("Host", report["host"]), ("Token from", report["token_location"]),
              ("User", user), ("Token", verdict)]  # fmt: skip
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        output.write_line(f"{label + ':':<{width + 1}} {output.sanitize(str(value))}")


def status(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the facts as a JSON object with fixed keys.")
    ] = False,
) -> None:
    """Show who is logged in, where the token comes from, and whether it still works.

    Exit 0 when the token works, 4 when not logged in, 1 when the server rejects the token or
    cannot be reached. The token itself is never printed.
    """
    report, problem = _status_report(app_context(ctx))
    if as_json:
        output.write_json(report)
    elif report["logged_in"]:
        _print_status(report)
    if problem is not None:
        raise problem


def token(ctx: typer.Context) -> None:
    """Print the active token on stdout, for scripts (exit 4 when there is none).

    Example: curl -H "Authorization: Token $(vh-lite auth token)" ...
    """
    output.write_line(app_context(ctx).active_credentials().token)
