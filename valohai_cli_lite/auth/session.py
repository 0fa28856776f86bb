"""Which host, profile and token a command uses: the precedence is docs/configuration.md's
table. A stored token is only ever sent to the host it was issued for: a host variable naming
another host is an error, never a redirect."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal, NamedTuple

from ..client.hosts import DEFAULT_HOST, normalize_host
from ..errors import AuthError, UsageError, check_token
from .config import DEFAULT_PROFILE, ConfigStore, Profile, login_command
from .credentials import CredentialStore

# The name Valohai's API tutorial uses first, then the official `vh` client's.
TOKEN_ENV_VARS = ("VH_API_TOKEN", "VALOHAI_TOKEN")
HOST_ENV_VARS = ("VH_HOST", "VALOHAI_HOST")

# --profile, VH_PROFILE, the host variable, or `auth switch` else "default".
ProfileSource = Literal["flag", "env", "host", "default"]


class ProfileChoice(NamedTuple):
    name: str
    source: ProfileSource


class ActiveCredentials(NamedTuple):
    host: str
    token: str  # never in repr(): see __repr__
    source: str  # for humans: "the VH_API_TOKEN environment variable", a file path, ...
    source_kind: str  # "env", "keyring" or "file"
    rejected_hint: str  # advice for a rejected token: depends on where it came from
    # What the profile saved at login (environment tokens have none).
    username: str | None = None
    user_id: int | None = None
    ca_file: str | None = None
    allow_insecure_http: bool = False
    profile: ProfileChoice | None = None  # None for a token from the environment

    def __repr__(self) -> str:  # never the token, in a traceback or a debug dump
        return f"ActiveCredentials(host={self.host!r}, source={self.source!r})"


def _first_set(environ: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str] | None:
    return next(((name, value) for name in names if (value := environ.get(name, "").strip())), None)


def env_token(environ: Mapping[str, str]) -> tuple[str, str] | None:
    return _first_set(environ, TOKEN_ENV_VARS)


def env_host_setting(environ: Mapping[str, str]) -> tuple[str, str] | None:
    found = _first_set(environ, HOST_ENV_VARS)
    return (found[0], normalize_host(found[1])) if found else None


def default_host(profile: Profile | None, environ: Mapping[str, str]) -> str:
    found = env_host_setting(environ)
    return found[1] if found else (profile.host if profile else DEFAULT_HOST)


def choose_profile(
    explicit: ProfileChoice | None,
    environ: Mapping[str, str],
    config: ConfigStore,
    *,
    for_login: bool = False,
) -> ProfileChoice:
    """With a host variable and no profile named, the one logged in there; `for_login` falls
    back to the default when none is, as logging in there is what the user is doing."""
    if explicit is not None:
        return explicit
    active = config.active_profile() or DEFAULT_PROFILE
    if (host_setting := env_host_setting(environ)) is None:
        return ProfileChoice(active, "default")
    var, host = host_setting
    on_host = [name for name, p in config.profiles().items() if p.host == host and p.token_store]
    if active in on_host or len(on_host) == 1:
        return ProfileChoice(active if active in on_host else on_host[0], "host")
    if on_host:
        raise UsageError(
            f"{len(on_host)} profiles are logged in to {host} ({var}): {', '.join(on_host)}",
            hint="pick one with --profile NAME",
        )
    if for_login:
        return ProfileChoice(active, "default")
    raise AuthError(
        f"not logged in to {host} ({var})",
        hint=f"run 'vh-lite login --host {host}', or set VH_API_TOKEN",
    )


def resolve_credentials(
    explicit: ProfileChoice | None,
    environ: Mapping[str, str],
    config: Callable[[], ConfigStore],
    credentials: Callable[[], CredentialStore],
) -> ActiveCredentials:
    """Stores are getters: with a token and a host in the environment, no disk is looked at."""
    if found := env_token(environ):
        var, token = found
        check_token(token, f"the {var} environment variable")
        profile = None
        if env_host_setting(environ) is None:
            profile = (store := config()).get(choose_profile(explicit, {}, store).name)
        return ActiveCredentials(
            default_host(profile, environ), token, f"the {var} environment variable", "env",
            rejected_hint=f"the token in {var} may have expired or been revoked: "
            f"update or unset {var}",
        )  # fmt: skip
    store = config()
    choice = choose_profile(explicit, environ, store)
    profile = store.get(choice.name)
    if profile is None or profile.token_store is None:
        from .vh import vh_login_exists  # only ever needed on the way to this error

        login = login_command(choice.name)
        hint = f"run '{login}', or set VH_API_TOKEN"
        if vh_login_exists(environ):
            hint = f"vh is logged in here: import its login with '{login} --from-vh'"
        raise AuthError(f"not logged in (profile {choice.name!r})", hint=hint)
    if (host_setting := env_host_setting(environ)) and host_setting[1] != profile.host:
        var, host = host_setting
        raise AuthError(
            f"profile {choice.name!r} is logged in to {profile.host}, not to {host} ({var}); "
            "its token is not sent anywhere else",
            hint=f"unset {var}, or log in there: vh-lite login --host {host} --profile NAME",
        )
    token = credentials().load(
        choice.name, profile.host, profile.token_store, profile.keyring_backend
    )
    source = "the system keyring" if profile.in_keyring else str(credentials().file_path)
    return ActiveCredentials(
        profile.host, token, source, profile.token_store,
        rejected_hint="the stored token may have expired or been revoked; log in again: "
        f"{login_command(choice.name)}", username=profile.username, user_id=profile.user_id,
        ca_file=profile.ca_file, allow_insecure_http=profile.allow_insecure_http,
        profile=choice,
    )  # fmt: skip
