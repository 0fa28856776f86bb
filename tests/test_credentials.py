"""Unit tests of the credential store with in-process keyring backends."""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from valohai_cli_lite.credentials import CredentialStore
from valohai_cli_lite.errors import AuthError


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if (service, username) not in self.items:
            raise PasswordDeleteError("missing")
        del self.items[(service, username)]


class HangingKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        time.sleep(5)


@pytest.fixture
def use_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


def test_keyring_save_load_delete(tmp_path: Path, use_keyring: None) -> None:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    store = CredentialStore(tmp_path)
    stored, reason = store.save("default", "tkn-123", prefer_keyring=True)
    assert reason is None and stored.kind == "keyring"
    assert list(backend.items.values()) == ["tkn-123"]
    assert not store.file_path.exists()
    assert store.load("default", "keyring", None) == "tkn-123"
    assert store.delete("default", in_keyring=True) == ["the system keyring"]
    with pytest.raises(AuthError, match="missing"):
        store.load("default", "keyring", None)


def test_no_keyring_falls_back_to_a_0600_file(tmp_path: Path, use_keyring: None) -> None:
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    store = CredentialStore(tmp_path / "cfg")
    stored, reason = store.save("default", "tkn-123", prefer_keyring=True)
    assert stored.kind == "file" and reason == "no usable system keyring was found"
    assert stat.S_IMODE(store.file_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.file_path.parent.stat().st_mode) == 0o700
    assert store.load("default", "file", None) == "tkn-123"


def test_hanging_keyring_times_out(
    tmp_path: Path, use_keyring: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VH_KEYRING_TIMEOUT", "0.2")
    keyring.set_keyring(HangingKeyring())
    started = time.monotonic()
    stored, reason = CredentialStore(tmp_path).save("default", "tkn", prefer_keyring=True)
    assert time.monotonic() - started < 3
    assert stored.kind == "file" and "did not answer within 0.2 s" in (reason or "")


def test_file_store_keeps_other_profiles(tmp_path: Path, use_keyring: None) -> None:
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    store = CredentialStore(tmp_path)
    store.save("a", "tkn-a", prefer_keyring=False)
    store.save("b", "tkn-b", prefer_keyring=False)
    assert store.delete("a", in_keyring=False) == [str(store.file_path)]
    assert store.load("b", "file", None) == "tkn-b"
    assert store.delete("b", in_keyring=False) == [str(store.file_path)]
    assert not store.file_path.exists()
    assert store.delete("b", in_keyring=False) == []


class LockedKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        from keyring.errors import KeyringLocked

        raise KeyringLocked("Failed to unlock the collection!")


def test_locked_keyring_is_named_and_falls_back(tmp_path: Path, use_keyring: None) -> None:
    keyring.set_keyring(LockedKeyring())
    stored, reason = CredentialStore(tmp_path).save("default", "tkn", prefer_keyring=True)
    assert stored.kind == "file"
    assert reason == "the system keyring is locked (Failed to unlock the collection!)"
