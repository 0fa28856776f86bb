"""Token storage: the system keyring first, a 0600 file only when no keyring works. Every
keyring call has a deadline (a worker thread): a locked Secret Service can pop up an unlock
prompt nobody answers, a broken D-Bus can hang forever; either must end in a clear message
(and, for login, the file fallback), never a frozen CLI."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar, cast

from ..errors import AuthError, ConfigError, check_token
from ..files import locked, read_profiles_file, write_json_atomically
from .config import login_command

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

KEYRING_SERVICE = "vh-lite"
DEFAULT_KEYRING_TIMEOUT = 5.0
SECRET_SERVICE_BACKEND = "keyring.backends.SecretService.Keyring"  # noqa: S105 (a class path)

# keyring's exception names (and secretstorage's) -> what happened, in a user's words.
_KEYRING_ERRORS = {
    "KeyringLocked": "the system keyring is locked",
    "LockedException": "the system keyring is locked",
    "PromptDismissedException": "the request to unlock the system keyring was dismissed",
    "InitError": "the system keyring could not be opened",
    "PasswordSetError": "the system keyring refused to store the token",
    "NoKeyringError": "no usable system keyring was found",
    "SecretServiceNotAvailableException": "the Secret Service (D-Bus) is not available",
}

T = TypeVar("T")
KeyringLoader = Callable[[str | None], "KeyringBackend"]


class KeyringUnavailable(Exception):
    """The keyring cannot be used now; the message says why, in a user's words."""


class StoredAt(NamedTuple):
    kind: Literal["keyring", "file"]
    description: str  # shown to users: "the system keyring (SecretService)" or a file path
    keyring_backend: str | None = None


def keyring_timeout(environ: Mapping[str, str]) -> float:
    try:
        return float(environ.get("VH_KEYRING_TIMEOUT", DEFAULT_KEYRING_TIMEOUT))
    except ValueError:
        return DEFAULT_KEYRING_TIMEOUT


def _with_deadline(call: Callable[[], T], timeout: float) -> T:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except KeyringUnavailable as exc:
            outcome["error"] = exc
        except Exception as exc:  # said in a user's words, never re-raised raw
            name, detail = type(exc).__name__, str(exc).strip()
            known = _KEYRING_ERRORS.get(name)
            if not known:
                known, detail = "the system keyring failed", f"{name}: {detail or 'no details'}"
            outcome["error"] = KeyringUnavailable(f"{known} ({detail})" if detail else known)

    # A daemon thread: if the keyring hangs, the process can still exit after we give up.
    worker = threading.Thread(target=target, name="vh-lite-keyring", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise KeyringUnavailable(f"the system keyring did not answer within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return cast(T, outcome["value"])


def _describe_backend(backend: KeyringBackend) -> str:
    # keyring.backends.SecretService.Keyring -> "SecretService"
    return type(backend).__module__.rpartition(".")[2]


def system_keyring(
    recorded: str | None = None, environ: Mapping[str, str] = os.environ
) -> KeyringBackend:
    """Call it inside _with_deadline with the operation, so one deadline covers both. The
    backend login recorded is loaded directly (discovering every installed one is slow), unless
    PYTHON_KEYRING_BACKEND names one, as keyring users expect."""
    import keyring.core
    from keyring.backends import chainer, fail, null

    backend: KeyringBackend | None = None
    if recorded and not environ.get("PYTHON_KEYRING_BACKEND"):
        with contextlib.suppress(Exception):  # gone or not viable now: discover afresh
            backend = keyring.core.load_keyring(recorded)
    if backend is None:
        backend = keyring.get_keyring()
    empty_chain = isinstance(backend, chainer.ChainerBackend) and not backend.backends
    if isinstance(backend, fail.Keyring | null.Keyring) or empty_chain:
        raise KeyringUnavailable("no usable system keyring was found")
    return backend


def _read_secret_service(account: str) -> str | None:
    """The item keyring's SecretService backend wrote, read as it does without importing slow
    keyring, from the default collection only: keyring's (a match elsewhere may be stale). A
    locked item sends the caller to keyring, which can ask to unlock (docs/performance.md)."""
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        default = secretstorage.Collection(connection)  # the "default" alias
        for item in default.search_items({"service": KEYRING_SERVICE, "username": account}):
            try:
                secret: bytes = item.get_secret()
            except secretstorage.LockedException as exc:
                raise KeyringUnavailable("the keyring item is locked") from exc
            return secret.decode("utf-8")
        return None
    finally:
        connection.close()


def unlock_advice() -> str:
    """How to unlock the system keyring here: logging in again needs it unlocked too."""
    if sys.platform == "darwin":
        return "unlock the login keychain: security unlock-keychain"
    return ("unlock the keyring: in a terminal, run 'gnome-keyring-daemon --unlock' and type "
            "its password (then Ctrl-D), or open your desktop's Passwords and Keys")  # fmt: skip


class CredentialStore:
    def __init__(
        self,
        directory: Path,
        *,
        keyring: KeyringLoader = system_keyring,
        fast_secret_service: bool = True,
        timeout: float = DEFAULT_KEYRING_TIMEOUT,
        debug: Callable[[str], None] | None = None,
    ) -> None:
        self.directory = directory
        self.file_path = directory / "credentials.json"
        self._keyring = keyring
        self._fast_secret_service = fast_secret_service
        self._timeout = timeout
        self._debug = debug or (lambda _text: None)

    def _keyring_account(self, profile: str) -> str:
        # The keyring is shared by every config directory of this user; naming the directory
        # keeps a demo or test (VH_LITE_CONFIG_DIR=/tmp/...) from overwriting a real login.
        return f"{profile} ({self.directory})"

    def _save_to_keyring(self, profile: str, secret: str) -> StoredAt:
        account = self._keyring_account(profile)

        def store() -> KeyringBackend:
            backend = self._keyring(None)
            backend.set_password(KEYRING_SERVICE, account, secret)
            return backend

        backend = _with_deadline(store, self._timeout)
        name = f"{type(backend).__module__}.{type(backend).__name__}"
        return StoredAt("keyring", f"the system keyring ({_describe_backend(backend)})", name)

    def _load_from_keyring(self, profile: str, recorded_backend: str | None) -> str | None:
        account = self._keyring_account(profile)
        if recorded_backend == SECRET_SERVICE_BACKEND and self._fast_secret_service:
            try:
                token = _with_deadline(lambda: _read_secret_service(account), self._timeout)
            except KeyringUnavailable as exc:
                self._debug(f"reading the Secret Service directly failed ({exc})")
                token = None  # locked, or something unusual: let keyring itself handle it
            if token is not None:
                self._debug("token read from the Secret Service directly (secretstorage)")
                return token

        def load() -> tuple[str | None, KeyringBackend]:
            backend = self._keyring(recorded_backend)
            return backend.get_password(KEYRING_SERVICE, account), backend

        token, backend = _with_deadline(load, self._timeout)
        self._debug(f"token read through keyring ({_describe_backend(backend)} backend)")
        return token

    def _delete_from_keyring(self, profile: str) -> bool:
        account = self._keyring_account(profile)

        def delete() -> bool:
            from keyring.errors import PasswordDeleteError

            try:
                self._keyring(None).delete_password(KEYRING_SERVICE, account)
            except PasswordDeleteError:
                return False
            return True

        return _with_deadline(delete, self._timeout)

    def _save_to_file(self, profile: str, host: str, token: str) -> StoredAt:
        with locked(self.directory):
            data = read_profiles_file(self.file_path)
            data["profiles"][profile] = {"host": host, "token": token}
            write_json_atomically(self.file_path, data)
        return StoredAt("file", str(self.file_path))

    def _delete_from_file(self, profile: str) -> bool:
        if not self.file_path.exists():
            return False
        with locked(self.directory):
            data = read_profiles_file(self.file_path)
            if profile not in data["profiles"]:
                return False
            del data["profiles"][profile]
            if data["profiles"] or len(data) > 1:
                write_json_atomically(self.file_path, data)
            else:
                try:
                    self.file_path.unlink()
                except OSError as exc:
                    raise ConfigError(f"cannot remove {self.file_path}: {exc.strerror}") from None
        return True

    def save(
        self,
        profile: str,
        host: str,
        token: str,
        *,
        prefer_keyring: bool,
        replaces_keyring: bool = False,
    ) -> tuple[StoredAt, str | None]:
        """Where the token went, and why not to the keyring. Any copy in the other place goes, so
        no old plain-text token lingers. `replaces_keyring` (the current token is there): if the
        keyring is unreachable, KeyringUnavailable propagates rather than orphan the old token."""
        if prefer_keyring:
            try:
                stored = self._save_to_keyring(profile, json.dumps({"host": host, "token": token}))
            except KeyringUnavailable as exc:
                if replaces_keyring:
                    raise
                return self._save_to_file(profile, host, token), str(exc)
            self._delete_from_file(profile)
            return stored, None
        if replaces_keyring:  # the current token: if it cannot go, nothing changes
            self._delete_from_keyring(profile)
        stored = self._save_to_file(profile, host, token)
        if not replaces_keyring:  # a copy from an older login goes, if it can, once the new
            with contextlib.suppress(KeyringUnavailable):  # token is safely in the file
                self._delete_from_keyring(profile)
        return stored, None

    def load(self, profile: str, host: str, store: str | None, recorded_backend: str | None) -> str:
        """The token, only if it was issued for `host`, which is stored in the same secret:
        someone able to change or swap config.json must not get the token sent to their server."""
        login_again = f"log in again: {login_command(profile)}"
        if store == "keyring":
            try:
                secret = self._load_from_keyring(profile, recorded_backend)
            except KeyringUnavailable as exc:
                raise AuthError(
                    f"cannot read the token of profile {profile!r}: {exc}",
                    hint=f"{unlock_advice()}; meanwhile VH_API_TOKEN works",
                ) from None
            where = "the system keyring"
            entry: Any = {"token": secret}  # a bare token, as an older vh-lite stored it
            if secret is not None and secret.startswith("{"):
                try:
                    entry = json.loads(secret)
                except ValueError:
                    entry = None
        else:
            entry = read_profiles_file(self.file_path)["profiles"].get(profile)
            where = str(self.file_path)
        entry = entry if isinstance(entry, dict) else {}
        token, bound = entry.get("token"), entry.get("host")
        if not isinstance(token, str) or not token:
            problem = f"is missing from {where}"
        elif bound is None:
            problem = f"in {where} was stored by an older vh-lite, without the host it belongs to"
        elif bound == host:
            return check_token(token, where)
        else:
            raise AuthError(
                f"the token of profile {profile!r} belongs to {bound}, but the config now names "
                f"{host}; not sending it there",
                hint=f"if you did not change {self.directory / 'config.json'}, someone else "
                f"did; {login_again}",
            )
        raise AuthError(f"the token of profile {profile!r} {problem}", hint=login_again)

    def delete(self, profile: str, *, in_keyring: bool) -> list[str]:
        """Returns where the token was. If it is `in_keyring` and the keyring is unreachable,
        KeyringUnavailable propagates: "logged out" would be a lie, and the token orphaned."""
        removed: list[str] = []
        try:
            if self._delete_from_keyring(profile):
                removed.append("the system keyring")
        except KeyringUnavailable:
            if in_keyring:
                raise
        if self._delete_from_file(profile):
            removed.append(str(self.file_path))
        return removed
