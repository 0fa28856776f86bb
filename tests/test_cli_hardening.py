"""Regressions from review: malformed tokens, hostile server text, odd input, shared dirs."""

from __future__ import annotations

import json
import stat

from conftest import TEST_TOKEN, CliRunner

from valohai_cli_lite.emulator.data import EmulatedUser
from valohai_cli_lite.emulator.server import Emulator


def test_malformed_env_token_is_refused_without_showing_it(
    cli: CliRunner, emulator: Emulator
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


def test_malformed_token_on_stdin_stores_nothing(cli: CliRunner, emulator: Emulator) -> None:
    result = cli.run("login", "--host", emulator.base_url, "--with-token", input="SECRET tøken\n")
    assert result.returncode == 4
    assert "SECRET" not in result.output
    assert not cli.config_dir.exists()


def test_server_text_cannot_drive_the_terminal(cli: CliRunner, emulator: Emulator) -> None:
    evil = "ev\x1b[2J\x1b]0;pwned\x07il"
    emulator.config.users = [EmulatedUser(username=evil, password=None)]
    emulator.config.token_user = evil
    result = cli.login(emulator.base_url)
    assert result.returncode == 0, result.stderr
    assert "ev?[2J?]0;pwned?il" in result.stderr
    again = cli.login(emulator.base_url)  # "Replaced the previous login (user ...)"
    status = cli.run("auth", "status")
    for text in (result.output, again.output, status.output):
        assert "\x1b" not in text and "\x07" not in text


def test_rejected_env_token_hint_names_the_variable(cli: CliRunner, emulator: Emulator) -> None:
    result = cli.run(
        "projects", "list", env={"VALOHAI_TOKEN": "wrong-token", "VH_HOST": emulator.base_url}
    )
    assert result.returncode == 4
    assert "update or unset VALOHAI_TOKEN" in result.stderr


def test_not_logged_in_hint_names_the_profile(cli: CliRunner) -> None:
    result = cli.run("--profile", "onprem", "projects", "list")
    assert result.returncode == 4
    assert "vh-lite --profile onprem login" in result.stderr


def test_empty_host_is_a_usage_error(cli: CliRunner) -> None:
    result = cli.run("login", "--host", "", "--with-token", input=TEST_TOKEN)
    assert result.returncode == 2
    assert "host is empty" in result.stderr


def test_wrong_path_prefix_names_the_path(cli: CliRunner, emulator: Emulator) -> None:
    result = cli.run(
        "projects",
        "list",
        env={"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url + "/prefix"},
    )
    assert result.returncode == 1
    assert "404" in result.stderr and "/prefix/api/v0/projects/" in result.stderr
    assert "path prefix" in result.stderr


def test_existing_config_dir_keeps_its_mode(cli: CliRunner, emulator: Emulator) -> None:
    shared = cli.home / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    result = cli.login(emulator.base_url, TEST_TOKEN, "--insecure-storage")
    assert result.returncode == 0
    cli.env["VH_LITE_CONFIG_DIR"] = str(shared)
    assert cli.login(emulator.base_url, TEST_TOKEN, "--insecure-storage").returncode == 0
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert stat.S_IMODE((shared / "credentials.json").stat().st_mode) == 0o600
    assert json.loads((shared / "config.json").read_text())["profiles"]["default"]
