"""Profiles through a day: --profile anywhere, auth list, auth switch, and which profile and
host a command uses (the precedence table in docs/configuration.md, row by row)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from conftest import TEST_TOKEN, InProcessCli

from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig


@pytest.fixture
def other() -> Iterator[Emulator]:
    """A second installation on loopback, with its own token."""
    with Emulator(EmulatorConfig(token="tok-of-the-other-host-123", projects=3)) as emu:
        yield emu


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
