"""`login` in-process through cli.run against the emulator: a token on stdin, a password,
the web page, the prompts a terminal gets, and what is stored where (or, when anything
is wrong, that nothing is)."""

from __future__ import annotations

import json
import stat

import pytest
from conftest import TEST_TOKEN, InProcessCli, MemoryKeyring, no_keyring
from emulator_support import Certificate

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


def test_malformed_token_on_stdin_stores_nothing(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.run("login", "--host", emulator.base_url, "--with-token", input="SECRET tøken\n")
    assert result.returncode == 4
    assert "SECRET" not in result.output
    assert not cli.config_dir.exists()


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


@pytest.mark.parametrize("status", [400, 401, 403])
@pytest.mark.parametrize(("user", "wording"), [("twofa", "two-factor"), ("sso", "single sign-on")])
def test_two_factor_and_sso_answers_lead_to_the_token_page_on_any_status(
    cli: InProcessCli, emulator: Emulator, status: int, user: str, wording: str
) -> None:
    emulator.config.refusal_status = status
    piped = cli.password_login(emulator.base_url, user, "whatever")
    assert piped.returncode == 4
    assert wording in piped.stderr and f"{emulator.base_url}/auth/tokens/" in piped.stderr
    assert f"vh-lite login --host {emulator.base_url} --with-token" in piped.stderr
    assert "log in again" not in piped.stderr
    # On a terminal the token is asked for, hidden, right away.
    typed = cli.run("login", "--host", emulator.base_url, "--username", user,
                    input=f"whatever\n{TEST_TOKEN}\n", stdin_tty=True)  # fmt: skip
    assert typed.returncode == 0, typed.stderr
    assert "Paste the API token (hidden)" in typed.stderr


def test_login_web_opens_the_token_page_and_reads_the_token_hidden(
    cli: InProcessCli, emulator: Emulator
) -> None:
    result = cli.run("login", "--web", "--host", emulator.base_url, input=TEST_TOKEN + "\n",
                     stdin_tty=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert cli.opened == [f"{emulator.base_url}/auth/tokens/"]
    assert "API token (hidden)" in result.stderr
    cli.browser_works = False  # no browser here: the address is printed instead
    again = cli.run("login", "--web", "--host", emulator.base_url, "--force",
                    input=TEST_TOKEN + "\n", stdin_tty=True)  # fmt: skip
    assert again.returncode == 0
    assert f"Open {emulator.base_url}/auth/tokens/ in your browser" in again.stderr
    piped = cli.run("login", "--web", "--host", emulator.base_url, input=TEST_TOKEN)
    assert piped.returncode == 2 and "--web needs a terminal" in piped.stderr


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


def test_empty_host_is_a_usage_error(cli: InProcessCli) -> None:
    result = cli.run("login", "--host", "", "--with-token", input=TEST_TOKEN)
    assert result.returncode == 2
    assert "host is empty" in result.stderr


def test_http_to_a_tls_port_says_to_use_https(cli: InProcessCli, certificate: Certificate) -> None:
    from valohai_cli_lite.emulator.server import EmulatorConfig

    cert, key = str(certificate.cert), str(certificate.key)
    with Emulator(EmulatorConfig(token=TEST_TOKEN, tls_cert=cert, tls_key=key)) as tls:
        plain = tls.base_url.replace("https://", "http://")
        result = cli.login(plain)
        assert result.returncode == 1
        assert "the server closed the connection without answering" in result.stderr
        assert "if the server expects TLS, use an https:// URL" in result.stderr
        typed = cli.run("login", input=f"{plain}\n{tls.base_url.removeprefix('https://')}\n",
                        stdin_tty=True)  # fmt: skip
        assert "use an https:// URL). Try again." in typed.stderr
        assert f"No scheme given: using {tls.base_url}" in typed.stderr


def test_relogin_replaces_and_says_so(cli: InProcessCli, emulator: Emulator) -> None:
    assert cli.login(emulator.base_url).returncode == 0
    again = cli.login(emulator.base_url)
    assert again.returncode == 0
    assert "Replaced the previous login of profile 'default' (demo on" in again.stderr


def test_env_token_is_announced_by_login_and_status(cli: InProcessCli, emulator: Emulator) -> None:
    env = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url}
    status = cli.run("auth", "status", env=env)
    assert status.returncode == 0, status.stderr
    assert "the VH_API_TOKEN environment variable" in status.stdout
    login = cli.run("login", "--host", emulator.base_url, "--with-token", input=TEST_TOKEN, env=env)
    assert login.returncode == 0
    assert "VH_API_TOKEN is set" in login.stderr


def test_a_login_never_orphans_the_token_of_an_unreachable_keyring(
    cli: InProcessCli, emulator: Emulator
) -> None:
    keyring = MemoryKeyring()
    cli.keyring = lambda _recorded: keyring
    assert cli.login(emulator.base_url).returncode == 0
    cli.keyring = no_keyring  # locked, or D-Bus gone
    for extra in ([], ["--insecure-storage"]):
        again = cli.login(emulator.base_url, TEST_TOKEN, *extra)
        assert again.returncode == 1
        assert "is in the system keyring, which cannot be reached" in again.stderr
        assert "nothing was changed" in again.stderr
        assert list(keyring.items.values()) == [TEST_TOKEN]
        profile = json.loads((cli.config_dir / "config.json").read_text())["profiles"]["default"]
        assert profile["token_store"] == "keyring"
        assert not (cli.config_dir / "credentials.json").exists()


def test_existing_config_dir_keeps_its_mode(cli: InProcessCli, emulator: Emulator) -> None:
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


def test_corrupt_config_is_reported_not_overwritten(cli: InProcessCli, emulator: Emulator) -> None:
    cli.config_dir.mkdir(parents=True)
    config = cli.config_dir / "config.json"
    config.write_text("{not json")
    result = cli.login(emulator.base_url)
    assert result.returncode == 1
    assert str(config) in result.stderr and "not valid JSON" in result.stderr
    assert config.read_text() == "{not json"


def test_credentials_file_of_the_wrong_shape_is_not_replaced(
    cli: InProcessCli, emulator: Emulator
) -> None:
    cli.config_dir.mkdir(parents=True)
    credentials = cli.config_dir / "credentials.json"
    credentials.write_text('{"profiles": [], "keep": 1}')
    result = cli.login(emulator.base_url, TEST_TOKEN, "--insecure-storage")
    assert result.returncode == 1
    assert "'profiles' is not an object" in result.stderr
    assert credentials.read_text() == '{"profiles": [], "keep": 1}'
