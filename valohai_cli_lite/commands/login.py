"""vh-lite login (also `auth login`): choose the profile and host, get a token (pasted,
piped, from the browser's token page, or for a username and password), check it, store it."""

import re
from typing import Annotated, NamedTuple

import typer

from ..auth.config import Profile
from ..auth.credentials import KeyringUnavailable, unlock_advice
from ..auth.session import default_host, env_token
from ..auth.vh import read_vh_login
from ..client import ClientSettings, ValohaiClient
from ..client.hosts import DEFAULT_HOST, api_url, normalize_host, tokens_page
from ..context import AppContext
from ..errors import ApiError, AuthError, NetworkError, UsageError, VhLiteError, register_secret
from ..hints import explain
from ..terminal import prompts
from .options import app_context, complete_profiles

# get-token answers these codes for accounts that cannot use a password from a client.
TOKEN_ONLY_CODES = {
    "has_2fa": "two-factor authentication",
    "has_external_identity": "single sign-on (an external identity provider)",
}
PASSWORD_TRIES = 3
# "http//host", "https:/host", "http:host": a scheme with its punctuation mistyped.
_MISTYPED_SCHEME = re.compile(r"^(https?)(?::/?|//|:?/{3,})(?!/)(.+)$", re.IGNORECASE)
PROBE_TIMEOUT = 10.0


class LoginOptions(NamedTuple):
    host: str | None = None  # --host; None: ask, or the default
    with_token: bool = False  # the token comes on stdin (or a hidden prompt on a terminal)
    username: str | None = None
    password_stdin: bool = False
    insecure_storage: bool = False  # the 0600 file on purpose, not the keyring
    web: bool = False  # open the token page in a browser, then paste the token
    force: bool = False  # replace an existing login without asking
    from_vh: bool = False  # the official client's login (auth/vh.py)


def login_command(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            metavar="URL",
            help="Valohai installation URL (default: VH_HOST, the profile's host, else "
            "https://app.valohai.com).",
        ),
    ] = None,
    with_token: Annotated[
        bool, typer.Option("--with-token", help="Read an API token from standard input.")
    ] = False,
    web: Annotated[
        bool,
        typer.Option(
            "--web", help="Open the page that creates API tokens in your browser, then paste one."
        ),
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
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing login without asking.")
    ] = False,
    from_vh: Annotated[
        bool,
        typer.Option(
            "--from-vh",
            help="Import the official client's (vh's) login: its host "
            "and token, checked with the server, then stored like any other.",
        ),
    ] = False,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            metavar="NAME",
            autocompletion=complete_profiles,
            help="Profile to log in to (also accepted before the command).",
        ),
    ] = None,
    # vh's flags: a secret in argv is seen by every user of the machine (ps) and kept in shell
    # history. Refused (never stored, never shown) with what to say instead.
    vh_password: Annotated[str | None, typer.Option("-p", "--password", hidden=True)] = None,
    vh_token: Annotated[str | None, typer.Option("-t", "--token", hidden=True)] = None,
) -> None:
    """Log in to Valohai and store the token securely.

    Examples:
      vh-lite login
      vh-lite login --web --host https://valohai.example.com
      vh-lite login --with-token < token.txt
    """  # fmt: skip
    for secret in filter(None, (vh_password, vh_token)):
        register_secret(secret)
    if vh_password is not None:
        raise UsageError(
            "login takes no password on the command line (vh's -p/--password), where other "
            "users can see it",
            hint="type it at the prompt, or pipe it: --username NAME --password-stdin; for a "
            "profile, say --profile NAME",
        )
    if vh_token is not None:
        raise UsageError(
            "login takes no token on the command line (vh's -t/--token), where other users can "
            "see it",
            hint="pipe it: vh-lite login --with-token < token.txt",
        )
    if sum((with_token, web, username is not None, from_vh)) > 1:
        raise UsageError("choose one of --with-token, --web, --username and --from-vh")
    if from_vh and host is not None:
        raise UsageError("--from-vh takes vh's host; leave out --host")
    if password_stdin and not username:
        raise UsageError("--password-stdin needs --username NAME")
    opts = LoginOptions(
        host, with_token, username, password_stdin, insecure_storage, web, force, from_vh
    )
    run_login(opts, app_context(ctx, profile))


def run_login(opts: LoginOptions, app: AppContext) -> None:
    io = app.io
    interactive = io.is_stdin_tty and not opts.password_stdin
    if opts.web and not io.is_stdin_tty:
        raise UsageError(
            "--web needs a terminal to paste the token into",
            hint="in a script, use --with-token (token on stdin)",
        )
    if found := env_token(app.environ):
        io.warning(
            f"{found[0]} is set in the environment; it takes precedence over stored logins "
            "until it is unset"
        )
    name = app.profile_choice(for_login=True).name
    previous = app.config.get(name)
    old_login = previous if previous is not None and previous.token_store is not None else None
    if old_login is not None and interactive and not opts.force:
        who = f"{old_login.username or 'an unknown user'} on {old_login.host}"
        if not prompts.confirm(io, f"Profile '{name}' is logged in as {who}. Replace that login?"):
            raise VhLiteError(f"login cancelled; profile '{name}' is unchanged")
    vh = read_vh_login(app.environ, app.options.ca_file) if opts.from_vh else None
    if vh is not None:
        host, settings = vh.host, app.client_settings(ca_file=vh.ca_file)
    else:
        ask_user = interactive and not opts.with_token
        host, settings = _choose_host(app, previous, opts.host, ask_user=ask_user)
    with app.services.client(host, settings) as client:
        token = vh.token if vh is not None else _obtain_token(app, client, opts, interactive)
        client.use_token(token)
        try:
            user = client.me()
        except AuthError as exc:  # nothing is stored unless the server accepts the token
            raise AuthError(
                f"the server rejected the token ({exc.message}); nothing was stored"
            ) from None
    # config.json must be writable before the token goes anywhere, and an old token in an
    # unreachable keyring blocks the login rather than being orphaned there.
    app.config.check_writable()
    try:
        stored, fallback_reason = app.credentials.save(
            name, host, token, prefer_keyring=not opts.insecure_storage,
            replaces_keyring=previous is not None and previous.in_keyring,
        )  # fmt: skip
    except KeyringUnavailable as exc:
        raise VhLiteError(
            f"the current login of profile '{name}' is in the system keyring, which cannot be "
            f"reached ({exc}); nothing was changed",
            hint=f"{unlock_advice()}, then log in again",
        ) from None
    user_id = user.get("id") if isinstance(user.get("id"), int) else None
    profile = Profile(
        host=host, username=str(user.get("username")), user_id=user_id,
        token_store=stored.kind, keyring_backend=stored.keyring_backend,
        ca_file=settings.ca_file, allow_insecure_http=settings.allow_insecure_http,
    )  # fmt: skip
    app.config.update(name, lambda _old: profile)

    if fallback_reason is not None:
        io.warning(
            f"{fallback_reason}; the token is stored in PLAIN TEXT in {stored.description} "
            "(readable only by you, mode 0600). Anyone who can read that file can use your "
            "Valohai account. Install/unlock a keyring, or use VH_API_TOKEN in CI."
        )
    if old_login is not None:
        io.message(
            f"Replaced the previous login of profile '{name}' "
            f"({old_login.username or 'unknown user'} on {old_login.host})."
        )
    imported = f" with vh's login ({vh.path}, left as it was)" if vh is not None else ""
    io.message(
        f"Logged in to {host} as {profile.username} (profile '{name}'){imported}. "
        f"Token stored in {stored.description}."
    )


def _choose_host(
    app: AppContext, previous: Profile | None, flag: str | None, *, ask_user: bool
) -> tuple[str, ClientSettings]:
    """On a terminal the host is checked as soon as it is entered (shape, name, connection,
    TLS, plain-http policy) and asked for again."""
    if flag is not None or not ask_user:
        host = parse_host(flag) if flag is not None else default_host(previous, app.environ)
        return host, _connection_settings(app, previous, host)
    default = default_host(previous, app.environ)
    while True:
        try:
            typed = prompts.ask(app.io, "Valohai host", default=default)
            host = parse_host(typed)
            if "://" not in typed:
                app.io.message(f"No scheme given: using {host}")
            settings = _connection_settings(app, previous, host)
            check_host(app, host, settings)
            return host, settings
        except (UsageError, NetworkError) as exc:  # a typo deserves another try, not an exit
            text = exc.message + (f" ({exc.hint})" if exc.hint else "")
            app.io.message(f"{text.rstrip('.')}. Try again.")


def _connection_settings(app: AppContext, previous: Profile | None, host: str) -> ClientSettings:
    """A CA file and plain-http consent carry over from an earlier login to the same host."""
    if previous is None or previous.host != host:
        return app.client_settings()
    return app.client_settings(
        ca_file=previous.ca_file, allow_insecure_http=previous.allow_insecure_http
    )


def _obtain_token(
    app: AppContext, client: ValohaiClient, opts: LoginOptions, interactive: bool
) -> str:
    io = app.io
    if opts.with_token:
        if io.is_stdin_tty:
            return prompts.ask_token(io, "Paste your API token (hidden)")
        return prompts.read_token_from_stdin(io)
    url = tokens_page(client.host)
    if opts.web:
        if app.services.open_browser(url):
            io.message(f"Opened {url} in your browser: create a token there and paste it here.")
        else:
            io.message(f"Open {url} in your browser, create a token there and paste it here.")
        return prompts.ask_token(io, "API token (hidden)")
    if opts.username is not None:
        if io.is_stdin_tty:
            return _password_login(app, client, opts.username)
        if opts.password_stdin:
            password = prompts.read_password_from_stdin(io)
            return _token_for_password(app, client, opts.username, password)
        raise UsageError(
            "standard input is not a terminal; pass the password with --password-stdin"
        )
    if not interactive:
        raise UsageError(
            "standard input is not a terminal, so vh-lite cannot ask for credentials",
            hint="use --with-token (token on stdin) or --username NAME --password-stdin",
        )
    # An explicit choice, so a token is never pasted at a prompt that echoes it.
    ways = [f"Paste an API token (create one at {url})", "Username and password"]
    if prompts.choose(io, "How do you want to log in?", ways) == 1:
        return prompts.ask_token(io, "API token (hidden)")
    return _password_login(app, client, None)


def _password_login(app: AppContext, client: ValohaiClient, username: str | None) -> str:
    """Up to three tries at a username and its password on a terminal; after a rejected pair
    the username is asked again (the last one as its default), so either half can be fixed."""
    for attempt in range(1, PASSWORD_TRIES + 1):
        if username is None or attempt > 1:
            username = prompts.ask(app.io, "Username", default=username)
        password = prompts.ask_secret(app.io, f"Password for {username} (hidden)")
        try:
            return _token_for_password(app, client, username, password)
        except AuthError as exc:
            if exc.code is not None or attempt == PASSWORD_TRIES:
                raise
            app.io.message(f"{exc.message.rstrip('.')}. Try again.")
    raise AssertionError("unreachable")  # pragma: no cover


def _token_for_password(
    app: AppContext, client: ValohaiClient, username: str, password: str
) -> str:
    try:
        return client.get_token(username, password)
    except (ApiError, AuthError) as exc:
        # The status of this answer is not known (400, 401 and 403 are all plausible); like
        # the official client, the code decides.
        if exc.code in TOKEN_ONLY_CODES:
            explanation = (
                f"this account uses {TOKEN_ONLY_CODES[exc.code]}, so it cannot log in with a "
                f"password; create a personal API token at {tokens_page(client.host)}"
            )
            if app.io.is_stdin_tty:
                app.io.message(explanation[0].upper() + explanation[1:] + ".")
                return prompts.ask_token(app.io, "Paste the API token (hidden)")
            host = "" if client.host == DEFAULT_HOST else f" --host {client.host}"
            raise AuthError(
                explanation, hint=f"then run: vh-lite login{host} --with-token"
            ) from None
        if exc.status is not None and 400 <= exc.status < 500:  # the server's own words
            reason = exc.words or exc.message
            raise AuthError(f"login failed: {reason}", status=exc.status) from None
        raise


def parse_host(raw: str) -> str:
    """The normalised host, or a UsageError that says what looks wrong and what was meant."""
    text = raw.strip()
    if any(ch.isspace() for ch in text):
        raise UsageError(f"{text!r} has a space in it; a host URL has none")
    mistyped = _MISTYPED_SCHEME.match(text)
    if mistyped and "://" not in text:
        meant = f"{mistyped.group(1).lower()}://{mistyped.group(2)}"
        raise UsageError(f"{text!r} is not a valid URL; did you mean {meant}?")
    return normalize_host(text)


def check_host(app: AppContext, host: str, settings: ClientSettings) -> None:
    """One quick request to the API root (no token, no retries): could a login work there?"""
    probe = settings._replace(max_attempts=1, timeout=min(settings.timeout, PROBE_TIMEOUT))
    with app.services.client(host, probe) as client:
        try:
            client.check_plain_http()
            response = client.send("GET", api_url(host, ""), authenticated=False)
        except (UsageError, NetworkError) as exc:
            raise explain(exc) from None
    if response.status_code == 400 and "plain HTTP request was sent to HTTPS port" in response.text:
        https = "https://" + host.removeprefix("http://")
        raise UsageError(f"{host} expects TLS on that port; did you mean {https}?")
