"""What every command shares, in-process through cli.run against the emulator: the root
options (--debug, --timeout, --no-color, --ca-file, --allow-insecure-http, --system-certs)
before or after the command, vh's environment variables, aliases, one-line usage errors,
exit codes, the trust store, proxies, and failing or hostile servers and corrupt local files
as any command meets them."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest
from conftest import TEST_TOKEN, InProcessCli, emulator_env, read_tsv, serving_body
from emulator_support import Certificate, make_certificate
from proxy_support import LoopbackProxy, only_loopback_lookups

from valohai_cli_lite.client.trust import subject_hash
from valohai_cli_lite.emulator.data import EmulatedUser
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig

# --- aliases, usage errors, colour ---------------------------------------------------------


def test_aliases_users_of_vh_type(cli: InProcessCli, env: dict[str, str]) -> None:
    for words in (["project", "list"], ["projects", "ls"], ["project", "ls"]):
        result = cli.run(*words, "--limit", "2")
        assert result.returncode == 0, words
        assert len(result.stdout.splitlines()) == 2


def test_usage_errors_are_one_line(cli: InProcessCli) -> None:
    for args in (["projects", "list", "--bogus"], ["projects", "show"], ["projcts"],
                 ["projects", "list", "--format", "yaml"]):  # fmt: skip
        result = cli.run(*args)
        assert result.returncode == 2, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("vh-lite: error: "), result.stderr
        assert "--help'" in lines[0]


def test_bad_method_and_sort_are_usage_errors(cli: InProcessCli, emulator: Emulator) -> None:
    cli.env.update(VH_API_TOKEN=TEST_TOKEN, VH_HOST=emulator.base_url)
    assert cli.run("api", "users/me/", "-X", "GE T").returncode == 2
    assert cli.run("projects", "list", "--sort", "--name").returncode == 2
    assert cli.run("projects", "list", "--max-concurrency", "1000").returncode == 2
    paginated = cli.run("api", "projects/", "--paginate", "-f", "limit=7")
    assert paginated.returncode == 0, paginated.stderr  # fields with --paginate: a GET
    assert len(json.loads(paginated.stdout)) == 250


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


# --- root options after the command -------------------------------------------------------


def test_debug_and_timeout_after_the_command(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    for args in (["--debug", "--timeout", "5"], ["--timeout=5", "--debug"]):
        result = cli.run("projects", "list", *args, "--limit", "1")
        assert result.returncode == 0, (args, result.stderr)
        assert len(result.stdout.splitlines()) == 1
        assert f"debug: > GET {emulator.base_url}/api/v0/projects/" in result.stderr
        assert "debug: > Authorization: Token [redacted]" in result.stderr
        assert "debug: < 200 OK" in result.stderr
        assert TEST_TOKEN not in result.stderr
    quiet = cli.run("projects", "list", "--limit", "1")
    assert quiet.stderr == ""
    emulator.config.fail_next = ["hang"]
    started = time.monotonic()
    hung = cli.run("projects", "list", "--timeout", "0.5")  # the value after the command counts
    assert time.monotonic() - started < 10
    assert hung.returncode == 1
    assert "did not answer within 0.5 s" in hung.stderr


def test_no_color_after_the_command(cli: InProcessCli, emulator: Emulator) -> None:
    env = {"VH_API_TOKEN": "wrong-token", "VH_HOST": emulator.base_url, "TERM": "xterm"}
    coloured = cli.run("projects", "list", env=env, stdout_tty=True, stderr_tty=True)
    assert "\x1b[" in coloured.stderr
    plain = cli.run("projects", "list", "--no-color", env=env, stdout_tty=True, stderr_tty=True)
    assert plain.returncode == 4
    assert plain.stderr.startswith("vh-lite: error: ") and "\x1b[" not in plain.output


def test_ca_file_and_system_certs_after_the_command(
    cli: InProcessCli, certificate: Certificate
) -> None:
    cert = str(certificate.cert)
    config = EmulatorConfig(token=TEST_TOKEN, projects=3, tls_cert=cert,
                            tls_key=str(certificate.key))  # fmt: skip
    with Emulator(config) as tls:
        cli.env.update(VH_API_TOKEN=TEST_TOKEN, VH_HOST=tls.base_url)
        assert cli.run("projects", "list").returncode == 1  # the private CA is not trusted
        for args in (
            ["--ca-file", cert],
            [f"--ca-file={cert}"],
            ["--system-certs", "--ca-file", cert],
            ["--ca-file", cert, "--system-certs"],
        ):
            result = cli.run("projects", "list", *args)
            assert result.returncode == 0, (args, result.stderr)
            assert len(result.stdout.splitlines()) == 3
        # --system-certs alone: the system's store, which does not hold the private CA.
        system = cli.run("projects", "list", "--system-certs")
        assert system.returncode == 1 and "does not verify" in system.stderr


def test_allow_insecure_http_after_the_command(cli: InProcessCli, emulator: Emulator) -> None:
    # A host beyond loopback, reached through a proxy on loopback that knows where it is.
    with LoopbackProxy({"vh.test": "127.0.0.1"}) as proxy, only_loopback_lookups():
        host = f"http://vh.test:{emulator.port}"
        env = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": host, "HTTP_PROXY": proxy.url}
        refused = cli.run("projects", "list", "--limit", "1", env=env)
        assert refused.returncode == 2 and "--allow-insecure-http" in refused.stderr
        assert proxy.seen == [] and emulator.requests == []
        allowed = cli.run("projects", "list", "--limit", "1", "--allow-insecure-http", env=env)
        assert allowed.returncode == 0, allowed.stderr
        assert len(allowed.stdout.splitlines()) == 1
        assert proxy.seen == [f"GET {host}/api/v0/projects/?limit=1&offset=0 HTTP/1.1"]
        assert emulator.requests[0].headers["host"] == f"vh.test:{emulator.port}"


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "0", "-1", "0.0", "1e400", "soon"])
def test_timeouts_that_are_no_number_of_seconds_are_usage_errors(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator, value: str
) -> None:
    for args in (["--timeout", value, "projects", "list"], ["projects", "list", "--timeout", value],
                 [f"--timeout={value}", "projects", "list"],
                 ["projects", "list", f"--timeout={value}"]):  # fmt: skip
        result = cli.run(*args)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("vh-lite: error: "), result.stderr
        assert "--timeout" in lines[0]
    from_env = cli.run("projects", "list", env={"VH_TIMEOUT": value})
    assert from_env.returncode == 2, from_env.stderr
    assert emulator.requests == []


def test_an_option_after_double_dash_stays_an_argument(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    for word in ("--debug", "--no-color", "--timeout"):
        result = cli.run("projects", "show", "--", word)
        assert result.returncode == 1, (word, result.stderr)  # a project by that name
        assert word in result.stderr and "debug: >" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    # Before `--` the same word is the root option.
    assert "debug: >" in cli.run("projects", "show", "--debug", "--", "--x").stderr


# --- vh's environment variables --------------------------------------------------------------


def _shape(stdout: str) -> str:
    """Which format `projects list` wrote."""
    if stdout.startswith("["):
        json.loads(stdout)
        return "json"
    if stdout.startswith("{"):
        [json.loads(line) for line in stdout.splitlines()]
        return "jsonl"
    first = stdout.splitlines()[0]
    if first.startswith("id,name,"):
        assert next(csv.reader(io.StringIO(stdout)))[0] == "id"
        return "csv"
    if first.startswith("id\tname\t"):
        assert read_tsv(stdout)[0][0] == "id"
        return "tsv"
    return "plain"


@pytest.mark.parametrize(
    ("variables", "args", "expected"),
    [
        ({"VALOHAI_OUTPUT_FORMAT": "json"}, [], "json"),
        ({"VALOHAI_OUTPUT_FORMAT": "JSON"}, [], "json"),
        ({"VALOHAI_TABLE_FORMAT": "csv"}, [], "csv"),
        ({"VALOHAI_TABLE_FORMAT": "tsv"}, [], "tsv"),
        ({"VALOHAI_OUTPUT_FORMAT": "json", "VALOHAI_TABLE_FORMAT": "csv"}, [], "json"),
        ({"VH_FORMAT": "jsonl", "VALOHAI_OUTPUT_FORMAT": "json", "VALOHAI_TABLE_FORMAT": "csv"},
         [], "jsonl"),
        ({"VH_FORMAT": "tsv", "VALOHAI_OUTPUT_FORMAT": "json"}, ["--format", "csv"], "csv"),
        ({"VH_FORMAT": "csv", "VALOHAI_OUTPUT_FORMAT": "tsv", "VALOHAI_TABLE_FORMAT": "csv"},
         ["--json"], "json"),
        ({"VALOHAI_OUTPUT_FORMAT": "json"}, ["--format", "plain"], "plain"),
        ({"VALOHAI_OUTPUT_FORMAT": "human"}, [], "plain"),
        ({"VALOHAI_TABLE_FORMAT": "human"}, [], "plain"),
        ({}, [], "plain"),
    ],
)  # fmt: skip
def test_vh_output_format_variables_below_vh_lites_own(
    cli: InProcessCli, env: dict[str, str], variables: dict[str, str], args: list[str],
    expected: str,
) -> None:  # fmt: skip
    result = cli.run("projects", "list", "--limit", "3", *args, env=variables)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert _shape(result.stdout) == expected


def test_human_and_unknown_vh_formats_give_the_default(
    cli: InProcessCli, env: dict[str, str]
) -> None:
    for tty in (False, True):
        default = cli.run("projects", "list", "--limit", "3", stdout_tty=tty)
        human = cli.run("projects", "list", "--limit", "3", stdout_tty=tty,
                        env={"VALOHAI_OUTPUT_FORMAT": "human"})  # fmt: skip
        assert human.stdout == default.stdout and human.stderr == ""
        for name, value in (("VALOHAI_OUTPUT_FORMAT", "psv"), ("VALOHAI_TABLE_FORMAT", "scsv")):
            unknown = cli.run("projects", "list", "--limit", "3", stdout_tty=tty,
                              env={name: value})  # fmt: skip
            assert unknown.returncode == 0, unknown.stderr
            assert unknown.stdout == default.stdout
            warning = unknown.stderr.strip().splitlines()
            assert len(warning) == 1 and warning[0].startswith("warning: ")
            assert f"{name}={value}" in warning[0] and "ignored" in warning[0]


def test_valohai_debug_acts_as_debug(cli: InProcessCli, env: dict[str, str]) -> None:
    result = cli.run("projects", "list", "--limit", "1", env={"VALOHAI_DEBUG": "1"})
    assert result.returncode == 0, result.stderr
    assert "debug: > GET" in result.stderr and "Token [redacted]" in result.stderr
    assert TEST_TOKEN not in result.stderr
    overruled = cli.run("projects", "list", "--limit", "1",
                        env={"VALOHAI_DEBUG": "1", "VH_DEBUG": "0"})  # fmt: skip
    assert "debug:" not in overruled.stderr  # VH_DEBUG comes first
    assert "debug:" not in cli.run("projects", "list", env={"VALOHAI_DEBUG": "0"}).stderr


# --- exit codes and failing servers: one line, nothing partial on stdout -------------------


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
    result = cli.run("projects", "list", "--json", env=emulator_env(emulator))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "vh-lite: error: the server answered 502 Bad Gateway "
        "(the server or a proxy in front of it failed; try again later)"
    ]


def test_a_403_for_a_valid_token_is_permission_denied_not_log_in_again(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.config.fail_next = [403]  # {"detail": "Forbidden"}
    denied = cli.run("projects", "list", "--json")
    assert denied.returncode == 1
    assert denied.stdout == ""
    assert denied.stderr == "vh-lite: error: permission denied: Forbidden (403)\n"
    emulator.config.fail_next = [401]  # {"detail": "Unauthorized"}
    rejected = cli.run("projects", "list", "--json")
    assert rejected.returncode == 4
    assert rejected.stdout == ""
    lines = rejected.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("vh-lite: error: the server answered 401 Unauthorized: Unauthorized")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_infinity_from_the_server_is_an_error(cli: InProcessCli, constant: str) -> None:
    page = ('{"count": 1, "next": null, "previous": null, "results": '
            f'[{{"id": "p1", "name": "one", "execution_count": {constant}}}]}}')  # fmt: skip
    with serving_body(page.encode()) as server:
        env = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": server.url}
        for args in (["--json"], ["--format", "jsonl"], ["--format", "csv"], []):
            result = cli.run("projects", "list", *args, env=env)
            assert result.returncode == 1, (args, result.stderr)
            assert result.stdout == ""
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and "not valid JSON" in lines[0], result.stderr
            assert "Traceback" not in result.stderr
        assert server.paths  # it was asked


@pytest.mark.parametrize("args", [["--json"], ["--format", "csv"], ["--format", "tsv"], []])
def test_failure_midway_prints_nothing_on_stdout(
    cli: InProcessCli, emulator: Emulator, args: list[str]
) -> None:
    # Page 1 succeeds (0 = answer normally), page 2 hits a 503: no partial list on stdout.
    emulator.config.fail_next = [0, *([503] * 20)]
    result = cli.run("projects", "list", *args, env=emulator_env(emulator))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "503 Service Unavailable" in result.stderr


def test_a_table_shows_the_rows_before_a_failure_and_fails(
    cli: InProcessCli, emulator: Emulator
) -> None:
    # A table streams page by page, for people: what came is shown, then the error.
    emulator.config.fail_next = [0, *([503] * 20)]
    result = cli.run("projects", "list", env=emulator_env(emulator), stdout_tty=True)
    assert result.returncode == 1
    assert "project-0001" in result.stdout and "project-0101" not in result.stdout
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


def test_truncated_json_is_an_error_not_partial_data(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.config.fail_next = [0, "truncate"]
    result = cli.run("projects", "list", "--json", "--max-concurrency", "1")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "not valid JSON" in result.stderr


def test_jsonl_may_stream_earlier_pages_but_fails(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.config.fail_next = [0, 503, 503, 503, 503]
    result = cli.run("projects", "list", "--format", "jsonl", "--max-concurrency", "1")
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 100  # the first page, then the failure


# --- retries, --debug, timeouts ------------------------------------------------------------


def test_flaky_and_rate_limited_server_still_yields_everything(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.config.fail_next = [503, 0, 502, 429, 504]
    result = cli.run("projects", "list", "--json", "--max-concurrency", "1")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 250
    assert result.stderr == ""


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


def test_debug_logs_requests_and_retries_without_the_token(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.config.fail_next = [429]
    result = cli.run("--debug", "projects", "list", "--limit", "1")
    assert result.returncode == 0, result.stderr
    assert f"debug: > GET {emulator.base_url}/api/v0/projects/?limit=1&offset=0" in result.stderr
    assert "debug: > Authorization: Token [redacted]" in result.stderr
    assert "debug: < 429 Too Many Requests" in result.stderr
    # Retry-After: 1 from the server decides the wait.
    assert "debug: retrying GET /api/v0/projects/ in 1.0 s (attempt 2/4)" in result.stderr
    assert "debug: < 200 OK" in result.stderr
    via_env = cli.run("projects", "list", "--limit", "1", env={"VH_DEBUG": "1"})
    assert "debug: > GET" in via_env.stderr


def test_posts_are_never_retried(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.config.fail_next = [503]
    result = cli.run("api", "get-token/", "-f", "username=demo", "-f", "password=demo-password")
    assert result.returncode == 1
    assert "503 Service Unavailable" in result.stderr
    assert [r.method for r in emulator.requests] == ["POST"]


def test_a_server_that_never_answers_ends_within_the_timeout(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.config.fail_next = ["hang"]
    started = time.monotonic()
    result = cli.run("--timeout", "1", "projects", "list")
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    assert "did not answer within 1 s" in result.stderr
    assert "Traceback" not in result.output


def test_timeout_from_the_environment(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.config.fail_next = ["hang"]
    result = cli.run("projects", "list", env={"VH_TIMEOUT": "0.5"})
    assert result.returncode == 1
    assert "did not answer within 0.5 s" in result.stderr


# --- hostile servers, other origins, hosts, proxies and TLS --------------------------------


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


def test_entries_that_are_not_objects_are_an_error(cli: InProcessCli, emulator: Emulator) -> None:
    emulator.config.extra_projects = ["not an object"]  # type: ignore[list-item]
    cli.env.update(VH_API_TOKEN=TEST_TOKEN, VH_HOST=emulator.base_url)
    for args in (["--format", "jsonl", "--max-concurrency", "1"], ["--format", "csv"]):
        result = cli.run("projects", "list", *args)
        assert result.returncode == 1
        assert "not an object" in result.stderr
    assert cli.run("projects", "show", "zzz").returncode == 1


@pytest.fixture
def foreign() -> Iterator[Emulator]:
    """Another origin on loopback, standing in for an attacker's server."""
    with Emulator(EmulatorConfig(token=TEST_TOKEN)) as other:
        yield other


def test_a_foreign_next_link_never_gets_the_token(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator, foreign: Emulator
) -> None:
    emulator.config.foreign_next = foreign.base_url
    # One page after another: the link is not followed; offsets on the host go on.
    for concurrency in ("1", "8"):
        listing = cli.run("projects", "list", "--json", "--max-concurrency", concurrency)
        assert listing.returncode == 0, listing.stderr
        assert len({p["id"] for p in json.loads(listing.stdout)}) == 250
    assert foreign.requests == []


def test_next_links_naming_the_server_differently_still_list_everything(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    # A self-hosted server behind a proxy naming itself `localhost` in its links while it
    # was reached as 127.0.0.1: another origin, so the token is not sent there.
    emulator.config.next_origin_alias = True
    listing = cli.run("projects", "list", "--json", "--max-concurrency", "1")
    assert listing.returncode == 0, listing.stderr
    assert len({p["id"] for p in json.loads(listing.stdout)}) == 250
    hosts = {r.headers["host"] for r in emulator.requests}
    assert hosts == {f"127.0.0.1:{emulator.port}"}
    assert [int(r.query["offset"][0]) for r in emulator.requests] == [0, 100, 200]


def test_plain_http_beyond_loopback_is_refused_before_sending_anything(
    cli: InProcessCli, emulator: Emulator
) -> None:
    # 0.0.0.0 is not a loopback address; nothing may be sent to it without consent.
    host = f"http://0.0.0.0:{emulator.port}"
    listing = cli.run("projects", "list", env={"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": host})
    assert listing.returncode == 2
    assert "refusing to talk to http://0.0.0.0" in listing.stderr
    assert "--allow-insecure-http" in listing.stderr
    login = cli.password_login(host, "demo", "demo-password")
    assert login.returncode == 2
    assert emulator.requests == []


def test_subdomains_of_localhost_are_not_loopback(cli: InProcessCli) -> None:
    result = cli.run(
        "projects", "list", env={"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": "http://evil.localhost:9"}
    )
    assert result.returncode == 2
    assert "refusing to talk to http://evil.localhost:9" in result.stderr


def test_wrong_path_prefix_names_the_path(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.run(
        "projects",
        "list",
        env={"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url + "/prefix"},
    )
    assert result.returncode == 1
    assert "404" in result.stderr and "/prefix/api/v0/projects/" in result.stderr
    assert "path prefix" in result.stderr


def test_proxy_environment_is_honoured(cli: InProcessCli, emulator: Emulator) -> None:
    # The emulator doubles as the proxy: it answers absolute-form requests for vh.test.
    host = f"http://vh.test:{emulator.port}"
    result = cli.run(
        "--allow-insecure-http", "projects", "list", "--json", "--limit", "1",
        env={"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": host, "HTTP_PROXY": emulator.base_url},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert emulator.requests[0].headers["host"] == f"vh.test:{emulator.port}"


def test_tls_is_verified_and_a_private_ca_can_be_trusted(
    cli: InProcessCli, certificate: Certificate
) -> None:
    cert, key = str(certificate.cert), str(certificate.key)
    config = EmulatorConfig(token=TEST_TOKEN, projects=3, tls_cert=cert, tls_key=key)
    with Emulator(config) as tls:
        assert tls.base_url.startswith("https://")
        untrusted = cli.login(tls.base_url)
        assert untrusted.returncode == 1
        assert "its TLS certificate does not verify" in untrusted.stderr
        assert (
            "self-signed certificate" in untrusted.stderr and "--ca-file PATH" in untrusted.stderr
        )
        assert "Traceback" not in untrusted.output
        trusted = cli.run(
            "--ca-file", cert, "login", "--host", tls.base_url, "--with-token", input=TEST_TOKEN
        )
        assert trusted.returncode == 0, trusted.stderr
        # The CA file was saved with the profile: later commands need no flag.
        listing = cli.run("projects", "list", "--json")
        assert listing.returncode == 0, listing.stderr
        assert len(json.loads(listing.stdout)) == 3
        profile = json.loads((cli.config_dir / "config.json").read_text())["profiles"]["default"]
        assert profile["ca_file"] == cert
    missing = cli.run(
        "--ca-file",
        "/nonexistent/ca.pem",
        "projects",
        "list",
        env={"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": "https://127.0.0.1:9"},
    )
    assert missing.returncode == 2
    assert "cannot use the CA file /nonexistent/ca.pem" in missing.stderr


@pytest.fixture
def tls_emulator(certificate: Certificate) -> Iterator[Emulator]:
    """The emulator over https with the private CA's certificate for 127.0.0.1."""
    config = EmulatorConfig(token=TEST_TOKEN, projects=3, tls_cert=str(certificate.cert),
                            tls_key=str(certificate.key))  # fmt: skip
    with Emulator(config) as tls:
        yield tls


def _hashed_directory(certificate: Certificate, directory: Path) -> Path:
    """A directory of trusted certificates as OpenSSL looks them up: HASH.0 files."""
    directory.mkdir()
    pem = certificate.cert.read_text()
    der = base64.b64decode("".join(pem.split("-----")[2].split()))
    (directory / f"{subject_hash(der)}.0").write_text(pem)
    return directory


@pytest.mark.parametrize(
    ("trust", "args", "outcome"),
    [
        ({}, [], "does not verify"),  # certifi's bundle: the machine's settings play no part
        ({"REQUESTS_CA_BUNDLE": "CA"}, [], "ok"),
        ({"CURL_CA_BUNDLE": "CA"}, [], "ok"),
        ({"REQUESTS_CA_BUNDLE": "CA_DIR"}, [], "ok"),  # a directory works too
        ({"SSL_CERT_FILE": "CA"}, [], "ok"),
        ({"SSL_CERT_DIR": "CA_DIR"}, [], "ok"),
        ({"SSL_CERT_FILE": "PUBLIC", "REQUESTS_CA_BUNDLE": "CA"}, [], "does not verify"),
        ({"SSL_CERT_DIR": "EMPTY_DIR", "REQUESTS_CA_BUNDLE": "CA"}, [], "does not verify"),
        ({"REQUESTS_CA_BUNDLE": "PUBLIC", "CURL_CA_BUNDLE": "CA"}, [], "does not verify"),
        ({"SSL_CERT_FILE": "CA", "REQUESTS_CA_BUNDLE": "PUBLIC"}, [], "ok"),
        ({"SSL_CERT_FILE": "PUBLIC", "SSL_CERT_DIR": "EMPTY_DIR", "REQUESTS_CA_BUNDLE": "PUBLIC",
          "CURL_CA_BUNDLE": "PUBLIC"}, ["--ca-file", "CA"], "ok"),
        ({"SSL_CERT_FILE": "PUBLIC", "REQUESTS_CA_BUNDLE": "PUBLIC"}, ["--ca-file", "CA"], "ok"),
        ({"SSL_CERT_FILE": "CA", "REQUESTS_CA_BUNDLE": "CA"}, ["--ca-file", "PUBLIC"],
         "does not verify"),
        ({"VH_CA_FILE": "CA", "SSL_CERT_FILE": "PUBLIC"}, [], "ok"),
        ({"REQUESTS_CA_BUNDLE": "MISSING"}, [], "cannot use the certificates REQUESTS_CA_BUNDLE"),
        ({"CURL_CA_BUNDLE": "MISSING"}, [], "cannot use the certificates CURL_CA_BUNDLE"),
    ],
)  # fmt: skip
def test_which_trust_store_verifies_the_server(
    cli: InProcessCli, certificate: Certificate, tls_emulator: Emulator, tmp_path: Path,
    trust: dict[str, str], args: list[str], outcome: str,
) -> None:  # fmt: skip
    empty = tmp_path / "empty"
    empty.mkdir()
    paths = {
        "CA": str(certificate.cert),
        "CA_DIR": str(_hashed_directory(certificate, tmp_path / "hashed")),
        "PUBLIC": certifi.where(),  # a real bundle, without the private CA
        "EMPTY_DIR": str(empty),
        "MISSING": str(tmp_path / "missing.pem"),
    }
    env = {name: paths[value] for name, value in trust.items()}
    env.update(VH_API_TOKEN=TEST_TOKEN, VH_HOST=tls_emulator.base_url)
    result = cli.run("projects", "list", *(paths.get(arg, arg) for arg in args), env=env)
    if outcome == "ok":
        assert result.returncode == 0, result.stderr
        assert len(result.stdout.splitlines()) == 3
    elif outcome == "does not verify":
        assert result.returncode == 1, result.stderr
        assert "its TLS certificate does not verify" in result.stderr
        assert len(tls_emulator.requests) == 0
    else:
        assert result.returncode == 2, result.stderr
        assert outcome in result.stderr and paths["MISSING"] in result.stderr
        assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def made_up_name_certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for valohai.test, a name that resolves nowhere."""
    return make_certificate(tmp_path_factory.mktemp("named-tls"), "valohai.test")


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
def test_https_goes_through_the_proxy(
    cli: InProcessCli, made_up_name_certificate: Certificate, variable: str
) -> None:
    cert = made_up_name_certificate
    config = EmulatorConfig(token=TEST_TOKEN, projects=3, tls_cert=str(cert.cert),
                            tls_key=str(cert.key))  # fmt: skip
    with (
        Emulator(config) as tls,
        LoopbackProxy({"valohai.test": "127.0.0.1"}) as proxy,
        only_loopback_lookups(),
    ):
        host = f"https://valohai.test:{tls.port}"
        cli.env[variable] = proxy.url
        login = cli.run("--ca-file", str(cert.cert), "login", "--host", host, "--with-token",
                        input=TEST_TOKEN)  # fmt: skip
        assert login.returncode == 0, login.stderr
        listing = cli.run("projects", "list", "--json")
        assert listing.returncode == 0, listing.stderr
        assert len(json.loads(listing.stdout)) == 3
        # Only tunnels: the token crossed the proxy inside TLS.
        assert proxy.seen
        assert set(proxy.seen) == {f"CONNECT valohai.test:{tls.port} HTTP/1.1"}
        assert {r.headers["host"] for r in tls.requests} == {f"valohai.test:{tls.port}"}
        assert any(r.path == "/api/v0/projects/" for r in tls.requests)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NO_PROXY", "127.0.0.1"),
        ("NO_PROXY", "example.test,127.0.0.1"),
        ("no_proxy", "127.0.0.1"),
        ("NO_PROXY", "*"),
    ],
)
def test_no_proxy_naming_the_host_bypasses_the_proxy(
    cli: InProcessCli, emulator: Emulator, variable: str, value: str
) -> None:
    with LoopbackProxy() as proxy:
        env = {**emulator_env(emulator), "HTTP_PROXY": proxy.url, "ALL_PROXY": proxy.url,
               variable: value}  # fmt: skip
        result = cli.run("projects", "list", "--limit", "2", env=env)
        assert result.returncode == 0, result.stderr
        assert len(result.stdout.splitlines()) == 2
        assert proxy.seen == []
        assert emulator.requests  # straight to the host


# --- corrupt local files -------------------------------------------------------------------


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


def test_corrupt_credentials_file_is_reported(cli: InProcessCli, emulator: Emulator) -> None:
    assert cli.login(emulator.base_url, TEST_TOKEN, "--insecure-storage").returncode == 0
    credentials = cli.config_dir / "credentials.json"
    credentials.write_text('{"profiles": {"default": ')
    result = cli.run("projects", "list")
    assert result.returncode == 1
    assert str(credentials) in result.stderr and "not valid JSON" in result.stderr
    assert credentials.read_text() == '{"profiles": {"default": '
    other = cli.login(emulator.base_url, TEST_TOKEN, "--insecure-storage", profile="other")
    assert other.returncode == 1  # never overwrites a file it cannot read
    assert credentials.read_text() == '{"profiles": {"default": '
