"""login, logout and auth status, run in-process through cli.run against the emulator."""

from __future__ import annotations

import json
import stat

from conftest import TEST_TOKEN, InProcessCli

from valohai_cli_lite.emulator.server import Emulator


def test_login_with_token_falls_back_to_a_private_file_with_a_warning(
    cli: InProcessCli, emulator: Emulator
) -> None:
    result = cli.login(emulator.base_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # messages go to stderr
    assert "PLAIN TEXT" in result.stderr
    cred_file = cli.config_dir / "credentials.json"
    assert f"Logged in to {emulator.base_url} as demo" in result.stderr
    assert str(cred_file) in result.stderr
    assert stat.S_IMODE(cred_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.config_dir.stat().st_mode) == 0o700
    assert json.loads(cred_file.read_text())["profiles"]["default"]["token"] == TEST_TOKEN
    config = json.loads((cli.config_dir / "config.json").read_text())
    assert config["profiles"]["default"] == {
        "host": emulator.base_url,
        "username": "demo",
        "user_id": 1337,
        "token_store": "file",
    }
    assert TEST_TOKEN not in (cli.config_dir / "config.json").read_text()
    # The token was validated against users/me before it was stored.
    me_calls = [r for r in emulator.requests if r.path.startswith("/api/v0/users/me")]
    assert me_calls and me_calls[0].headers["authorization"] == f"Token {TEST_TOKEN}"


def test_insecure_storage_is_deliberate_and_silent(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.login(emulator.base_url, TEST_TOKEN, "--insecure-storage")
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower()
    assert (cli.config_dir / "credentials.json").exists()


def test_rejected_token_stores_nothing_and_exits_4(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.login(emulator.base_url, "not-the-right-token")
    assert result.returncode == 4
    assert "rejected" in result.stderr and "nothing was stored" in result.stderr
    assert "Traceback" not in result.output
    assert not (cli.config_dir / "credentials.json").exists()
    assert not (cli.config_dir / "config.json").exists()


def test_username_and_password_stdin(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.password_login(emulator.base_url, "demo", "demo-password")
    assert result.returncode == 0, result.stderr
    token_calls = [r for r in emulator.requests if r.path == "/api/v0/get-token/"]
    assert len(token_calls) == 1
    assert token_calls[0].headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert "authorization" not in token_calls[0].headers
    assert cli.run("auth", "status").returncode == 0


def test_wrong_password_exits_4(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.password_login(emulator.base_url, "demo", "wrong")
    assert result.returncode == 4
    assert "login failed" in result.stderr
    assert "wrong" not in result.output


def test_two_factor_account_is_sent_to_the_tokens_page(
    cli: InProcessCli, emulator: Emulator
) -> None:
    for user, wording in (("twofa", "two-factor"), ("sso", "single sign-on")):
        result = cli.password_login(emulator.base_url, user, "whatever")
        assert result.returncode == 4
        assert wording in result.stderr
        assert f"{emulator.base_url}/auth/tokens/" in result.stderr
        assert "--with-token" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_non_interactive_login_without_credentials_is_a_usage_error(
    cli: InProcessCli, emulator: Emulator
) -> None:
    result = cli.run("login", "--host", emulator.base_url)
    assert result.returncode == 2
    assert "--with-token" in result.stderr


def test_conflicting_flags_are_usage_errors(cli: InProcessCli, emulator: Emulator) -> None:
    assert cli.run("login", "--password-stdin", input="x\n").returncode == 2
    assert cli.run("login", "--with-token", "--username", "demo", input="x\n").returncode == 2
    assert cli.run("login", "--bogus").returncode == 2


def test_empty_token_on_stdin_is_a_usage_error(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.run("login", "--host", emulator.base_url, "--with-token", input="\n")
    assert result.returncode == 2
    assert "no token" in result.stderr


def test_relogin_replaces_and_says_so(cli: InProcessCli, emulator: Emulator) -> None:
    assert cli.login(emulator.base_url).returncode == 0
    again = cli.login(emulator.base_url)
    assert again.returncode == 0
    assert "Replaced the previous login of profile 'default' (demo on" in again.stderr


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


def test_env_token_is_announced_by_login_and_status(cli: InProcessCli, emulator: Emulator) -> None:
    env = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url}
    status = cli.run("auth", "status", env=env)
    assert status.returncode == 0, status.stderr
    assert "the VH_API_TOKEN environment variable" in status.stdout
    login = cli.run("login", "--host", emulator.base_url, "--with-token", input=TEST_TOKEN, env=env)
    assert login.returncode == 0
    assert "VH_API_TOKEN is set" in login.stderr


def test_corrupt_config_is_reported_not_overwritten(cli: InProcessCli, emulator: Emulator) -> None:
    cli.config_dir.mkdir(parents=True)
    config = cli.config_dir / "config.json"
    config.write_text("{not json")
    result = cli.login(emulator.base_url)
    assert result.returncode == 1
    assert str(config) in result.stderr and "not valid JSON" in result.stderr
    assert config.read_text() == "{not json"
