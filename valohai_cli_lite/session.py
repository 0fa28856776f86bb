"""Which host and token a command uses: environment first, then the active profile."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .config import ConfigStore, Profile
from .credentials import CredentialStore
from .errors import AuthError
from .hosts import DEFAULT_HOST, normalize_host

# Ours first, then the name Valohai's API tutorial uses, then the official `vh` client's.
TOKEN_ENV_VARS = ("VH_API_TOKEN", "VALOHAI_TOKEN")
HOST_ENV_VARS = ("VH_HOST", "VALOHAI_HOST")


@dataclass(frozen=True)
class ActiveCredentials:
    host: str
    token: str = field(repr=False)  # repr=False: never in a traceback or debug dump
    source: str  # for humans: "the VH_API_TOKEN environment variable", a file path, ...
    source_kind: str  # "env", "keyring" or "file"
    username: str | None = None


def env_token() -> tuple[str, str] | None:
    """(variable name, token) of the first token variable that is set and non-empty."""
    for name in TOKEN_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return name, value
    return None


def env_host() -> str | None:
    for name in HOST_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return normalize_host(value)
    return None


def resolve_credentials(
    profile_name: str, config: ConfigStore, credentials: CredentialStore
) -> ActiveCredentials:
    """The credentials in force, or AuthError (exit 4) telling the user how to log in."""
    from_env = env_token()
    profile: Profile | None = config.get(profile_name)
    if from_env is not None:
        var, token = from_env
        host = env_host() or (profile.host if profile else DEFAULT_HOST)
        return ActiveCredentials(host, token, f"the {var} environment variable", "env")
    if profile is None or profile.token_store is None:
        raise AuthError(
            f"not logged in (profile {profile_name!r})",
            hint="run 'vh-lite login', or set VH_API_TOKEN",
        )
    token = credentials.load(profile_name, profile.token_store, profile.keyring_backend)
    in_keyring = profile.token_store == "keyring"  # noqa: S105 (a store name, not a secret)
    source = "the system keyring" if in_keyring else str(credentials.file_path)
    return ActiveCredentials(
        profile.host, token, source, profile.token_store, username=profile.username
    )
