"""Servers that misbehave on purpose: every answer ends in one `vh-lite: error:` line and
exit 1 or 2, within --timeout and in bounded memory, never an "internal error"."""

from __future__ import annotations

import gzip
import json
import socket
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import TEST_TOKEN, InProcessCli, InstalledCli
from hostile_support import RawRequest, answering, head, measured, scripted_server

from valohai_cli_lite.client.paging import MAX_PAGES
from valohai_cli_lite.client.transport import MAX_BODY


def _project(number: int) -> dict[str, Any]:
    return {"id": f"p-{number}", "name": f"project-{number}", "owner": {"username": "demo"}}


def _one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vh-lite: error: "), stderr
    assert "internal error" not in stderr and "Traceback" not in stderr
    return lines[0]


def _list_with(cli: InProcessCli, url: str, *args: str, env: dict[str, str] | None = None) -> Any:
    return cli.run("projects", "list", "--json", *args,
                   env={"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": url, **(env or {})})  # fmt: skip


def _redirect(location: str) -> Any:
    return answering(b"", "302 Found", f"Location: {location}")


def _next_link(link: str) -> Any:
    return answering({"results": [_project(1)], "next": link})


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _gzip_bomb() -> Any:
    # 70 MiB of zeros in ~70 KiB: decoded, more than MAX_BODY.
    packed = gzip.compress(b"\0" * (70 << 20), compresslevel=9)
    assert len(packed) < 1 << 20 and MAX_BODY < 70 << 20
    return answering(packed, "200 OK", "Content-Encoding: gzip")


def _not_http(_request: RawRequest, connection: socket.socket) -> None:
    connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")


def _endless_count(request: RawRequest, connection: socket.socket) -> None:
    # A new project on every page, and a total that would take 10^12 requests.
    offset = int(request.target.partition("offset=")[2].partition("&")[0] or 0)
    answering({"count": 10**12, "results": [_project(offset)]})(request, connection)


def _same_page_again(request: RawRequest, connection: socket.socket) -> None:
    # limit/offset ignored: the same two projects for every page.
    answering({"count": 6, "results": [_project(1), _project(2)]})(request, connection)


def _cycling_next(request: RawRequest, connection: socket.socket) -> None:
    # No count; `next` goes on for ever, its pages cycling through three.
    page = int(request.target.partition("page=")[2] or 0)
    body = {"results": [_project(page % 3)], "next": f"/api/v0/projects/?page={page + 1}"}
    answering(body)(request, connection)


HOSTILE = {
    "a next link whose port is +8080": (_next_link("http://127.0.0.1:+8080/api/v0/projects/"),
                                        "not http://127.0.0.1:"),
    "a next link whose port is 99999": (_next_link("http://127.0.0.1:99999/x"), "refusing"),
    "a Location without a host": (_redirect("http:host/x"), "sent an address that is not a URL"),
    "a Location with a broken port": (_redirect("http://[::1/x"), "answered with invalid HTTP"),
    "a Location to another origin": (_redirect("http://127.0.0.2:9/x"), "not following it"),
    "a 100,000-deep JSON array": (answering(_deep(100_000)), "nested too deeply"),
    "an error body 100,000 deep": (answering(_deep(100_000), "400 Bad Request"), "400"),
    "a body that is not HTTP": (_not_http, "answered with invalid HTTP"),
    "a gzip bomb": (_gzip_bomb(), f"more than {MAX_BODY >> 20} MiB"),
    "a Content-Length of 300 MB": (
        lambda _r, c: c.sendall(head("200 OK", "Content-Length: 300000000") + b"{"),
        f"more than {MAX_BODY >> 20} MiB",
    ),
    "a count of 10^12": (_endless_count, f"over {MAX_PAGES:,} pages"),
    "every page the same": (_same_page_again, "listed items of /api/v0/projects/ again"),
    "next links cycling through pages": (_cycling_next, "again on a later page"),
}  # fmt: skip


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_answer_is_one_line(cli: InProcessCli, case: str) -> None:
    answer, expected = HOSTILE[case]
    with scripted_server(answer) as server:
        result = _list_with(cli, server.url)
    assert result.returncode == 1, result.stderr
    assert expected in _one_error_line(result.stderr)
    assert result.stdout == ""  # nothing a script could mistake for the list
    assert len(server.requests) < 20  # stopped, not paging for ever


def test_the_deepest_json_python_can_read_is_listed_or_refused_in_one_line(
    cli: InProcessCli,
) -> None:
    # Just under what the parser takes: rendering it must not fail in a worse way.
    for depth in (900, 990):
        body = b'{"count": 1, "results": [{"id": "p", "name": "deep", "tags": %s}]}' % _deep(depth)
        with scripted_server(answering(body)) as server:
            result = _list_with(cli, server.url)
        if result.returncode == 0:
            assert json.loads(result.stdout)[0]["name"] == "deep"
        else:
            assert "nested too deeply" in _one_error_line(result.stderr)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ALL_PROXY", "socks5://", "ALL_PROXY names a SOCKS proxy, which needs the socksio"),
        ("HTTPS_PROXY", "socks5h://user:pa55word@proxy:1080", "needs the socksio package"),
        ("HTTPS_PROXY", "ftp://proxy:21", "HTTPS_PROXY names an unsupported proxy"),
        ("HTTPS_PROXY", "http://user:pa55word@proxy:+3128", "HTTPS_PROXY is not a proxy URL"),
        ("https_proxy", "http://", "https_proxy is not a proxy URL"),
    ],
)
def test_a_proxy_setting_that_cannot_work_is_a_usage_error(
    cli: InProcessCli, variable: str, value: str, expected: str
) -> None:
    # The host is never reached: the proxy is chosen before anything is sent.
    result = _list_with(cli, "https://valohai.invalid", env={variable: value})
    assert result.returncode == 2
    assert expected in _one_error_line(result.stderr)
    assert "pa55word" not in result.stderr  # a proxy URL's password is never shown


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_trickling_server_ends_at_the_timeout(installed: InstalledCli, where: str) -> None:
    """httpx's timeouts are per read: a byte a second would never time out without the
    deadline over the whole request."""

    def trickle(_request: RawRequest, connection: socket.socket) -> None:
        if where == "headers":
            connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        else:
            connection.sendall(head("200 OK", "Content-Length: 100000"))
        for _ in range(60):
            connection.sendall(b"a")
            time.sleep(1)

    with scripted_server(trickle) as server:
        started = time.monotonic()
        result = installed.run(
            "--timeout", "3", "api", "users/me/",
            env={"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": server.url},
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert "did not answer within 3 s" in _one_error_line(result.stderr)
    assert elapsed < 10, elapsed
    assert len(server.requests) == 1  # a timeout is not retried


def _stream(status: str, size: int, prefix: bytes) -> Any:
    """An answer of `size` bytes, chunked (no Content-Length to refuse it by)."""

    def answer(_request: RawRequest, connection: socket.socket) -> None:
        connection.sendall(head(status, "Content-Type: application/json",
                                "Transfer-Encoding: chunked"))  # fmt: skip
        block = b"a" * (1 << 20)
        connection.sendall(b"%x\r\n%s\r\n" % (len(prefix), prefix))
        for _ in range(size >> 20):
            connection.sendall(b"%x\r\n%s\r\n" % (len(block), block))
        connection.sendall(b"0\r\n\r\n")

    return answer


@pytest.mark.skipif(sys.platform == "win32", reason="resource.getrusage is POSIX")
def test_a_300_mb_first_page_is_refused_in_bounded_memory(installed: InstalledCli) -> None:
    page = _stream("200 OK", 300 << 20, b'{"count": 1, "results": [{"name": "')
    with scripted_server(page) as server:
        run = measured(installed, server.url, "projects", "list")
    assert run["code"] == 1 and run["size"] == 0
    assert f"answered with more than {MAX_BODY >> 20} MiB" in _one_error_line(run["stderr"])
    assert run["peak"] < 200 << 20, run["peak"]


@pytest.fixture
def echoing_server() -> Iterator[str]:
    """Rejects every token with a 401 whose words repeat it, as some gateways do."""

    def answer(request: RawRequest, connection: socket.socket) -> None:
        sent = request.headers.get("authorization", "")
        words = {"detail": f"Invalid token: {sent.removeprefix('Token ')}"}
        answering(words, "401 Unauthorized")(request, connection)

    with scripted_server(answer) as server:
        yield server.url


@pytest.mark.parametrize("as_json", [False, True])
def test_auth_status_never_shows_a_token_the_server_echoes(
    cli: InProcessCli, echoing_server: str, as_json: bool
) -> None:
    env = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": echoing_server}
    result = cli.run("auth", "status", *(["--json"] if as_json else []), env=env)
    assert result.returncode == 1
    assert TEST_TOKEN not in result.stdout and TEST_TOKEN not in result.stderr
    assert "Invalid token: [redacted]" in result.stdout
    if as_json:
        assert json.loads(result.stdout)["error"].endswith("Invalid token: [redacted]")


def test_auth_status_never_shows_a_token_echoed_as_the_username(cli: InProcessCli) -> None:
    me = {"id": 1, "username": f"user-{TEST_TOKEN}"}
    with scripted_server(answering(me)) as server:
        env = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": server.url}
        text, as_json = (cli.run("auth", "status", *args, env=env) for args in ([], ["--json"]))
    assert text.returncode == as_json.returncode == 0
    assert "user-[redacted]" in text.stdout
    assert json.loads(as_json.stdout)["username"] == "user-[redacted]"
    assert TEST_TOKEN not in text.output + as_json.output
