"""Failing and hostile servers: the whole command line in-process against the emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from conftest import TEST_TOKEN, InProcessCli
from test_emulator_support import Certificate

from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig


def test_flaky_and_rate_limited_server_still_yields_everything(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.config.fail_next = [503, 0, 502, 429, 504]
    result = cli.run("projects", "list", "--json", "--max-concurrency", "1")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 250
    assert result.stderr == ""


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
