"""`projects list` and error handling, run in-process through cli.run against the emulator."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from conftest import TEST_TOKEN, InProcessCli

from valohai_cli_lite.emulator.data import make_project
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig


def _env(emulator: Emulator, var: str = "VH_API_TOKEN") -> dict[str, str]:
    return {var: TEST_TOKEN, "VH_HOST": emulator.base_url}


def test_login_then_list_json_returns_every_page_whole(
    cli: InProcessCli, emulator: Emulator
) -> None:
    assert cli.login(emulator.base_url).returncode == 0
    result = cli.run("projects", "list", "--json")
    assert result.returncode == 0, result.stderr
    projects = json.loads(result.stdout)  # stdout holds the JSON and nothing else
    expected = [make_project(i, emulator.base_url) for i in range(250)]
    assert len(projects) == 250
    assert {p["id"] for p in projects} == {p["id"] for p in expected}
    # Exactly as the API returned them: every field kept, none renamed.
    by_id = {p["id"]: p for p in expected}
    assert all(p == by_id[p["id"]] for p in projects)
    pages = [r for r in emulator.requests if r.path == "/api/v0/projects/"]
    assert len(pages) == 3


@pytest.mark.parametrize("var", ["VH_API_TOKEN", "VALOHAI_TOKEN"])
def test_env_token_needs_no_login(cli: InProcessCli, emulator: Emulator, var: str) -> None:
    env = {var: TEST_TOKEN, "VALOHAI_HOST": emulator.base_url}
    result = cli.run("projects", "list", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 250
    assert not cli.config_dir.exists()  # nothing was written


def test_vh_api_token_wins_over_valohai_token_and_stored_login(
    cli: InProcessCli, emulator: Emulator
) -> None:
    assert cli.login(emulator.base_url).returncode == 0
    env = {"VH_API_TOKEN": TEST_TOKEN, "VALOHAI_TOKEN": "wrong"}
    assert cli.run("projects", "list", "--json", env=env).returncode == 0
    env = {"VH_API_TOKEN": "wrong", "VALOHAI_TOKEN": TEST_TOKEN}
    result = cli.run("projects", "list", "--json", env=env)
    assert result.returncode == 4  # the env token was used, not the stored one


def test_limit_caps_the_count_and_stops_fetching(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.run("projects", "list", "--json", "--limit", "5", env=_env(emulator))
    assert result.returncode == 0
    assert len(json.loads(result.stdout)) == 5
    pages = [r for r in emulator.requests if r.path == "/api/v0/projects/"]
    assert len(pages) == 1 and pages[0].query["limit"] == ["5"]
    assert cli.run("projects", "list", "--limit", "0", env=_env(emulator)).returncode == 2


def test_piped_listing_is_one_plain_line_per_project(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.run("projects", "list", env=_env(emulator))
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 250
    assert all(len(line.split("\t")) == 5 for line in lines)
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout


def test_empty_list_is_empty_output_in_a_pipe(cli: InProcessCli) -> None:
    # "No projects found." is for a person at a terminal (test_render); a script sees nothing.
    with Emulator(EmulatorConfig(token=TEST_TOKEN, projects=0)) as emu:
        result = cli.run("projects", "list", env=_env(emu))
        assert result.returncode == 0
        assert result.stdout == ""
        assert result.stderr == ""
        as_json = cli.run("projects", "list", "--json", env=_env(emu))
        assert json.loads(as_json.stdout) == []


def test_logged_out_use_exits_4(cli: InProcessCli) -> None:
    result = cli.run("projects", "list")
    assert result.returncode == 4
    assert "not logged in" in result.stderr and "vh-lite login" in result.stderr


def test_bad_token_exits_4_without_traceback(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.run("projects", "list", env={"VH_API_TOKEN": "bad", "VH_HOST": emulator.base_url})
    assert result.returncode == 4
    assert "401" in result.stderr and "Invalid token" in result.stderr
    assert "Traceback" not in result.output


def test_html_server_error_is_one_readable_line(cli: InProcessCli, emulator: Emulator) -> None:
    emulator.config.fail_next = [502] * 4  # every attempt fails: retries give up
    result = cli.run("projects", "list", "--json", env=_env(emulator))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "vh-lite: error: the server answered 502 Bad Gateway "
        "(the server or a proxy in front of it failed; try again later)"
    ]


def test_failure_midway_prints_nothing_on_stdout(cli: InProcessCli, emulator: Emulator) -> None:
    # Page 1 succeeds (0 = answer normally), page 2 hits a 503: no partial list on stdout.
    emulator.config.fail_next = [0, *([503] * 20)]
    result = cli.run("projects", "list", "--json", env=_env(emulator))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "503 Service Unavailable" in result.stderr


def test_connection_refused_is_one_line(cli: InProcessCli) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = cli.run(
        "projects", "list", env={"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": f"http://127.0.0.1:{port}"}
    )
    assert result.returncode == 1
    assert "cannot reach http://127.0.0.1:" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_non_json_success_is_an_error(cli: InProcessCli, tmp_path: Path) -> None:
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html>not an API</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host = f"http://127.0.0.1:{server.server_address[1]}"
        result = cli.run("projects", "list", env={"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": host})
    finally:
        server.shutdown()
    assert result.returncode == 1
    assert "not valid JSON" in result.stderr
    assert "Traceback" not in result.output


def test_a_progress_bar_shows_while_pages_come_only_where_a_person_watches(
    cli: InProcessCli, env: dict[str, str]
) -> None:
    # stderr on a terminal, stdout to a file: the bar shows, the data stays whole.
    watched = cli.run("projects", "list", "--json", stderr_tty=True)
    assert "Fetching projects" in watched.stderr
    assert len(json.loads(watched.stdout)) == 250
    # No bar in a pipe, for a single page, or over JSONL streaming to the same terminal.
    assert "Fetching" not in cli.run("projects", "list", "--json").stderr
    one_page = cli.run("projects", "list", "--json", "--limit", "5", stderr_tty=True)
    assert "Fetching" not in one_page.stderr
    streaming = cli.run("projects", "list", "--format", "jsonl", stdout_tty=True,
                        stderr_tty=True)  # fmt: skip
    assert "Fetching" not in streaming.stderr
    assert len(streaming.stdout.splitlines()) == 250
    table = cli.run("projects", "list", stdout_tty=True, stderr_tty=True)
    assert "Fetching" not in table.stderr  # the rows arriving are the progress
    assert len(table.stdout.splitlines()) == 251 and table.stderr.strip() == "250 projects"
