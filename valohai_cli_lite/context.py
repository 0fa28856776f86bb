"""What every command shares: the chosen profile, the stores behind it, connection settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .client import DEFAULT_TIMEOUT, ClientSettings, ValohaiClient
from .config import ConfigStore, config_dir
from .credentials import CredentialStore
from .session import ActiveCredentials, resolve_credentials


@dataclass
class AppContext:
    profile: str
    timeout: float = DEFAULT_TIMEOUT
    debug: bool = False
    # From the command line or environment; None/False defers to what the profile saved.
    ca_file: str | None = None
    allow_insecure_http: bool = False

    @cached_property
    def config(self) -> ConfigStore:
        return ConfigStore(config_dir())

    @cached_property
    def credentials(self) -> CredentialStore:
        return CredentialStore(self.config.directory)

    def active_credentials(self) -> ActiveCredentials:
        return resolve_credentials(self.profile, lambda: self.config, lambda: self.credentials)

    def client_settings(
        self, *, ca_file: str | None = None, allow_insecure_http: bool = False
    ) -> ClientSettings:
        """Settings for one client; the arguments are what the profile saved at login."""
        from . import output

        return ClientSettings(
            timeout=self.timeout,
            ca_file=self.ca_file or ca_file,
            allow_insecure_http=self.allow_insecure_http or allow_insecure_http,
            debug=output.debug_line if self.debug else None,
        )

    def client(self, creds: ActiveCredentials) -> ValohaiClient:
        settings = self.client_settings(
            ca_file=creds.ca_file, allow_insecure_http=creds.allow_insecure_http
        )
        return ValohaiClient(
            creds.host, creds.token, settings=settings, rejected_hint=creds.rejected_hint
        )
