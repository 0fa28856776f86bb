"""auth/config.py, unit: where the config directory is, profiles kept whole and private,
unknown fields and corrupt files, concurrent updates, profile names."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from valohai_cli_lite.auth.config import ConfigStore, Profile, config_dir, validate_profile_name
from valohai_cli_lite.errors import ConfigError, UsageError


def test_config_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VH_LITE_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == tmp_path / "xdg" / "vh-lite"
    monkeypatch.setenv("VH_LITE_CONFIG_DIR", str(tmp_path / "explicit"))
    assert config_dir() == tmp_path / "explicit"


def test_update_keeps_other_profiles_and_is_private(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "cfg")
    store.update("a", lambda _: Profile(host="https://a"))
    store.update("b", lambda _: Profile(host="https://b", username="bee", user_id=2))
    store.update("a", lambda old: None)
    assert store.profile_names() == ["b"]
    assert store.get("b") == Profile(host="https://b", username="bee", user_id=2)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    # No temporary files are left behind by the atomic writes.
    assert sorted(p.name for p in store.directory.iterdir()) == [".lock", "config.json"]


def test_unknown_fields_from_newer_versions_are_ignored(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path)
    store.path.write_text(json.dumps({"profiles": {"x": {"host": "https://h", "future": 1}}}))
    assert store.get("x") == Profile(host="https://h")


@pytest.mark.parametrize(
    "content", ["{broken", "[]", '{"profiles": []}', '{"profiles": {"default": {"nohost": 1}}}']
)
def test_corrupt_files_raise_and_are_left_alone(tmp_path: Path, content: str) -> None:
    store = ConfigStore(tmp_path)
    store.path.write_text(content)
    with pytest.raises(ConfigError) as info:
        store.update("default", lambda _: Profile(host="https://h"))
    assert str(store.path) in info.value.message
    assert store.path.read_text() == content


def test_concurrent_updates_lose_nothing(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path)
    threads = [
        threading.Thread(
            target=store.update, args=(f"p{i}", lambda _, i=i: Profile(f"https://{i}"))
        )
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.profile_names() == [f"p{i}" for i in range(8)]


@pytest.mark.parametrize("name", ["", "../x", "a b", "-x", "x" * 65, "ä"])
def test_invalid_profile_names(name: str) -> None:
    with pytest.raises(UsageError):
        validate_profile_name(name)


def test_valid_profile_names() -> None:
    for name in ("default", "self-hosted", "prod_2", "a.b"):
        assert validate_profile_name(name) == name
