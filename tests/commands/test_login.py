"""`login` in-process through cli.run against the emulator: a token on stdin, a password,
the web page, the prompts a terminal gets, and what is stored where (or, when anything
is wrong, that nothing is)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

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
        assert keyring.tokens() == [TEST_TOKEN]
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


# --- vh's habits: secrets on the command line ----------------------------------------------

ARGV_SECRET = "PASSWORD-in-argv-0f-vh"  # a valid profile name too, should -p ever mean --profile


def _files_holding(root: Path, text: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def test_vhs_password_flag_is_refused_and_nothing_is_stored(
    cli: InProcessCli, emulator: Emulator
) -> None:
    result = cli.run("login", "--host", emulator.base_url, "-u", "demo", "-p", ARGV_SECRET,
                     "--password-stdin", input=ARGV_SECRET + "\n")  # fmt: skip
    assert result.returncode == 2
    assert "on the command line" in result.stderr and "--password-stdin" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert ARGV_SECRET not in result.output
    assert emulator.requests == []  # refused before anything was sent
    assert _files_holding(cli.home, ARGV_SECRET) == []
    listed = cli.run("auth", "list")
    as_json = cli.run("auth", "list", "--json")
    assert ARGV_SECRET not in listed.output and ARGV_SECRET not in as_json.output
    assert [row["profile"] for row in json.loads(as_json.stdout)] == ["default"]
    assert not cli.config_dir.exists()


@pytest.mark.parametrize(
    ("flags", "safe_flag"),
    [
        (["--password", ARGV_SECRET], "--password-stdin"),
        (["-p", ARGV_SECRET], "--password-stdin"),
        (["--token", ARGV_SECRET], "--with-token"),
        (["-t", ARGV_SECRET], "--with-token"),
        ([f"--token={ARGV_SECRET}"], "--with-token"),
    ],
)
def test_vhs_secret_flags_are_refused_naming_the_safe_way(
    cli: InProcessCli, emulator: Emulator, flags: list[str], safe_flag: str
) -> None:
    result = cli.run("login", "--host", emulator.base_url, *flags)
    assert result.returncode == 2
    assert "on the command line" in result.stderr and safe_flag in result.stderr
    assert ARGV_SECRET not in result.output
    assert emulator.requests == []
    assert not cli.config_dir.exists()
    with_debug = cli.run("--debug", "login", *flags)  # nor in --debug's words
    assert with_debug.returncode == 2 and ARGV_SECRET not in with_debug.output


def test_a_wrong_password_is_the_servers_own_sentence(
    cli: InProcessCli, emulator: Emulator
) -> None:
    result = cli.password_login(emulator.base_url, "demo", "not-the-password")
    assert result.returncode == 4
    assert result.stderr == (
        "vh-lite: error: login failed: Unable to log in with provided credentials.\n"
    )
    assert "not-the-password" not in result.output
    assert not cli.config_dir.exists()


# --- login --from-vh ---------------------------------------------------------------------


def write_vh_config(directory: Path, host: str | None, **changes: Any) -> Path:
    """vh's config.json (valohai-cli 0.37) as vh writes it after `vh login`: the host as typed
    (here with vh's trailing slash), the token in plain text, the user, verify_ssl, links."""
    directory.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "host": None if host is None else host + "/",
        "token": TEST_TOKEN,
        "user": {"id": 1337, "username": "demo", "email": "demo@example.com"},
        "verify_ssl": True,
        "links": {"/home/someone/work": {"id": "015f25c1", "name": "project-0001"}},
        **changes,
    }
    path = directory / "config.json"
    path.write_text(json.dumps(data, indent=4), encoding="utf-8")
    return path


@pytest.fixture
def vh_dir(cli: InProcessCli) -> Path:
    """Where VALOHAI_CONFIG_DIR points for this test: vh's login is found there."""
    directory = cli.home / "vh-config"
    cli.env["VALOHAI_CONFIG_DIR"] = str(directory)
    return directory


def _stored_profile(cli: InProcessCli, name: str = "default") -> dict[str, Any]:
    profile: dict[str, Any] = json.loads((cli.config_dir / "config.json").read_text())["profiles"][
        name
    ]
    return profile


def test_login_from_vh_imports_vhs_login_into_the_keyring_and_leaves_its_file_alone(
    cli: InProcessCli, emulator: Emulator, vh_dir: Path
) -> None:
    keyring = MemoryKeyring()
    cli.keyring = lambda _recorded: keyring
    vh_file = write_vh_config(vh_dir, emulator.base_url)
    before = (vh_file.read_bytes(), vh_file.stat().st_mtime_ns, sorted(vh_dir.iterdir()))
    result = cli.run("login", "--from-vh")
    assert result.returncode == 0, result.stderr
    assert f"Logged in to {emulator.base_url} as demo (profile 'default')" in result.stderr
    assert str(vh_file) in result.stderr
    assert "warning" not in result.stderr.lower()
    # Checked with the server before it was stored, and sent to vh's host only.
    me = [r for r in emulator.requests if r.path == "/api/v0/users/me/"]
    assert me and me[0].headers["authorization"] == f"Token {TEST_TOKEN}"
    assert keyring.tokens() == [TEST_TOKEN]
    assert not (cli.config_dir / "credentials.json").exists()
    profile = _stored_profile(cli)
    assert (profile["host"], profile["username"], profile["token_store"]) == (
        emulator.base_url, "demo", "keyring",
    )  # fmt: skip
    assert "ca_file" not in profile
    del cli.env["VALOHAI_CONFIG_DIR"]  # the import stands on its own
    listing = cli.run("projects", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    assert len(json.loads(listing.stdout)) == 250
    after = (vh_file.read_bytes(), vh_file.stat().st_mtime_ns, sorted(vh_dir.iterdir()))
    assert after == before  # vh's file: the same bytes, never rewritten, nothing beside it


def test_login_from_vh_without_a_keyring_uses_the_private_file_with_a_warning(
    cli: InProcessCli, emulator: Emulator, vh_dir: Path
) -> None:
    write_vh_config(vh_dir, emulator.base_url)
    result = cli.run("login", "--from-vh")
    assert result.returncode == 0, result.stderr
    assert "PLAIN TEXT" in result.stderr
    credentials = cli.config_dir / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert json.loads(credentials.read_text())["profiles"]["default"]["token"] == TEST_TOKEN
    assert _stored_profile(cli)["token_store"] == "file"
    assert cli.run("auth", "status").returncode == 0


def test_login_from_vh_stores_nothing_when_the_server_rejects_vhs_token(
    cli: InProcessCli, emulator: Emulator, vh_dir: Path
) -> None:
    emulator.config.token = "rotated-since-vh-logged-in"
    write_vh_config(vh_dir, emulator.base_url)
    result = cli.run("login", "--from-vh")
    assert result.returncode == 4
    assert "rejected" in result.stderr and "nothing was stored" in result.stderr
    assert not cli.config_dir.exists()


@pytest.mark.parametrize("state", ["logged out", "absent"])
def test_a_logged_out_or_missing_vh_is_one_error_line(
    cli: InProcessCli, emulator: Emulator, vh_dir: Path, state: str
) -> None:
    if state == "logged out":  # what `vh logout` leaves
        write_vh_config(vh_dir, None, token=None, user=None)
    result = cli.run("login", "--from-vh")
    assert result.returncode == 4
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(vh_dir / "config.json") in result.stderr
    assert "Traceback" not in result.output
    assert emulator.requests == []
    assert not cli.config_dir.exists()


def test_vhs_verify_ssl_false_is_refused_unless_a_ca_file_is_given(
    cli: InProcessCli, vh_dir: Path, certificate: Certificate
) -> None:
    from valohai_cli_lite.emulator.server import EmulatorConfig

    cert, key = str(certificate.cert), str(certificate.key)
    with Emulator(EmulatorConfig(token=TEST_TOKEN, projects=3, tls_cert=cert, tls_key=key)) as tls:
        write_vh_config(vh_dir, tls.base_url, verify_ssl=False)
        refused = cli.run("login", "--from-vh")
        assert refused.returncode == 2
        assert "verify_ssl" in refused.stderr and "--ca-file" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        assert tls.requests == [] and not cli.config_dir.exists()
        for args in (["login", "--from-vh", "--ca-file", cert],
                     ["--ca-file", cert, "login", "--from-vh", "--force"]):  # fmt: skip
            trusted = cli.run(*args)
            assert trusted.returncode == 0, trusted.stderr
            assert _stored_profile(cli)["ca_file"] == cert
        listing = cli.run("projects", "list", "--json")  # the saved CA, no flag needed
        assert listing.returncode == 0, listing.stderr
        assert len(json.loads(listing.stdout)) == 3


def test_vhs_verify_ssl_naming_a_ca_bundle_becomes_the_profiles_ca_file(
    cli: InProcessCli, vh_dir: Path, certificate: Certificate
) -> None:
    from valohai_cli_lite.emulator.server import EmulatorConfig

    cert, key = str(certificate.cert), str(certificate.key)
    with Emulator(EmulatorConfig(token=TEST_TOKEN, projects=3, tls_cert=cert, tls_key=key)) as tls:
        write_vh_config(vh_dir, tls.base_url, verify_ssl=cert)
        result = cli.run("login", "--from-vh")
        assert result.returncode == 0, result.stderr
        assert _stored_profile(cli)["ca_file"] == cert
        listing = cli.run("projects", "list", "--json")
        assert listing.returncode == 0, listing.stderr
        assert len(json.loads(listing.stdout)) == 3


@pytest.mark.parametrize("content", ["{", "[" * 100_000 + "]" * 100_000, "\xff"])
def test_an_unreadable_vh_login_is_one_line_naming_it(
    cli: InProcessCli, emulator: Emulator, vh_dir: Path, content: str
) -> None:
    vh_dir.mkdir(parents=True, exist_ok=True)
    (vh_dir / "config.json").write_bytes(content.encode("latin-1"))
    result = cli.run("login", "--from-vh")
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot read vh's login in {vh_dir / 'config.json'}" in lines[0]
    assert emulator.requests == []


@pytest.mark.parametrize("xdg", [True, False])
def test_vhs_login_is_found_in_vhs_own_directory(
    cli: InProcessCli, emulator: Emulator, xdg: bool
) -> None:
    """No VALOHAI_CONFIG_DIR: $XDG_CONFIG_HOME/valohai-cli/, else ~/.config/valohai-cli/."""
    cli.env.pop("VALOHAI_CONFIG_DIR", None)
    if xdg:
        config_home = cli.home / "xdg-config"
        cli.env["XDG_CONFIG_HOME"] = str(config_home)
    else:
        del cli.env["XDG_CONFIG_HOME"]
        config_home = cli.home / ".config"
    write_vh_config(config_home / "valohai-cli", emulator.base_url)
    result = cli.run("login", "--from-vh")
    assert result.returncode == 0, result.stderr
    assert str(config_home / "valohai-cli" / "config.json") in result.stderr
    assert cli.run("projects", "list", "--limit", "1").returncode == 0


def test_valohai_config_dir_wins_over_vhs_own_directory(
    cli: InProcessCli, emulator: Emulator, vh_dir: Path
) -> None:
    write_vh_config(cli.home / ".config" / "valohai-cli", emulator.base_url)
    result = cli.run("login", "--from-vh")  # VALOHAI_CONFIG_DIR names an empty directory
    assert result.returncode == 4
    assert str(vh_dir / "config.json") in result.stderr
    assert emulator.requests == []


@pytest.mark.parametrize(
    "flags", [["--host", "HOST"], ["--with-token"], ["--username", "demo"], ["-u", "demo"]]
)
def test_from_vh_with_another_way_to_log_in_is_a_usage_error(
    cli: InProcessCli, emulator: Emulator, vh_dir: Path, flags: list[str]
) -> None:
    write_vh_config(vh_dir, emulator.base_url)
    flags = [emulator.base_url if flag == "HOST" else flag for flag in flags]
    result = cli.run("login", "--from-vh", *flags, input=TEST_TOKEN + "\n")
    assert result.returncode == 2
    assert "--from-vh" in result.stderr
    assert emulator.requests == []
    assert not cli.config_dir.exists()


def test_not_logged_in_hint_names_login_from_vh_only_when_vh_is_logged_in(
    cli: InProcessCli, emulator: Emulator, vh_dir: Path
) -> None:
    vh_file = write_vh_config(vh_dir, emulator.base_url)
    for args in (["projects", "list"], ["auth", "status"]):
        result = cli.run(*args)
        assert result.returncode == 4
        assert "'vh-lite login --from-vh'" in result.stderr, args
    other = cli.run("-p", "onprem", "projects", "list")
    assert "'vh-lite login --profile onprem --from-vh'" in other.stderr
    for state in ("logged out", "absent", "corrupt"):
        if state == "logged out":
            write_vh_config(vh_dir, None, token=None, user=None)
        elif state == "absent":
            vh_file.unlink()
        else:
            vh_file.write_text("{not json")
        for args in (["projects", "list"], ["auth", "status"]):
            result = cli.run(*args)
            assert result.returncode == 4, (state, args)
            assert "not logged in (profile 'default')" in result.stderr
            assert "--from-vh" not in result.stderr, (state, args)
            assert "'vh-lite login'" in result.stderr
    assert emulator.requests == []
