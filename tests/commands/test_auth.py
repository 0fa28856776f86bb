"""The stored logins and which one a command uses, in-process through cli.run against the
emulator: `logout`, `auth status`, `auth list`, `auth switch`, profiles, the precedence of
tokens, profiles and hosts (docs/configuration.md's table, row by row), what an expired,
rejected or malformed token gets told, and the files behind a login when they are empty,
corrupt or cannot be written. Also run_login/run_status/run_logout/run_token called
directly with an injected keyring."""

from __future__ import annotations

import errno
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_TOKEN, App, InProcessCli, MemoryKeyring, ok

from valohai_cli_lite import files as fileio
from valohai_cli_lite.auth.credentials import KeyringUnavailable
from valohai_cli_lite.commands.auth import (
    StatusOptions,
    run_list_profiles,
    run_logout,
    run_status,
    run_switch,
    run_token,
)
from valohai_cli_lite.commands.login import LoginOptions, run_login
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig
from valohai_cli_lite.errors import AuthError, ConfigError, UsageError, VhLiteError

# --- auth status ---------------------------------------------------------------------------


def test_auth_status_reports_source_and_validity(cli: InProcessCli, emulator: Emulator) -> None:
    assert cli.login(emulator.base_url).returncode == 0
    result = cli.run("auth", "status")
    assert result.returncode == 0, result.stderr
    assert f"Host:       {emulator.base_url}" in result.stdout
    assert str(cli.config_dir / "credentials.json") in result.stdout
    assert "demo (id 1337)" in result.stdout
    assert "valid" in result.stdout


def test_auth_status_exit_codes(cli: InProcessCli, emulator: Emulator) -> None:
    not_logged_in = cli.run("auth", "status")
    assert not_logged_in.returncode == 4
    assert "not logged in" in not_logged_in.stderr

    assert cli.login(emulator.base_url).returncode == 0
    emulator.config.token = "rotated-token-on-the-server"
    rejected = cli.run("auth", "status")
    assert rejected.returncode == 1
    assert "rejected" in rejected.stdout

    emulator.stop()
    unreachable = cli.run("auth", "status")
    assert unreachable.returncode == 1
    assert "could not check" in unreachable.stderr
    assert "Traceback" not in unreachable.output


def test_auth_status_json_has_fixed_keys(cli: InProcessCli, emulator: Emulator) -> None:
    keys = {
        "profile",
        "profile_source",
        "logged_in",
        "host",
        "username",
        "user_id",
        "token_source",
        "token_location",
        "token_valid",
        "error",
    }
    logged_out = cli.run("auth", "status", "--json")
    assert logged_out.returncode == 4
    assert json.loads(logged_out.stdout)["logged_in"] is False
    assert cli.login(emulator.base_url).returncode == 0
    report = json.loads(ok(cli, "auth", "status", "--json"))
    assert set(report) == keys
    assert report == {
        **report,
        "profile": "default",
        "profile_source": "default",
        "logged_in": True,
        "username": "demo",
        "user_id": 1337,
        "token_source": "file",
        "token_valid": True,
        "host": emulator.base_url,
        "error": None,
    }
    emulator.config.token = "rotated"
    rejected = cli.run("auth", "status", "--json")
    assert rejected.returncode == 1
    assert json.loads(rejected.stdout)["token_valid"] is False


def test_auth_status_json_reports_a_corrupt_config(cli: InProcessCli) -> None:
    cli.config_dir.mkdir(parents=True)
    (cli.config_dir / "config.json").write_text("{oops")
    result = cli.run("auth", "status", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["logged_in"] is False
    assert "not valid JSON" in report["error"]


def test_auth_status_hint_for_a_rejected_env_token(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.run(
        "auth", "status", env={"VH_API_TOKEN": "wrong-token", "VH_HOST": emulator.base_url}
    )
    assert result.returncode == 1
    assert "update or unset VH_API_TOKEN" in result.stderr


def test_an_empty_config_file_is_no_config(cli: InProcessCli, emulator: Emulator) -> None:
    cli.config_dir.mkdir(parents=True)
    (cli.config_dir / "config.json").write_text("")
    status = cli.run("auth", "status")
    assert status.returncode == 4 and "not logged in" in status.stderr
    assert cli.login(emulator.base_url).returncode == 0
    assert cli.run("auth", "status").returncode == 0


# --- logout --------------------------------------------------------------------------------


def test_logout_removes_token_and_profile(cli: InProcessCli, emulator: Emulator) -> None:
    assert cli.login(emulator.base_url).returncode == 0
    result = cli.run("logout")
    assert result.returncode == 0
    assert f"revoke it at {emulator.base_url}/auth/tokens/" in result.stderr
    assert not (cli.config_dir / "credentials.json").exists()
    assert json.loads((cli.config_dir / "config.json").read_text())["profiles"] == {}
    again = cli.run("logout")
    assert again.returncode == 1
    assert "nothing to log out of" in again.stderr


def test_logout_never_claims_to_remove_what_was_not_there(
    cli: InProcessCli, emulator: Emulator
) -> None:
    assert cli.login(emulator.base_url, TEST_TOKEN, "--insecure-storage").returncode == 0
    (cli.config_dir / "credentials.json").unlink()  # the token file is gone, the profile not
    result = cli.run("logout")
    assert result.returncode == 0
    assert "no stored token was found" in result.stderr
    assert "nowhere" not in result.stderr


def test_expiry_is_named_in_logout_and_401_messages(cli: InProcessCli, emulator: Emulator) -> None:
    assert cli.login(emulator.base_url).returncode == 0
    emulator.config.token = "rotated-or-expired"
    rejected = cli.run("projects", "list")
    assert rejected.returncode == 4
    assert "may have expired or been revoked; log in again: vh-lite login" in rejected.stderr
    env_token = cli.run(
        "projects", "list", env={"VH_API_TOKEN": "old", "VH_HOST": emulator.base_url}
    )
    assert "the token in VH_API_TOKEN may have expired or been revoked" in env_token.stderr
    logout = cli.run("logout")
    assert "stays valid until it expires or you revoke it at" in logout.stderr
    assert "until you revoke it" not in logout.stderr


def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every later write of a state file fails as on a full or read-only disk. (The suite
    runs as root in CI, which a read-only directory does not stop.)"""

    def no_room(path: object, data: object) -> None:
        raise ConfigError(f"cannot write {path}: {errno.errorcode[errno.ENOSPC]}")

    monkeypatch.setattr(fileio, "write_json_atomically", no_room)
    import valohai_cli_lite.auth.config as config
    import valohai_cli_lite.auth.credentials as credentials

    monkeypatch.setattr(config, "write_json_atomically", no_room)
    monkeypatch.setattr(credentials, "write_json_atomically", no_room)


def test_logout_and_login_on_a_full_disk_change_nothing(
    cli: InProcessCli, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring = MemoryKeyring()
    cli.keyring = lambda _recorded: keyring
    assert cli.login(emulator.base_url).returncode == 0
    config_before = (cli.config_dir / "config.json").read_text()
    stored = dict(keyring.items)
    full_disk(monkeypatch)
    for args, token in ((["logout"], None), (["login", "--host", emulator.base_url,
                                               "--with-token"], TEST_TOKEN)):  # fmt: skip
        result = cli.run(*args, input=token)
        assert result.returncode == 1, args
        assert result.stderr.startswith("vh-lite: error: cannot write ")
        assert len(result.stderr.strip().splitlines()) == 1
        assert "internal error" not in result.stderr
        assert keyring.items == stored  # the token was neither removed nor replaced
        assert (cli.config_dir / "config.json").read_text() == config_before
    monkeypatch.undo()
    assert cli.run("auth", "status").returncode == 0  # still logged in, whole


# --- tokens from the environment -----------------------------------------------------------


@pytest.mark.parametrize("var", ["VH_API_TOKEN", "VALOHAI_TOKEN"])
def test_env_token_needs_no_login(cli: InProcessCli, emulator: Emulator, var: str) -> None:
    env = {var: TEST_TOKEN, "VALOHAI_HOST": emulator.base_url}
    result = cli.run("projects", "list", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 250
    assert not cli.config_dir.exists()  # no config, no login
    # Only a cache holding no secret (how the list pages), and the token in no file at all.
    written = [path for path in cli.home.rglob("*") if path.is_file()]
    assert [path.name for path in written] == ["paging.json"]
    assert all(TEST_TOKEN.encode() not in path.read_bytes() for path in written)


def test_vh_api_token_wins_over_valohai_token_and_stored_login(
    cli: InProcessCli, emulator: Emulator
) -> None:
    assert cli.login(emulator.base_url).returncode == 0
    env = {"VH_API_TOKEN": TEST_TOKEN, "VALOHAI_TOKEN": "wrong"}
    assert cli.run("projects", "list", "--json", env=env).returncode == 0
    env = {"VH_API_TOKEN": "wrong", "VALOHAI_TOKEN": TEST_TOKEN}
    result = cli.run("projects", "list", "--json", env=env)
    assert result.returncode == 4  # the env token was used, not the stored one


def test_malformed_env_token_is_refused_without_showing_it(
    cli: InProcessCli, emulator: Emulator
) -> None:
    for bad in ("SECRET-PART-ONE\nSECRET-PART-TWO", "tøken-SECRET-123"):
        result = cli.run(
            "projects", "list", env={"VH_API_TOKEN": bad, "VH_HOST": emulator.base_url}
        )
        assert result.returncode == 4, result.stderr
        assert "VH_API_TOKEN" in result.stderr and "not a valid API token" in result.stderr
        assert "SECRET" not in result.output
        assert "internal error" not in result.stderr
    assert emulator.requests == []  # refused before anything was sent


def test_rejected_env_token_hint_names_the_variable(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.run(
        "projects", "list", env={"VALOHAI_TOKEN": "wrong-token", "VH_HOST": emulator.base_url}
    )
    assert result.returncode == 4
    assert "update or unset VALOHAI_TOKEN" in result.stderr


# --- profiles: --profile anywhere, auth list, auth switch, precedence ----------------------


@pytest.fixture
def other() -> Iterator[Emulator]:
    """A second installation on loopback, with its own token."""
    with Emulator(EmulatorConfig(token="tok-of-the-other-host-123", projects=3)) as emu:
        yield emu


def test_profiles_are_independent(cli: InProcessCli, emulator: Emulator) -> None:
    assert cli.login(emulator.base_url).returncode == 0
    assert cli.run("--profile", "other", "auth", "status").returncode == 4
    assert cli.login(emulator.base_url, profile="other").returncode == 0
    assert cli.run("--profile", "other", "logout").returncode == 0
    assert cli.run("auth", "status").returncode == 0
    via_env = cli.run("auth", "status", env={"VH_PROFILE": "other"})
    assert via_env.returncode == 4


def test_invalid_profile_name_is_a_usage_error(cli: InProcessCli) -> None:
    result = cli.run("--profile", "../evil", "auth", "status")
    assert result.returncode == 2
    assert "invalid profile name" in result.stderr


def test_not_logged_in_hint_names_the_profile(cli: InProcessCli) -> None:
    result = cli.run("--profile", "onprem", "projects", "list")
    assert result.returncode == 4
    assert "vh-lite login --profile onprem" in result.stderr


def test_profile_is_accepted_after_the_command_too(cli: InProcessCli, emulator: Emulator) -> None:
    login = cli.run("login", "--profile", "work", "--host", emulator.base_url, "--with-token",
                    input=TEST_TOKEN)  # fmt: skip
    assert login.returncode == 0, login.stderr
    assert "(profile 'work')" in login.stderr
    assert cli.run("projects", "list", "-p", "work", "--limit", "1").returncode == 0
    status = cli.run("auth", "status", "--profile", "work")
    assert status.returncode == 0 and "work (from --profile)" in status.stdout
    # After the command wins over before it, and over VH_PROFILE.
    assert cli.run("-p", "nope", "projects", "list", "-p", "work").returncode == 0
    assert cli.run("projects", "list", "-p", "work", env={"VH_PROFILE": "nope"}).returncode == 0
    assert cli.run("projects", "list", "-p", "../x").returncode == 2
    # Between a group and its command too.
    assert cli.run("projects", "-p", "work", "list", "--limit", "1").returncode == 0
    between = cli.run("auth", "--profile", "work", "status")
    assert between.returncode == 0 and "work (from --profile)" in between.stdout
    assert cli.run("projects", "-p", "nope", "list").returncode == 4  # not logged in there


def test_auth_list_shows_every_profile_and_exactly_one_active(
    cli: InProcessCli, emulator: Emulator, other: Emulator
) -> None:
    empty = json.loads(cli.run("auth", "list", "--json").stdout)
    assert empty == [{"profile": "default", "host": None, "username": None,
                      "token_store": None, "active": True}]  # fmt: skip
    assert cli.login(emulator.base_url, profile="work").returncode == 0
    assert cli.login(other.base_url, "tok-of-the-other-host-123", profile="home").returncode == 0
    emulator.requests.clear()
    rows = json.loads(cli.run("auth", "list", "--json").stdout)
    keys = ("profile", "host", "username", "token_store", "active")
    assert [tuple(r[k] for k in keys) for r in rows] == [
        ("home", other.base_url, "demo", "file", False),
        ("work", emulator.base_url, "demo", "file", False),
        ("default", None, None, None, True),  # active, though not logged in
    ]  # fmt: skip
    assert emulator.requests == []  # no network without --check
    via_env = json.loads(cli.run("auth", "list", "--json", env={"VH_PROFILE": "home"}).stdout)
    assert [r["profile"] for r in via_env if r["active"]] == ["home"]
    assert len(via_env) == 2
    human = cli.run("auth", "list", "-p", "work").stdout.splitlines()
    assert human[1].split() == ["*", "work", emulator.base_url, "demo", "file"]
    other.config.token = "rotated"
    checked_rows = json.loads(cli.run("auth", "list", "--json", "--check").stdout)
    checked = {r["profile"]: r["token_valid"] for r in checked_rows}
    assert checked == {"home": False, "work": True, "default": None}


def test_auth_switch_persists_and_status_says_how_the_profile_was_chosen(
    cli: InProcessCli, emulator: Emulator, other: Emulator
) -> None:
    assert cli.login(emulator.base_url, profile="work").returncode == 0
    assert cli.login(other.base_url, "tok-of-the-other-host-123", profile="home").returncode == 0
    assert "not logged in (profile 'default')" in cli.run("projects", "list").stderr
    switched = cli.run("auth", "switch", "home")
    assert switched.returncode == 0 and "Switched to profile 'home'" in switched.stderr
    assert json.loads((cli.config_dir / "config.json").read_text())["active_profile"] == "home"
    listing = cli.run("projects", "list", "--json")
    assert len(json.loads(listing.stdout)) == 3  # the other host's 3 projects
    report = json.loads(cli.run("auth", "status", "--json").stdout)
    assert (report["profile"], report["profile_source"]) == ("home", "default")
    assert "home (the default profile)" in cli.run("auth", "status").stdout
    by_env = json.loads(cli.run("auth", "status", "--json", env={"VH_PROFILE": "work"}).stdout)
    assert (by_env["profile"], by_env["profile_source"]) == ("work", "env")
    by_flag = json.loads(cli.run("auth", "status", "--json", "-p", "work").stdout)
    assert (by_flag["profile"], by_flag["profile_source"]) == ("work", "flag")
    unknown = cli.run("auth", "switch", "nope")
    assert unknown.returncode == 2
    assert "no profile named 'nope'; known profiles: home, work" in unknown.stderr
    assert cli.run("logout").returncode == 0  # logging out of the active profile...
    assert "active_profile" not in json.loads((cli.config_dir / "config.json").read_text())


def test_precedence_of_token_profile_and_host(
    cli: InProcessCli, emulator: Emulator, other: Emulator
) -> None:
    """Each row of the table in docs/configuration.md."""
    other_token = "tok-of-the-other-host-123"
    assert cli.login(emulator.base_url, profile="work").returncode == 0
    assert cli.login(other.base_url, other_token, profile="home").returncode == 0
    assert cli.login(other.base_url, other_token, profile="home2").returncode == 0

    def hosts_asked() -> tuple[int, int]:
        counts = (len(emulator.requests), len(other.requests))
        emulator.requests.clear()
        other.requests.clear()
        return counts

    hosts_asked()
    # 1. An env token with VH_HOST: both from the environment, no config read.
    ok = cli.run("projects", "list", env={"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url})
    assert ok.returncode == 0 and hosts_asked() == (3, 0)
    # 2. An env token without a host: the chosen profile's host.
    ok = cli.run("projects", "list", "-p", "home", env={"VH_API_TOKEN": other_token})
    assert ok.returncode == 0 and hosts_asked() == (0, 1)
    # 3. VALOHAI_HOST selects the one profile logged in there.
    ok = cli.run("projects", "list", env={"VALOHAI_HOST": emulator.base_url})
    assert ok.returncode == 0 and hosts_asked() == (3, 0)
    status = json.loads(cli.run("auth", "status", "--json",
                                env={"VH_HOST": emulator.base_url}).stdout)  # fmt: skip
    assert (status["profile"], status["profile_source"]) == ("work", "host")
    # 4. Several profiles there: the active one if it is among them...
    assert cli.run("auth", "switch", "home2").returncode == 0
    ok = cli.run("auth", "status", "--json", env={"VH_HOST": other.base_url})
    assert json.loads(ok.stdout)["profile"] == "home2"
    # 5. ...else a usage error naming them, before anything is sent.
    assert cli.run("auth", "switch", "work").returncode == 0
    several = cli.run("projects", "list", env={"VH_HOST": other.base_url})
    assert several.returncode == 2
    assert "2 profiles are logged in to" in several.stderr and "home, home2" in several.stderr
    assert "--profile NAME" in several.stderr
    # 6. No login for that host: exit 4, naming the host and how to log in there.
    nowhere = cli.run("projects", "list", env={"VH_HOST": "https://valohai.example.com"})
    assert nowhere.returncode == 4
    assert "not logged in to https://valohai.example.com (VH_HOST)" in nowhere.stderr
    assert "vh-lite login --host https://valohai.example.com" in nowhere.stderr
    # 7. A profile named explicitly is never sent to another host.
    hosts_asked()
    for args, env in ((["-p", "work"], {"VH_HOST": other.base_url}),
                      ([], {"VH_PROFILE": "work", "VH_HOST": other.base_url})):  # fmt: skip
        refused = cli.run("projects", "list", *args, env=env)
        assert refused.returncode == 4, refused.stderr
        assert f"profile 'work' is logged in to {emulator.base_url}, not to" in refused.stderr
    assert hosts_asked() == (0, 0)
    # 8. No host variable: the profile `auth switch` chose, else "default".
    ok = cli.run("projects", "list", "--limit", "1")
    assert ok.returncode == 0 and hosts_asked() == (1, 0)
    assert cli.run("logout", "-p", "work").returncode == 0
    assert "not logged in (profile 'default')" in cli.run("projects", "list").stderr


# --- the run functions, called directly ----------------------------------------------------


def test_login_status_logout_with_an_injected_keyring(tmp_path: Path, emulator: Emulator) -> None:
    app = App(tmp_path, {}, stdin=TEST_TOKEN + "\n")
    run_login(LoginOptions(host=emulator.base_url, with_token=True), app.context)
    assert app.keyring.tokens() == [TEST_TOKEN]
    assert "Token stored in the system keyring (conftest)" in app.err.getvalue()
    profile = app.context.config.get("default")
    assert profile is not None and profile.token_store == "keyring"

    run_status(StatusOptions(as_json=True), app.context)
    report = json.loads(app.stdout)
    assert (report["username"], report["token_valid"], report["token_source"]) == (
        "demo", True, "keyring",
    )  # fmt: skip

    emulator.config.token = "rotated"
    with pytest.raises(VhLiteError, match="rejected") as rejected:
        run_status(StatusOptions(), app.context)
    assert rejected.value.hint == (
        "the stored token may have expired or been revoked; log in again: vh-lite login"
    )

    run_logout(app.context)
    assert app.keyring.items == {}
    with pytest.raises(AuthError, match="not logged in"):
        run_token(app.context)


def test_list_and_switch_profiles_run_directly(tmp_path: Path, emulator: Emulator) -> None:
    app = App(tmp_path, {}, stdin=TEST_TOKEN + "\n")
    run_login(LoginOptions(host=emulator.base_url, with_token=True), app.context)
    with pytest.raises(UsageError, match="no profile named 'work'; known profiles: default"):
        run_switch("work", app.context)
    run_switch("default", app.context)
    assert app.context.config.active_profile() == "default"
    run_list_profiles(True, True, app.context)
    [row] = json.loads(app.stdout)
    assert (row["profile"], row["active"], row["token_valid"]) == ("default", True, True)


# --- what is said when a token cannot be checked ------------------------------------------


def locked_keyring(_recorded: str | None) -> Any:
    """A keyring that is there but cannot be read now (locked, or D-Bus gone)."""
    raise KeyringUnavailable("the keyring is locked")


def _row(table: str, profile: str) -> str:
    """The line of `auth list` about `profile`."""
    return next(line for line in table.splitlines() if line[1:].split()[0] == profile)


def test_auth_list_check_says_why_a_profile_was_not_checked(
    cli: InProcessCli, emulator: Emulator, other: Emulator
) -> None:
    keyring = MemoryKeyring()
    cli.keyring = lambda _recorded: keyring
    assert cli.login(emulator.base_url, profile="work").returncode == 0
    assert cli.login(other.base_url, "tok-of-the-other-host-123", profile="home").returncode == 0
    other.stop()  # home's server is gone

    def verdicts(*args: str) -> dict[str, tuple[bool | None, str | None]]:
        result = cli.run("auth", "list", "--check", "--json", *args)
        assert result.returncode == 0, result.stderr
        return {r["profile"]: (r["token_valid"], r["not_checked_because"])
                for r in json.loads(result.stdout)}  # fmt: skip

    found = verdicts()
    assert found["work"] == (True, None)
    assert found["default"] == (None, "not logged in")
    valid, why = found["home"]
    assert valid is None and why is not None
    assert f"cannot reach {other.base_url}" in why
    text = cli.run("auth", "list", "--check").stdout
    assert _row(text, "work").endswith("  valid")
    assert _row(text, "home").endswith(f"  not checked: {why}")
    assert _row(text, "default").endswith("  not checked: not logged in")

    cli.keyring = locked_keyring  # now no token can be read at all
    emulator.requests.clear()
    found = verdicts()
    valid, why = found["work"]
    assert valid is None and why is not None
    assert "cannot read the token of profile 'work'" in why and "the keyring is locked" in why
    assert emulator.requests == []
    assert _row(cli.run("auth", "list", "--check").stdout, "work").endswith(f"  not checked: {why}")


def test_auth_status_with_an_unreadable_keyring_says_what_the_profile_knows(
    cli: InProcessCli, emulator: Emulator
) -> None:
    keyring = MemoryKeyring()
    cli.keyring = lambda _recorded: keyring
    assert cli.login(emulator.base_url).returncode == 0
    cli.keyring = locked_keyring
    emulator.requests.clear()
    as_json = cli.run("auth", "status", "--json")
    assert as_json.returncode == 4
    report = json.loads(as_json.stdout)
    assert report == {
        **report,
        "profile": "default",
        "logged_in": True,
        "host": emulator.base_url,
        "username": "demo",
        "user_id": 1337,
        "token_source": "keyring",
        "token_location": "the system keyring",
        "token_valid": None,
    }
    assert "cannot read the token of profile 'default'" in report["error"]
    text = cli.run("auth", "status")
    assert text.returncode == 4
    assert f"Host:       {emulator.base_url}" in text.stdout
    assert "User:       demo (id 1337)" in text.stdout
    assert "Token from: the system keyring" in text.stdout
    assert "None" not in text.stdout
    assert "not checked: cannot read the token" in text.stdout
    # The advice is how to unlock it: logging in again would need the keyring unlocked too.
    unlock = "security unlock-keychain" if sys.platform == "darwin" else "gnome-keyring-daemon"
    for result in (as_json, text, cli.run("projects", "list")):
        assert result.returncode == 4
        assert len(result.stderr.strip().splitlines()) == 1
        assert unlock in result.stderr
        assert "log in again" not in result.stderr
    assert emulator.requests == []
