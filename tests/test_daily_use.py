"""The small things of a user's day: state that never ends up half written, the web UI one
flag away, aliases, forgiving paths, honest retries, TSV and UTF-8 in any pipe."""

from __future__ import annotations

import errno
import json

import pytest
from conftest import TEST_TOKEN, InProcessCli, MemoryKeyring, no_keyring, read_tsv_records
from test_emulator_support import Certificate

from valohai_cli_lite.auth import files as fileio
from valohai_cli_lite.emulator.data import make_project, project_id
from valohai_cli_lite.emulator.server import Emulator
from valohai_cli_lite.errors import ConfigError


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


def test_logout_never_claims_to_remove_what_was_not_there(
    cli: InProcessCli, emulator: Emulator
) -> None:
    assert cli.login(emulator.base_url, TEST_TOKEN, "--insecure-storage").returncode == 0
    (cli.config_dir / "credentials.json").unlink()  # the token file is gone, the profile not
    result = cli.run("logout")
    assert result.returncode == 0
    assert "no stored token was found" in result.stderr
    assert "nowhere" not in result.stderr


def test_an_empty_config_file_is_no_config(cli: InProcessCli, emulator: Emulator) -> None:
    cli.config_dir.mkdir(parents=True)
    (cli.config_dir / "config.json").write_text("")
    status = cli.run("auth", "status")
    assert status.returncode == 4 and "not logged in" in status.stderr
    assert cli.login(emulator.base_url).returncode == 0
    assert cli.run("auth", "status").returncode == 0


def test_the_web_ui_one_flag_away(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    shown = cli.run("projects", "show", "project-0005", "--web")
    assert shown.returncode == 0, shown.stderr
    assert cli.opened == [f"{emulator.base_url}/p/acme-org/project-0005/"]
    # Finding it needed the list, nothing more (no detail request).
    assert {r.path for r in emulator.requests} == {"/api/v0/projects/"}
    emulator.requests.clear()
    assert cli.run("projects", "show", project_id(4), "--web").returncode == 0
    assert cli.opened[-1] == cli.opened[0]
    assert len(emulator.requests) == 1
    emulator.requests.clear()
    listed = cli.run("projects", "list", "--web")
    assert listed.returncode == 0 and cli.opened[-1] == f"{emulator.base_url}/"
    assert emulator.requests == []


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


def test_aliases_users_of_vh_type(cli: InProcessCli, env: dict[str, str]) -> None:
    for words in (["project", "list"], ["projects", "ls"], ["project", "ls"]):
        result = cli.run(*words, "--limit", "2")
        assert result.returncode == 0, words
        assert len(result.stdout.splitlines()) == 2


def test_api_paths_without_the_trailing_slash(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    assert json.loads(cli.run("api", "users/me").stdout)["username"] == "demo"
    one = json.loads(cli.run("api", "projects?limit=1").stdout)
    assert len(one["results"]) == 1
    assert [r.path for r in emulator.requests] == ["/api/v0/users/me/", "/api/v0/projects/"]


def test_retries_are_announced_on_a_terminal_and_501_is_not_try_later(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.config.fail_next = [429]
    waited = cli.run("projects", "list", "--limit", "1", stderr_tty=True)
    assert waited.returncode == 0
    assert "rate limited; retrying in 1 s" in waited.stderr
    assert cli.slept == [1.0]
    emulator.config.fail_next = [429]
    piped = cli.run("projects", "list", "--limit", "1")
    assert "retrying" not in piped.stderr
    emulator.config.fail_next = [501]
    unsupported = cli.run("projects", "list")
    assert unsupported.returncode == 1
    assert "501 Not Implemented" in unsupported.stderr
    assert "the server does not support this request" in unsupported.stderr
    assert "try again later" not in unsupported.stderr


def test_owner_may_be_repeated_and_sort_by_owner(cli: InProcessCli, env: dict[str, str]) -> None:
    both = json.loads(cli.run("projects", "list", "--json", "--owner", "acme-org",
                              "--owner", "1337").stdout)  # fmt: skip
    assert len(both) == 250
    by_owner = json.loads(cli.run("projects", "list", "--json", "--sort", "owner",
                                  "--fields", "owner.username").stdout)  # fmt: skip
    names = [p["owner"]["username"] for p in by_owner]
    assert names == sorted(names, key=str.casefold) and names[0] == "acme-org"
    for bad in (["--owner", ""], ["--search", " "], ["--fields", ""]):
        assert cli.run("projects", "list", *bad).returncode == 2, bad


def test_show_catches_mistakes_and_suggests_names(cli: InProcessCli, env: dict[str, str]) -> None:
    empty = cli.run("projects", "show", "")
    assert empty.returncode == 2 and "needs a project id, name, or OWNER/NAME" in empty.stderr
    case = cli.run("projects", "show", "Project-0001")
    assert case.returncode == 1 and "did you mean project-0001?" in case.stderr
    typo = cli.run("projects", "show", "projekt-0001")
    assert "did you mean project-0001" in typo.stderr


def test_usage_errors_are_one_line(cli: InProcessCli) -> None:
    for args in (["projects", "list", "--bogus"], ["projects", "show"], ["projcts"],
                 ["projects", "list", "--format", "yaml"]):  # fmt: skip
        result = cli.run(*args)
        assert result.returncode == 2, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("vh-lite: error: "), result.stderr
        assert "--help'" in lines[0]


def test_tsv_and_utf8_survive_any_pipe_and_locale(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    tsv = cli.run("projects", "list", "--format", "tsv", encoding="ascii").stdout
    lines = tsv.split("\n")[:-1]
    assert len(lines) == 251 and {line.count("\t") for line in lines} == {7}
    records = read_tsv_records(tsv)
    assert records[1]["description"] == make_project(1, emulator.base_url)["description"]
    assert "日本語" in tsv  # UTF-8, not \\u escapes, although stdout said ASCII
    for fmt in ("csv", "json", "jsonl", "plain"):
        out = cli.run("projects", "list", "--format", fmt, "--limit", "2", encoding="ascii")
        assert "日本語" in out.stdout and "\\u65e5" not in out.stdout, fmt


def test_a_corrupt_config_blocks_only_what_needs_it(cli: InProcessCli, emulator: Emulator) -> None:
    cli.config_dir.mkdir(parents=True)
    config = cli.config_dir / "config.json"
    config.write_text("{not json")
    env = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url}
    assert cli.run("projects", "list", "--limit", "1", env=env).returncode == 0  # not read
    for args in (["auth", "list"], ["projects", "list"], ["logout"], ["auth", "switch", "x"]):
        result = cli.run(*args)
        assert result.returncode == 1, args
        assert f"{config} is not valid JSON" in result.stderr, args
    assert config.read_text() == "{not json"


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
