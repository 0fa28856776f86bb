"""auth/credentials.py, unit: the credential store with in-process keyring backends (the
real one: test_keyring_secret_service.py)."""

from __future__ import annotations

import json
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from conftest import MemoryKeyring, no_keyring
from keyring.backend import KeyringBackend
from keyring.backends import fail

from valohai_cli_lite.auth.credentials import (
    CredentialStore,
    KeyringUnavailable,
    keyring_timeout,
    system_keyring,
)
from valohai_cli_lite.errors import AuthError

HOST = "https://valohai.example.com"


def _store(directory: Path, backend: KeyringBackend | None, **kwargs: object) -> CredentialStore:
    def load(_recorded: str | None) -> KeyringBackend:
        return backend if backend is not None else no_keyring(None)

    return CredentialStore(directory, keyring=load, fast_secret_service=False, **kwargs)  # type: ignore[arg-type]


def test_keyring_save_load_delete(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    lines: list[str] = []
    store = _store(tmp_path, backend, debug=lines.append)
    stored, reason = store.save("default", HOST, "tkn-123", prefer_keyring=True)
    assert reason is None and stored.kind == "keyring"
    assert stored.description == "the system keyring (conftest)"
    assert list(backend.items) == [("vh-lite", f"default ({tmp_path})")]
    # One secret: the token and the host it belongs to.
    assert [json.loads(v) for v in backend.items.values()] == [{"host": HOST, "token": "tkn-123"}]
    assert not store.file_path.exists()
    assert store.load("default", HOST, "keyring", None) == "tkn-123"
    assert lines == ["token read through keyring (conftest backend)"]
    assert store.delete("default", in_keyring=True) == ["the system keyring"]
    with pytest.raises(AuthError, match="missing"):
        store.load("default", HOST, "keyring", None)


def test_no_keyring_falls_back_to_a_0600_file(tmp_path: Path) -> None:
    store = _store(tmp_path / "cfg", None)
    stored, reason = store.save("default", HOST, "tkn-123", prefer_keyring=True)
    assert stored.kind == "file" and reason == "no usable system keyring was found"
    assert stat.S_IMODE(store.file_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.file_path.parent.stat().st_mode) == 0o700
    assert store.load("default", HOST, "file", None) == "tkn-123"
    with pytest.raises(AuthError, match="cannot read the token of profile 'default'"):
        store.load("default", HOST, "keyring", None)


class HangingKeyring(MemoryKeyring):
    """Never answers, as a keyring waiting on an unanswered unlock prompt."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait(30)


def test_hanging_keyring_times_out(tmp_path: Path) -> None:
    backend = HangingKeyring()
    started = time.monotonic()
    stored, reason = _store(tmp_path, backend, timeout=0.2).save(
        "default", HOST, "tkn", prefer_keyring=True
    )
    backend.release.set()
    assert time.monotonic() - started < 10
    assert stored.kind == "file" and "did not answer within 0.2 s" in (reason or "")


def test_keyring_timeout_from_the_environment() -> None:
    assert keyring_timeout({}) == 5.0
    assert keyring_timeout({"VH_KEYRING_TIMEOUT": "0.5"}) == 0.5
    assert keyring_timeout({"VH_KEYRING_TIMEOUT": "soon"}) == 5.0


def test_file_store_keeps_other_profiles(tmp_path: Path) -> None:
    store = _store(tmp_path, None)
    store.save("a", HOST, "tkn-a", prefer_keyring=False)
    store.save("b", HOST, "tkn-b", prefer_keyring=False)
    assert store.delete("a", in_keyring=False) == [str(store.file_path)]
    assert store.load("b", HOST, "file", None) == "tkn-b"
    assert store.delete("b", in_keyring=False) == [str(store.file_path)]
    assert not store.file_path.exists()
    assert store.delete("b", in_keyring=False) == []


def test_a_keyring_login_removes_the_plain_text_copy(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    store = _store(tmp_path, backend)
    store.save("default", HOST, "old", prefer_keyring=False)
    store.save("default", HOST, "new", prefer_keyring=True)
    assert not store.file_path.exists()
    assert store.load("default", HOST, "keyring", None) == "new"


class LockedKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        from keyring.errors import KeyringLocked

        raise KeyringLocked("Failed to unlock the collection!")


def test_locked_keyring_is_named_and_falls_back(tmp_path: Path) -> None:
    stored, reason = _store(tmp_path, LockedKeyring()).save(
        "default", HOST, "tkn", prefer_keyring=True
    )
    assert stored.kind == "file"
    assert reason == "the system keyring is locked (Failed to unlock the collection!)"


def test_delete_refuses_when_the_keyring_that_holds_the_token_is_unreachable(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path, None)
    with pytest.raises(KeyringUnavailable):
        store.delete("default", in_keyring=True)
    assert store.delete("default", in_keyring=False) == []  # nothing was there anyway


@pytest.fixture
def global_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


def test_the_system_keyring_loader(global_keyring: None) -> None:
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    with pytest.raises(KeyringUnavailable, match="no usable system keyring"):
        system_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    assert system_keyring() is memory
    # A recorded backend that cannot be loaded any more: discover afresh.
    assert system_keyring("no.such.Backend") is memory


@pytest.mark.parametrize("in_keyring", [True, False])
def test_a_token_is_only_given_out_for_the_host_it_was_stored_for(
    tmp_path: Path, in_keyring: bool
) -> None:
    backend = MemoryKeyring()
    store = _store(tmp_path, backend)
    stored, _ = store.save("default", HOST, "tkn-123", prefer_keyring=in_keyring)
    assert store.load("default", HOST, stored.kind, None) == "tkn-123"
    with pytest.raises(AuthError) as refused:
        store.load("default", "https://attacker.example", stored.kind, None)
    assert refused.value.message == (
        f"the token of profile 'default' belongs to {HOST}, but the config now names "
        "https://attacker.example; not sending it there"
    )
    assert "someone else did" in (refused.value.hint or "")
    assert "tkn-123" not in refused.value.message + (refused.value.hint or "")


def test_a_token_stored_without_its_host_must_be_stored_again(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    account = f"default ({tmp_path})"
    backend.set_password("vh-lite", account, "tkn-older")  # as vh-lite stored it before
    store = _store(tmp_path, backend)
    with pytest.raises(AuthError, match="stored by an older vh-lite") as refused:
        store.load("default", HOST, "keyring", None)
    assert refused.value.hint == "log in again: vh-lite login"
    (tmp_path / "credentials.json").write_text('{"profiles": {"default": {"token": "tkn-older"}}}')
    with pytest.raises(AuthError, match="stored by an older vh-lite"):
        store.load("default", HOST, "file", None)
