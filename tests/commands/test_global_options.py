"""What every command shares, in-process through cli.run against the emulator: the root
options (--debug, --timeout, --no-color, --ca-file, --allow-insecure-http), aliases,
one-line usage errors, exit codes, and failing or hostile servers and corrupt local files
as any command meets them."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TEST_TOKEN, InProcessCli, emulator_env
from emulator_support import Certificate

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


def test_failure_midway_prints_nothing_on_stdout(cli: InProcessCli, emulator: Emulator) -> None:
    # Page 1 succeeds (0 = answer normally), page 2 hits a 503: no partial list on stdout.
    emulator.config.fail_next = [0, *([503] * 20)]
    result = cli.run("projects", "list", "--json", env=emulator_env(emulator))
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
