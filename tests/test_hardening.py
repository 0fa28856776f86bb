"""Regressions from review: malformed tokens, hostile server text, odd input, shared dirs."""

from __future__ import annotations

import json
import re
import stat

from conftest import TEST_TOKEN, InProcessCli

from valohai_cli_lite.emulator.data import EmulatedUser
from valohai_cli_lite.emulator.server import Emulator


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


def test_malformed_token_on_stdin_stores_nothing(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.run("login", "--host", emulator.base_url, "--with-token", input="SECRET tøken\n")
    assert result.returncode == 4
    assert "SECRET" not in result.output
    assert not cli.config_dir.exists()


def test_server_text_cannot_drive_the_terminal(cli: InProcessCli, emulator: Emulator) -> None:
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


def test_rejected_env_token_hint_names_the_variable(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.run(
        "projects", "list", env={"VALOHAI_TOKEN": "wrong-token", "VH_HOST": emulator.base_url}
    )
    assert result.returncode == 4
    assert "update or unset VALOHAI_TOKEN" in result.stderr


def test_not_logged_in_hint_names_the_profile(cli: InProcessCli) -> None:
    result = cli.run("--profile", "onprem", "projects", "list")
    assert result.returncode == 4
    assert "vh-lite login --profile onprem" in result.stderr


def test_empty_host_is_a_usage_error(cli: InProcessCli) -> None:
    result = cli.run("login", "--host", "", "--with-token", input=TEST_TOKEN)
    assert result.returncode == 2
    assert "host is empty" in result.stderr


def test_wrong_path_prefix_names_the_path(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.run(
        "projects",
        "list",
        env={"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url + "/prefix"},
    )
    assert result.returncode == 1
    assert "404" in result.stderr and "/prefix/api/v0/projects/" in result.stderr
    assert "path prefix" in result.stderr


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


def test_odd_field_types_render_in_every_view(cli: InProcessCli, emulator: Emulator) -> None:
    odd = {"id": "22222222-2222-2222-2222-222222222222", "name": "odd", "owner": "someone",
           "description": ["a", "list"], "execution_count": "many",
           "last_execution_ctime": 12345, "ctime": {"when": "now"}, "urls": None}  # fmt: skip
    emulator.config.projects = 0
    emulator.config.extra_projects = [odd]
    cli.env.update(VH_API_TOKEN=TEST_TOKEN, VH_HOST=emulator.base_url)
    for args in (["--format", "table"], [], ["--format", "csv"], ["--json"]):
        result = cli.run("projects", "list", *args, env={"COLUMNS": "200"})
        assert result.returncode == 0, (args, result.stderr)
        assert "odd" in result.stdout
    shown = cli.run("projects", "show", "odd", "--format", "table")
    assert shown.returncode == 0, shown.stderr
    assert "12345" in shown.stdout


def test_entries_that_are_not_objects_are_an_error(cli: InProcessCli, emulator: Emulator) -> None:
    emulator.config.extra_projects = ["not an object"]  # type: ignore[list-item]
    cli.env.update(VH_API_TOKEN=TEST_TOKEN, VH_HOST=emulator.base_url)
    for args in (["--format", "jsonl", "--max-concurrency", "1"], ["--format", "csv"]):
        result = cli.run("projects", "list", *args)
        assert result.returncode == 1
        assert "not an object" in result.stderr
    assert cli.run("projects", "show", "zzz").returncode == 1


def test_no_color_flag_turns_colour_off_on_a_terminal(
    cli: InProcessCli, emulator: Emulator
) -> None:
    env = {"VH_API_TOKEN": "wrong-token", "VH_HOST": emulator.base_url, "TERM": "xterm"}
    coloured = cli.run("projects", "list", env=env, stdout_tty=True, stderr_tty=True)
    assert "\x1b[1;31mvh-lite: error:\x1b[0m" in coloured.stderr  # colour is on here
    plain = cli.run("--no-color", "projects", "list", env=env, stdout_tty=True, stderr_tty=True)
    assert plain.returncode == 4
    assert plain.stderr.startswith("vh-lite: error: ")
    assert "\x1b[" not in plain.output
    login = cli.run(
        "--no-color", "login", "--host", emulator.base_url, "--with-token", input=TEST_TOKEN,
        env={"TERM": "xterm"}, stdout_tty=True, stderr_tty=True,
    )  # fmt: skip
    assert login.stderr.startswith("warning: ")  # the plain-text warning, uncoloured


def test_subdomains_of_localhost_are_not_loopback(cli: InProcessCli) -> None:
    result = cli.run(
        "projects", "list", env={"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": "http://evil.localhost:9"}
    )
    assert result.returncode == 2
    assert "refusing to talk to http://evil.localhost:9" in result.stderr


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


def test_bad_method_and_sort_are_usage_errors(cli: InProcessCli, emulator: Emulator) -> None:
    cli.env.update(VH_API_TOKEN=TEST_TOKEN, VH_HOST=emulator.base_url)
    assert cli.run("api", "users/me/", "-X", "GE T").returncode == 2
    assert cli.run("projects", "list", "--sort", "--name").returncode == 2
    assert cli.run("projects", "list", "--max-concurrency", "1000").returncode == 2
    paginated = cli.run("api", "projects/", "--paginate", "-f", "limit=7")
    assert paginated.returncode == 0, paginated.stderr  # fields with --paginate: a GET
    assert len(json.loads(paginated.stdout)) == 250


def test_colour_off_means_no_colour_in_the_table_or_the_progress_bar(
    cli: InProcessCli, env: dict[str, str]
) -> None:
    colour = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-9]|4[0-9]|9[0-7])(?:;[0-9]+)*m")
    # JSON into a file while a person watches stderr: the progress bar is coloured there.
    coloured = cli.run("projects", "list", "--json", env={"TERM": "xterm-256color"},
                       stderr_tty=True)  # fmt: skip
    assert colour.search(coloured.stderr)
    for off in (["--no-color"], ["--profile", "default", "--no-color"]):
        for shape in ([], ["--json"]):  # the table on a terminal, the bar beside a file
            plain = cli.run(*off, "projects", "list", *shape, env={"TERM": "xterm-256color"},
                            stdout_tty=not shape, stderr_tty=True)  # fmt: skip
            assert plain.returncode == 0
            assert not colour.search(plain.output), (off, shape)
    no_color = cli.run("projects", "list", env={"TERM": "xterm", "NO_COLOR": "1"},
                       stdout_tty=True, stderr_tty=True)  # fmt: skip
    assert not colour.search(no_color.output)


def test_a_terminal_that_reports_no_width_still_gets_the_table(
    cli: InProcessCli, env: dict[str, str]
) -> None:
    for width, columns in ((0, None), (None, "0")):
        extra = {"COLUMNS": columns} if columns else {}
        result = cli.run("projects", "list", "--limit", "3", width=width, stdout_tty=True,
                         env=extra)  # fmt: skip
        assert "project-0003" in result.stdout, (width, columns)
        shown = re.sub(r"\x1b\]8;[^\x1b]*\x1b\\|\x1b\[[0-9;]*m", "", result.stdout)
        assert max(len(line) for line in shown.splitlines()) <= 80
