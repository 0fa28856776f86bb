"""vh-lite login (also `auth login`): get a token, check it, store it.

run_login goes through the steps in order: choose the host, obtain a token (pasted, piped,
or exchanged for a username and password), validate it with users/me, store it, report.
"""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

import typer

from ..client import ClientSettings, ValohaiClient
from ..config import Profile
from ..context import AppContext
from ..errors import ApiError, AuthError, UsageError, VhLiteError
from ..hints import explain
from ..hosts import normalize_host, tokens_page
from ..prompts import ask, ask_secret, ask_token, read_password_from_stdin, read_token_from_stdin
from ..session import default_host, env_token
from .common import app_context

# get-token answers these codes for accounts that cannot use a password from a client.
TOKEN_ONLY_CODES = {
    "has_2fa": "two-factor authentication",
    "has_external_identity": "single sign-on (an external identity provider)",
}


class LoginOptions(NamedTuple):
    host: str | None = None  # --host; None: ask, or the default
    with_token: bool = False  # the token comes on stdin (or a hidden prompt on a terminal)
    username: str | None = None
    password_stdin: bool = False
    insecure_storage: bool = False  # the 0600 file on purpose, not the keyring


def login_command(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            metavar="URL",
            show_default=False,
            help="Valohai installation URL (default: "
            "VH_HOST, the profile's host, else https://app.valohai.com).",
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
    if with_token and (username or password_stdin):
        raise UsageError("--with-token cannot be combined with --username/--password-stdin")
    if password_stdin and not username:
        raise UsageError("--password-stdin needs --username NAME")
    opts = LoginOptions(host, with_token, username, password_stdin, insecure_storage)
    run_login(opts, app_context(ctx))


def run_login(opts: LoginOptions, app: AppContext) -> None:
    io = app.io
    interactive = io.is_stdin_tty and not opts.password_stdin
    found = env_token(app.environ)
    if found:
        io.warning(
            f"{found[0]} is set in the environment; it takes precedence over stored logins "
            "until it is unset"
        )
    previous = app.config.get(app.profile)
    host = _choose_host(app, previous, opts.host, interactive and not opts.with_token)
    settings = _connection_settings(app, previous, host)
    with app.new_client(host, settings) as client:
        try:
            token = _obtain_token(app, client, opts, interactive)
            user = _validate(client, token)
        except VhLiteError as exc:
            explain(exc)
            raise
    stored, fallback_reason = app.credentials.save(
        app.profile, token, prefer_keyring=not opts.insecure_storage
    )
    user_id = user.get("id") if isinstance(user.get("id"), int) else None
    profile = Profile(
        host=host, username=str(user.get("username")), user_id=user_id,
        token_store=stored.kind, keyring_backend=stored.keyring_backend,
        ca_file=settings.ca_file, allow_insecure_http=settings.allow_insecure_http,
    )  # fmt: skip
    app.config.update(app.profile, lambda _old: profile)

    if fallback_reason is not None:
        io.warning(
            f"{fallback_reason}; the token is stored in PLAIN TEXT in {stored.description} "
            "(readable only by you, mode 0600). Anyone who can read that file can use your "
            "Valohai account. Install/unlock a keyring, or use VH_API_TOKEN in CI."
        )
    if previous is not None and previous.token_store is not None:
        io.message(
            f"Replaced the previous login of profile '{app.profile}' "
            f"({previous.username or 'unknown user'} on {previous.host})."
        )
    io.message(
        f"Logged in to {host} as {profile.username} (profile '{app.profile}'). "
        f"Token stored in {stored.description}."
    )


def _choose_host(
    app: AppContext, previous: Profile | None, flag: str | None, ask_user: bool
) -> str:
    """--host, else (prompting with) VH_HOST/VALOHAI_HOST, the profile's host, the default."""
    if flag is not None:
        return normalize_host(flag)
    default = default_host(previous, app.environ)
    while ask_user:
        try:
            return normalize_host(ask(app.io, "Valohai host", default=default))
        except UsageError as exc:  # a typo at a prompt deserves another try, not an exit
            app.io.message(f"{exc.message}; try again.")
    return default


def _connection_settings(app: AppContext, previous: Profile | None, host: str) -> ClientSettings:
    """Settings for the new login: a CA file and plain-http consent carry over from an
    earlier login to the same host."""
    same_host = previous is not None and previous.host == host
    return app.client_settings(
        ca_file=previous.ca_file if previous and same_host else None,
        allow_insecure_http=bool(previous and same_host and previous.allow_insecure_http),
    )


def _obtain_token(
    app: AppContext, client: ValohaiClient, opts: LoginOptions, interactive: bool
) -> str:
    io = app.io
    if opts.with_token:
        if io.is_stdin_tty:
            return ask_token(io, "Paste your API token (hidden)")
        return read_token_from_stdin(io)
    if opts.username is not None:
        if opts.password_stdin:
            password = read_password_from_stdin(io)
        elif interactive:
            password = ask_secret(io, f"Password for {opts.username}")
        else:
            raise UsageError(
                "standard input is not a terminal; pass the password with --password-stdin"
            )
        return _token_for_password(app, client, opts.username, password, interactive)
    if not interactive:
        raise UsageError(
            "standard input is not a terminal, so vh-lite cannot ask for credentials",
            hint="use --with-token (token on stdin) or --username NAME --password-stdin",
        )
    io.message(
        f"Log in with a username and password, or with an API token from {tokens_page(client.host)}"
    )
    entered = ask(io, "Username (leave empty to paste an API token)", default="")
    if not entered:
        return ask_token(io, "API token (hidden)")
    password = ask_secret(io, "Password (hidden)")
    return _token_for_password(app, client, entered, password, interactive)


def _token_for_password(
    app: AppContext, client: ValohaiClient, username: str, password: str, interactive: bool
) -> str:
    try:
        return client.get_token(username, password)
    except (ApiError, AuthError) as exc:
        # The status of this answer is not known (400, 401 and 403 are all plausible); like
        # the official client, the code decides.
        if exc.code in TOKEN_ONLY_CODES:
            url = tokens_page(client.host)
            explanation = (
                f"this account uses {TOKEN_ONLY_CODES[exc.code]}, so it cannot log in with a "
                f"password; create a personal API token at {url}"
            )
            if interactive:
                app.io.message(explanation.capitalize() + ".")
                return ask_token(app.io, "Paste the API token (hidden)")
            raise AuthError(explanation, hint="then run: vh-lite login --with-token") from None
        if exc.status is not None and 400 <= exc.status < 500:
            raise AuthError(f"login failed: {exc.message}", status=exc.status) from None
        raise


def _validate(client: ValohaiClient, token: str) -> dict[str, Any]:
    """users/me with the new token: nothing is stored unless the server accepts it."""
    client.use_token(token)
    try:
        return client.me()
    except AuthError as exc:
        raise AuthError(
            f"the server rejected the token ({exc.message}); nothing was stored"
        ) from None
