"""What every command shares: the chosen profile and the stores behind it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .config import ConfigStore, config_dir
from .credentials import CredentialStore
from .session import ActiveCredentials, resolve_credentials


@dataclass
class AppContext:
    profile: str

    @cached_property
    def config(self) -> ConfigStore:
        return ConfigStore(config_dir())

    @cached_property
    def credentials(self) -> CredentialStore:
        return CredentialStore(self.config.directory)

    def active_credentials(self) -> ActiveCredentials:
        return resolve_credentials(self.profile, lambda: self.config, lambda: self.credentials)
