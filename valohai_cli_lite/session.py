"""Which host and token a command uses: environment first, then the active profile."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from .config import ConfigStore, Profile, login_command
from .credentials import CredentialStore
from .errors import AuthError, check_token
from .hosts import DEFAULT_HOST, normalize_host

# The name Valohai's API tutorial uses first, then the official `vh` client's.
TOKEN_ENV_VARS = ("VH_API_TOKEN", "VALOHAI_TOKEN")
HOST_ENV_VARS = ("VH_HOST", "VALOHAI_HOST")


class ActiveCredentials(NamedTuple):
    host: str
    token: str  # never in repr(): see __repr__
    source: str  # for humans: "the VH_API_TOKEN environment variable", a file path, ...
    source_kind: str  # "env", "keyring" or "file"
    # What to do when the server rejects the token: depends on where the token came from.
    rejected_hint: str
    username: str | None = None
    # Connection settings the profile saved at login (environment tokens have none).
    ca_file: str | None = None
    allow_insecure_http: bool = False

    def __repr__(self) -> str:  # never the token, in a traceback or a debug dump
        return f"ActiveCredentials(host={self.host!r}, source={self.source!r})"


def env_token(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(variable name, token) of the first token variable that is set and non-empty."""
    for name in TOKEN_ENV_VARS:
        value = environ.get(name, "").strip()
        if value:
            return name, value
    return None


def env_host(environ: Mapping[str, str]) -> str | None:
    for name in HOST_ENV_VARS:
        value = environ.get(name, "").strip()
        if value:
            return normalize_host(value)
    return None


def resolve_credentials(
    profile_name: str,
    environ: Mapping[str, str],
    config: Callable[[], ConfigStore],
    credentials: Callable[[], CredentialStore],
) -> ActiveCredentials:
    """The credentials in force, or AuthError (exit 4) telling the user how to log in.

    The stores are passed as getters: with a token and a host in the environment (CI),
    nothing on disk is needed and the config directory is never even located.
    """
    from_env = env_token(environ)
    if from_env is not None:
        var, token = from_env
        check_token(token, f"the {var} environment variable")
        host = env_host(environ) or default_host(config().get(profile_name), {})
        return ActiveCredentials(
            host, token, f"the {var} environment variable", "env",
            rejected_hint=f"the token in {var} may have expired or been revoked: "
            f"update or unset {var}",
        )  # fmt: skip
    profile = config().get(profile_name)
    store = credentials()
    if profile is None or profile.token_store is None:
        raise AuthError(
            f"not logged in (profile {profile_name!r})",
            hint=f"run '{login_command(profile_name)}', or set VH_API_TOKEN",
        )
    token = store.load(profile_name, profile.token_store, profile.keyring_backend)
    source = "the system keyring" if profile.in_keyring else str(store.file_path)
    return ActiveCredentials(
        profile.host, token, source, profile.token_store,
        rejected_hint="the stored token may have expired or been revoked; log in again: "
        f"{login_command(profile_name)}", username=profile.username,
        ca_file=profile.ca_file, allow_insecure_http=profile.allow_insecure_http,
    )  # fmt: skip


def default_host(profile: Profile | None, environ: Mapping[str, str]) -> str:
    """VH_HOST, then VALOHAI_HOST, then the profile's host, then app.valohai.com."""
    return env_host(environ) or (profile.host if profile else DEFAULT_HOST)
