"""Token storage: the system keyring first, a 0600 file only when no keyring works.

Every keyring call runs in a worker thread with a deadline: a locked Secret Service can pop up
an unlock prompt nobody answers, and a broken D-Bus can hang forever. Either must degrade to
a clear message (and, for login, the file fallback), never a frozen CLI.
"""

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

T = TypeVar("T")
KeyringLoader = Callable[[str | None], "KeyringBackend"]


class KeyringUnavailable(Exception):
    """The keyring cannot be used right now; the message says why, in user terms."""


class StoredAt(NamedTuple):
    kind: Literal["keyring", "file"]
    description: str  # shown to users: "the system keyring (SecretService)" or a file path
    keyring_backend: str | None = None


def keyring_timeout(environ: Mapping[str, str]) -> float:
    try:
        return float(environ.get("VH_KEYRING_TIMEOUT", DEFAULT_KEYRING_TIMEOUT))
    except ValueError:
        return DEFAULT_KEYRING_TIMEOUT


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
    """The keyring backend to use, or KeyringUnavailable; call it inside _with_deadline with
    the operation, so one deadline covers both. The backend login recorded is loaded directly:
    discovering every installed one is the slowest part of `import keyring` + first use.
    PYTHON_KEYRING_BACKEND still wins, as keyring users expect (keyring reads it itself)."""
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
    """The item keyring's SecretService backend wrote, read through secretstorage as that
    backend does, without importing keyring, which is much slower. Only the default collection,
    where keyring reads, writes and deletes (a match elsewhere may be a stale copy); None when
    the item is not there (keyring may use another collection). Reading a locked item raises,
    and KeyringUnavailable then sends the caller to keyring, which knows how to ask to unlock."""
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
    """One token per profile, in the keyring or, as a fallback, in credentials.json. `debug`
    receives a line saying how a token was read."""

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
        """True when a token was deleted; KeyringUnavailable propagates."""
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
        """Store the token, bound to `host`; returns where, and why the keyring was skipped
        (None if it was not). A successful store removes any copy of this profile's token from
        the other place, so an old plain-text token never lingers after a keyring login.
        `replaces_keyring` says the profile's current token is in the keyring: when it cannot be
        reached to replace or remove that token, KeyringUnavailable propagates and nothing
        changes, rather than leave the old token orphaned there."""
        if prefer_keyring:
            try:
                stored = self._save_to_keyring(profile, json.dumps({"host": host, "token": token}))
            except KeyringUnavailable as exc:
                if replaces_keyring:
                    raise
                return self._save_to_file(profile, host, token), str(exc)
            self._delete_from_file(profile)
            return stored, None
        try:  # a deliberate file login; a keyring copy from an older login goes if it can
            self._delete_from_keyring(profile)
        except KeyringUnavailable:
            if replaces_keyring:
                raise
        return self._save_to_file(profile, host, token), None

    def load(self, profile: str, host: str, store: str | None, recorded_backend: str | None) -> str:
        """The profile's token from where login put it, if it was issued for `host`; AuthError
        when it cannot be had. The host is stored with the token, in the same secret: config.json
        says where a profile's requests go, but someone able to change that file (or to swap in
        their own) must not be able to send the token to their server with it."""
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
        token = entry.get("token")
        if not isinstance(token, str) or not token:
            raise AuthError(
                f"the token of profile {profile!r} is missing from {where}", hint=login_again
            )
        bound = entry.get("host")
        if bound is None:
            raise AuthError(
                f"the token of profile {profile!r} in {where} was stored by an older vh-lite, "
                "without the host it belongs to",
                hint=login_again,
            )
        if bound != host:
            raise AuthError(
                f"the token of profile {profile!r} belongs to {bound}, but the config now names "
                f"{host}; not sending it there",
                hint=f"if you did not change {self.directory / 'config.json'}, someone else "
                f"did; {login_again}",
            )
        return check_token(token, where)

    def delete(self, profile: str, *, in_keyring: bool) -> list[str]:
        """Remove the profile's token from the keyring and the file; returns where it was. When
        login put it in the keyring (`in_keyring`) and the keyring cannot be reached now,
        KeyringUnavailable propagates: saying "logged out" would be a lie, and forgetting the
        profile would orphan the token in the keyring."""
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
