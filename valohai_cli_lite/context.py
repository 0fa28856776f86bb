"""AppContext: what every command's run function gets (docs/development.md)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .auth.config import ConfigStore, config_dir
from .auth.credentials import CredentialStore, KeyringLoader, keyring_timeout, system_keyring
from .auth.session import ActiveCredentials, ProfileChoice, choose_profile, resolve_credentials
from .client import DEFAULT_TIMEOUT, ClientSettings, Page, ValohaiClient
from .errors import VhLiteError
from .files import user_dir
from .kinds.kind import Record
from .terminal.progress import pages_with_progress

if TYPE_CHECKING:
    from .client.paging_cache import PagingCache
    from .terminal.iostreams import IOStreams


class GlobalOptions(NamedTuple):
    # --profile or VH_PROFILE; None: chosen by session.choose_profile (host, auth switch).
    profile: ProfileChoice | None = None
    timeout: float = DEFAULT_TIMEOUT
    debug: bool = False
    # From the command line or environment; None/False defers to what the profile saved.
    ca_file: str | None = None
    allow_insecure_http: bool = False
    system_certs: bool = False  # the operating system's trust store instead of certifi's


def _valohai_client(host: str, settings: ClientSettings) -> ValohaiClient:
    return ValohaiClient(host, settings=settings)


def _open_in_browser(url: str) -> bool:
    import webbrowser  # honours BROWSER

    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


class Services(NamedTuple):
    """The outside world a run talks to, other than its streams; tests replace parts of it."""

    environ: Mapping[str, str] = os.environ
    config_dir: Path | None = None  # None: VH_LITE_CONFIG_DIR, else the platform's config dir
    keyring: KeyringLoader | None = None  # None: the system keyring
    sleep: Callable[[float], None] = time.sleep  # between retries
    client: Callable[[str, ClientSettings], ValohaiClient] = _valohai_client  # without a token
    open_browser: Callable[[str], bool] = _open_in_browser


class AppContext:
    def __init__(
        self, io: IOStreams, options: GlobalOptions, services: Services | None = None
    ) -> None:
        self.io = io
        self.options = options
        self.services = services or Services()
        self.environ = self.services.environ

    def select_profile(self, name: str) -> None:
        """--profile given after the command word: it wins over everything before it."""
        self.options = self.options._replace(profile=ProfileChoice(name, "flag"))

    def profile_choice(self, *, for_login: bool = False) -> ProfileChoice:
        return choose_profile(self.options.profile, self.environ, self.config, for_login=for_login)

    @cached_property
    def config(self) -> ConfigStore:
        return ConfigStore(self.services.config_dir or config_dir(self.environ))

    @cached_property
    def cache_dir(self) -> Path:  # the trust store's copies, the paging cache
        return user_dir("cache", self.environ)

    @cached_property
    def paging_cache(self) -> PagingCache:
        from .client.paging_cache import PagingCache

        return PagingCache(self.cache_dir)

    @property
    def _debug(self) -> Callable[[str], None] | None:
        return self.io.debug_line if self.options.debug else None

    @cached_property
    def credentials(self) -> CredentialStore:
        injected = self.services.keyring
        return CredentialStore(
            self.config.directory,
            keyring=injected or (lambda recorded: system_keyring(recorded, self.environ)),
            # The Secret Service shortcut is skipped when keyring is told which backend to use.
            fast_secret_service=injected is None and not self.environ.get("PYTHON_KEYRING_BACKEND"),
            timeout=keyring_timeout(self.environ),
            debug=self._debug,
        )

    def active_credentials(self) -> ActiveCredentials:
        return resolve_credentials(
            self.options.profile, self.environ, lambda: self.config, lambda: self.credentials
        )

    def client_settings(
        self, *, ca_file: str | None = None, allow_insecure_http: bool = False
    ) -> ClientSettings:
        """The arguments are what the profile saved at login."""
        return ClientSettings(
            timeout=self.options.timeout,
            ca_file=self.options.ca_file or ca_file,
            system_certs=self.options.system_certs,
            allow_insecure_http=self.options.allow_insecure_http or allow_insecure_http,
            debug=self._debug,
            sleep=self.services.sleep,
            # A person waiting at a terminal hears why nothing happens; --debug says it anyway.
            notice=self.io.message if self.io.is_stderr_tty and not self.options.debug else None,
            trust_cache=self.cache_dir,
            environ=self.environ,
        )

    @contextmanager
    def api_client(self) -> Iterator[tuple[ValohaiClient, ActiveCredentials]]:
        creds = self.active_credentials()
        settings = self.client_settings(
            ca_file=creds.ca_file, allow_insecure_http=creds.allow_insecure_http
        )
        with self.services.client(creds.host, settings) as client:
            client.use_token(creds.token)
            try:
                yield client, creds
            except VhLiteError as exc:
                from .hints import explain  # only ever needed on the way out of a failure

                explain(exc, rejected_hint=creds.rejected_hint)
                raise

    def with_progress(
        self,
        pages: Generator[Page, None, None],
        noun: str,
        *,
        streams_to_stdout: bool = False,
        wanted: int | None = None,
    ) -> Generator[list[Record], None, None]:
        return pages_with_progress(
            self.io, pages, noun, streams_to_stdout=streams_to_stdout, wanted=wanted
        )
