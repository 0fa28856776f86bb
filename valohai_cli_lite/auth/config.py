"""Profiles, in config.json; never a secret (see credentials.py). One host + user each, so a
user can be logged in to app.valohai.com and a self-hosted installation at once."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import ConfigError, UsageError
from ..files import locked, read_profiles_file, user_dir, write_json_atomically

PROFILE_ENV = "VH_PROFILE"
DEFAULT_PROFILE = "default"
CONFIG_FORMAT_VERSION = 1
ACTIVE_KEY = "active_profile"  # top level of config.json: the profile `auth switch` chose

_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

config_dir = functools.partial(user_dir, "config")


def login_command(profile: str) -> str:
    return "vh-lite login" if profile == DEFAULT_PROFILE else f"vh-lite login --profile {profile}"


def validate_profile_name(name: str) -> str:
    if not _PROFILE_NAME.match(name):
        raise UsageError(
            f"invalid profile name {name!r}: use letters, digits, '.', '_' and '-' "
            "(at most 64, starting with a letter or digit)"
        )
    return name


class Profile(NamedTuple):
    host: str
    username: str | None = None
    user_id: int | None = None
    token_store: str | None = None  # "keyring" or "file"
    # The keyring backend that took the token, so reading it loads that one, not all of them.
    keyring_backend: str | None = None
    # Connection settings given at login, kept for every later command of this profile.
    ca_file: str | None = None
    allow_insecure_http: bool = False

    @property
    def in_keyring(self) -> bool:
        return self.token_store == "keyring"  # noqa: S105 (a store name, not a secret)


class ConfigStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "config.json"

    def profile_names(self) -> list[str]:
        return sorted(read_profiles_file(self.path)["profiles"])

    def get(self, name: str) -> Profile | None:
        return self._profile_in(read_profiles_file(self.path), name)

    def profiles(self) -> dict[str, Profile]:
        data = read_profiles_file(self.path)
        found = ((name, self._profile_in(data, name)) for name in sorted(data["profiles"]))
        return {name: profile for name, profile in found if profile is not None}

    def active_profile(self) -> str | None:
        active = read_profiles_file(self.path).get(ACTIVE_KEY)
        return active if isinstance(active, str) and _PROFILE_NAME.match(active) else None

    def set_active_profile(self, name: str | None) -> None:
        with self._rewriting() as data:
            data.pop(ACTIVE_KEY, None)
            if name is not None:
                data[ACTIVE_KEY] = name

    @contextlib.contextmanager
    def _rewriting(self) -> Iterator[dict[str, Any]]:
        with locked(self.directory):
            data = read_profiles_file(self.path)
            yield data
            data["version"] = CONFIG_FORMAT_VERSION
            write_json_atomically(self.path, data)

    def check_writable(self) -> None:
        """ConfigError now if config.json cannot be written, so a command can fail before it
        changes anything anywhere else."""
        with locked(self.directory):
            write_json_atomically(self.path, read_profiles_file(self.path))

    def _profile_in(self, data: dict[str, Any], name: str) -> Profile | None:
        raw = data["profiles"].get(name)
        if raw is None:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("host"), str):
            raise ConfigError(
                f"{self.path}: profile {name!r} is malformed "
                f"({'missing host' if isinstance(raw, dict) else 'not an object'})",
                hint=f"fix it by hand, or log in again with --profile {name}",
            )
        return Profile(**{k: v for k, v in raw.items() if k in Profile._fields})

    def update(self, name: str, change: Callable[[Profile | None], Profile | None]) -> None:
        """`change` returning None deletes the profile."""
        with self._rewriting() as data:
            new = change(self._profile_in(data, name))
            if new is None:
                data["profiles"].pop(name, None)
            else:
                data["profiles"][name] = {
                    k: v for k, v in new._asdict().items() if v is not None and v is not False
                }
