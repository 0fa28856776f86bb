"""`vh-lite api` in-process through cli.run against the emulator: paths with or without
the prefix and the trailing slash, --paginate, --include, typed and nested fields, --input,
headers, errors, the body on a terminal. Also run_api and run_token called directly, and the
installed script where only a process shows it: bytes in and out, memory."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import respx
from conftest import (
    TEST_TOKEN,
    VH_LITE,
    App,
    InProcessCli,
    InstalledCli,
    ok,
    serving_body,
)
from hostile_support import answering, measured, scripted_server

from valohai_cli_lite.commands.api import ApiOptions, run_api
from valohai_cli_lite.commands.auth import run_token
from valohai_cli_lite.emulator.data import project_id
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig

ALL_BYTES = bytes(range(256))


def test_api_get_paginate_include_and_errors(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    assert json.loads(ok(cli, "api", "users/me/"))["username"] == "demo"
    assert json.loads(ok(cli, "api", "/api/v0/users/me/"))["id"] == 1337
    everything = json.loads(ok(cli, "api", "projects/", "--paginate"))
    assert len(everything) == 250 and len({p["id"] for p in everything}) == 250
    one = json.loads(ok(cli, "api", "projects/", "-X", "GET", "-f", "limit=1", "-f", "offset=5"))
    assert [p["id"] for p in one["results"]] == [project_id(5)]
    included = ok(cli, "api", "users/me/", "--include")
    head, _, body = included.partition("\n\n")
    assert head.startswith("HTTP/1.1 200 OK")
    assert "content-type: application/json" in head.lower()
    assert json.loads(body)["username"] == "demo"
    missing = cli.run("api", "projects/00000000-0000-0000-0000-000000000000/")
    assert missing.returncode == 1 and "404" in missing.stderr and missing.stdout == ""
    post = cli.run("api", "get-token/", "-f", "username=demo", "-f", "password=wrong")
    assert post.returncode == 1 and "Unable to log in" in post.stderr
    unauthenticated = cli.run("api", "users/me/", env={"VH_API_TOKEN": "bad"})
    assert unauthenticated.returncode == 4
    assert cli.run("api", "projects/", "--paginate", "-X", "POST").returncode == 2


def test_api_paths_without_the_trailing_slash(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    assert json.loads(cli.run("api", "users/me").stdout)["username"] == "demo"
    one = json.loads(cli.run("api", "projects?limit=1").stdout)
    assert len(one["results"]) == 1
    assert [r.path for r in emulator.requests] == ["/api/v0/users/me/", "/api/v0/projects/"]


def test_run_api_and_token(served_app: App) -> None:
    run_api(ApiOptions("users/me/", "GET", {}), served_app.context)
    assert json.loads(served_app.stdout)["username"] == "demo"
    token_app = App(Path(served_app.context.config.directory).parent,
                    {"VH_API_TOKEN": TEST_TOKEN})  # fmt: skip
    run_token(token_app.context)
    assert token_app.stdout == TEST_TOKEN + "\n"


def test_a_full_url_on_another_origin_never_gets_the_token(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    with Emulator(EmulatorConfig(token=TEST_TOKEN)) as other:
        elsewhere = other.base_url.replace("127.0.0.1", "localhost") + "/api/v0/users/me/"
        result = cli.run("api", elsewhere)
        assert result.returncode == 1
        assert "refusing to send the token to http://localhost:" in result.stderr
        assert other.requests == []


# --- fields, --input and headers: what reaches the server ----------------------------------


def sent_json(emulator: Emulator) -> Any:
    """The JSON body of the last request the emulator got."""
    sent = emulator.requests[-1]
    assert sent.headers["content-type"] == "application/json"
    return json.loads(sent.body)


def test_typed_and_raw_fields_make_a_json_body(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    cli.run("api", "executions/", "-F", "n=1", "-F", "b=true", "-F", "s=x", "-f", "raw=1")
    assert emulator.requests[-1].method == "POST"  # fields without -X: a POST
    assert emulator.requests[-1].path == "/api/v0/executions/"
    assert sent_json(emulator) == {"n": 1, "b": True, "s": "x", "raw": "1"}
    cli.run("api", "executions/", "-F", "f=1.5", "-F", "neg=-2", "-F", "e=1e3", "-F", "no=false",
            "-F", "lead=01", "-F", "word=True", "-F", "eq=a=b", "-F", "empty=",
            "-f", "rawbool=true", "-f", "rawnull=null")  # fmt: skip
    assert sent_json(emulator) == {
        "f": 1.5, "neg": -2, "e": 1000.0, "no": False, "lead": "01", "word": "True",
        "eq": "a=b", "empty": "", "rawbool": "true", "rawnull": "null",
    }  # fmt: skip


def test_null_and_nested_fields(cli: InProcessCli, env: dict[str, str], emulator: Emulator) -> None:
    cli.run("api", "executions/", "-F", "null=null")
    assert sent_json(emulator) == {"null": None}
    cli.run("api", "executions/", "-F", "nested[a]=1", "-F", "list[]=x", "-F", "list[]=y")
    assert sent_json(emulator) == {"nested": {"a": 1}, "list": ["x", "y"]}
    cli.run("api", "executions/", "-F", "project=P", "-F", "parameters[epochs]=10",
            "-F", "parameters[lr]=0.5", "-F", "inputs[data][]=s3://a",
            "-F", "inputs[data][]=s3://b", "-f", "deep[x][y]=1")  # fmt: skip
    assert sent_json(emulator) == {
        "project": "P",
        "parameters": {"epochs": 10, "lr": 0.5},
        "inputs": {"data": ["s3://a", "s3://b"]},
        "deep": {"x": {"y": "1"}},
    }


def test_a_key_given_twice_at_the_top_becomes_a_list(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    cli.run("api", "executions/", "-F", "status=a", "-F", "status=b", "-F", "status=3")
    assert sent_json(emulator) == {"status": ["a", "b", 3]}
    listed = cli.run("api", "projects/", "-X", "GET", "-f", "status=error", "-f", "status=crashed")
    assert listed.returncode == 0, listed.stderr
    assert emulator.requests[-1].query["status"] == ["error", "crashed"]
    # Below the top a repeated key is replaced, as in gh.
    cli.run("api", "executions/", "-F", "p[a]=1", "-F", "p[a]=2")
    assert sent_json(emulator) == {"p": {"a": 2}}


def test_a_field_reads_a_file_or_standard_input(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator, tmp_path: Path
) -> None:
    text = tmp_path / "description.txt"
    text.write_text('line one\nünïcødé, "quoted"\n', encoding="utf-8")
    cli.run("api", "executions/", "-F", f"description=@{text}", "-F", "n=2")
    assert sent_json(emulator) == {"description": 'line one\nünïcødé, "quoted"\n', "n": 2}
    cli.run("api", "executions/", "-F", "stdin=@-", input="from stdin\n")
    assert sent_json(emulator) == {"stdin": "from stdin\n"}
    missing = cli.run("api", "executions/", "-F", f"f=@{tmp_path / 'nope.txt'}")
    assert missing.returncode == 2
    assert f"cannot read {tmp_path / 'nope.txt'}" in missing.stderr
    requests = len(emulator.requests)
    raw = cli.run("api", "executions/", "-f", f"literal=@{text}")  # -f never reads a file
    assert raw.returncode == 1 and len(emulator.requests) == requests + 1
    assert sent_json(emulator) == {"literal": f"@{text}"}


@pytest.mark.parametrize(
    "fields",
    [
        ["a[b=1"],
        ["[x]=1"],
        ["a[b]c=1"],
        ["a[[b]]=1"],
        ["a[b][=1"],
        ["=1"],
        ["novalue"],
        ["a=1", "a[b]=2"],
        ["a[]=1", "a[b]=2"],
        ["a[b]=1", "a[]=2"],
        ["a[][b]=1"],
        ["a[b]=1", "a[b][c]=2"],
    ],
)
def test_malformed_field_names_are_usage_errors(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator, fields: list[str]
) -> None:
    for flag in ("-F", "-f"):
        result = cli.run("api", "executions/", *(arg for f in fields for arg in (flag, f)))
        assert result.returncode == 2, (flag, fields, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("vh-lite: error: "), result.stderr
    assert emulator.requests == []


def test_a_field_nested_deeper_than_python_can_encode_is_one_line(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    result = cli.run("api", "projects/", "-X", "POST", "-F", "a" + "[b]" * 5000 + "=1")
    assert result.returncode == 1
    assert result.stderr == "vh-lite: error: the data is nested too deeply to handle\n"
    assert emulator.requests == []


def test_input_from_standard_input_is_sent_as_it_is(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    body = '{"name": "renamed",\n  "x": [1, 2]}  \n'
    cli.run("api", "projects/ID/", "-X", "PATCH", "--input", "-", input=body)
    sent = emulator.requests[-1]
    assert (sent.method, sent.path) == ("PATCH", "/api/v0/projects/ID/")
    assert sent.body == body.encode()
    assert sent.headers["content-type"] == "application/json"
    assert sent.query == {}
    cli.run("api", "upload/", "--input", "-", "-H", "Content-Type: text/csv", input="a,b\n1,2\n")
    sent = emulator.requests[-1]
    assert sent.method == "POST"  # --input without -X: a POST
    assert sent.body == b"a,b\n1,2\n"
    assert sent.headers["content-type"] == "text/csv"


@pytest.mark.parametrize("name", ["Content-Type", "content-type", "CONTENT-TYPE"])
def test_a_content_type_header_in_any_case_replaces_json(
    cli: InProcessCli, tmp_path: Path, name: str
) -> None:
    upload = tmp_path / "data.csv"
    upload.write_bytes(b"a,b\n")
    host = "http://127.0.0.1:9"  # respx answers; nothing is sent
    with respx.mock(base_url=host) as mock:
        route = mock.post("/api/v0/upload/").respond(201, json={})
        result = cli.run("api", "upload/", "--input", str(upload), "-H", f"{name}: text/csv",
                         env={"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": host})  # fmt: skip
    assert result.returncode == 0, result.stderr
    sent = route.calls.last.request
    assert sent.content == b"a,b\n"
    # Header names have no case: one Content-Type, the one asked for.
    assert sent.headers.get_list("content-type") == ["text/csv"]


def test_input_from_a_file_is_sent_byte_for_byte_and_fields_go_to_the_query(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator, tmp_path: Path
) -> None:
    upload = tmp_path / "body.bin"
    upload.write_bytes(ALL_BYTES * 3)
    cli.run("api", "upload/", "--input", str(upload), "-f", "kind=raw", "-F", "n=2",
            "-F", "tag=a", "-F", "tag=b")  # fmt: skip
    sent = emulator.requests[-1]
    assert sent.method == "POST"
    assert sent.body == ALL_BYTES * 3
    assert sent.headers["content-type"] == "application/json"
    assert sent.query == {"kind": ["raw"], "n": ["2"], "tag": ["a", "b"]}
    missing = cli.run("api", "upload/", "--input", str(tmp_path / "absent.json"))
    assert missing.returncode == 2
    assert f"cannot read {tmp_path / 'absent.json'}: No such file or directory" in missing.stderr
    assert len(emulator.requests) == 1


def test_headers_reach_the_server_but_authorization_is_refused(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    sent = cli.run("api", "users/me/", "-H", "X-Test: 1", "-H", "X-Other:  spaced value ")
    assert sent.returncode == 0, sent.stderr
    assert emulator.requests[-1].headers["x-test"] == "1"
    assert emulator.requests[-1].headers["x-other"] == "spaced value"
    assert emulator.requests[-1].headers["authorization"] == f"Token {TEST_TOKEN}"
    before = len(emulator.requests)
    for header in ("Authorization: Token x", "authorization: Token x", "AUTHORIZATION:x",
                   "no colon", "Bad Name: x", ": empty name"):  # fmt: skip
        refused = cli.run("api", "users/me/", "-H", header)
        assert refused.returncode == 2, header
        assert len(refused.stderr.strip().splitlines()) == 1
        assert "Token x" not in refused.stderr
    assert (
        "the token comes from your login"
        in cli.run("api", "users/me/", "-H", "Authorization: Token x").stderr
    )
    assert len(emulator.requests) == before  # nothing was sent


# --- paths and errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["api/v0/users/me/", "/api/v0/users/me/", "users/me", "/users/me/", "api/v0/users/me"]
)
def test_every_spelling_of_a_path_reaches_it(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator, path: str
) -> None:
    assert json.loads(ok(cli, "api", path))["username"] == "demo"
    assert [r.path for r in emulator.requests] == ["/api/v0/users/me/"]


def test_a_404_says_to_check_the_path(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    result = cli.run("api", "no/such/endpoint/")
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "404 Not Found" in lines[0] and "/api/v0/no/such/endpoint/" in lines[0]
    assert "check the path: one below /api/v0/, such as projects/" in lines[0]
    assert "check the host" not in lines[0]
    # Other commands meeting a 404 still blame the host (a path prefix, say).
    listing = cli.run("projects", "list", env={"VH_HOST": emulator.base_url + "/prefix"})
    assert "check the host URL" in listing.stderr


def test_permission_denied_is_exit_1_with_the_servers_words(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.config.fail_next = [403]
    result = cli.run("api", "projects/ID/", "-X", "DELETE")
    assert result.returncode == 1
    assert result.stderr.strip() == "vh-lite: error: permission denied: Forbidden (403)"


# --- the body: byte for byte in a pipe, readable on a terminal ----------------------------


def test_a_json_body_on_a_terminal_is_indented(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    shown = cli.run("api", "users/me", stdout_tty=True)
    assert shown.returncode == 0, shown.stderr
    me = json.loads(shown.stdout)
    assert shown.stdout == json.dumps(me, indent=2, ensure_ascii=False) + "\n"
    assert "\n  " in shown.stdout
    piped = ok(cli, "api", "users/me")
    assert json.loads(piped) == me
    assert "\n  " not in piped  # a pipe gets the server's own bytes: DRF's compact JSON


def test_a_body_that_is_not_json_is_shown_sanitised_on_a_terminal(cli: InProcessCli) -> None:
    body = b"plain \x1b[2Jtext\x07 \x1b]0;title\x07\n\tsecond line\r\n"
    with serving_body(body, content_type="text/plain") as server:
        env = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": server.url}
        shown = cli.run("api", "files/readme/", env=env, stdout_tty=True)
        piped = cli.run("api", "files/readme/", env=env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == "plain ?[2Jtext? ?]0;title?\n    second line\n"
    assert piped.stdout == body.decode()  # a pipe: exactly what came


def test_hidden_characters_in_headers_and_body_never_reach_a_terminal_raw(
    cli: InProcessCli,
) -> None:
    hidden = "\u009b\u202e\u200b"
    body = json.dumps({"name": f"a{hidden}b"}).encode()  # escaped by the server: \\u009b
    raw_body = f'{{"name": "a{hidden}b"}}'.encode()  # and raw UTF-8
    for sent in (body, raw_body):
        answer = answering(sent, "200 OK", "X-Note: a\x9bb")  # a C1 byte in a header
        with scripted_server(answer) as server:
            env = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": server.url}
            shown = cli.run("api", "users/me/", "-i", env=env, stdout_tty=True)
            piped = cli.run("api", "users/me/", "-i", env=env)
        assert shown.returncode == 0, shown.stderr
        assert not set(hidden) & set(shown.stdout), repr(shown.stdout)
        assert "x-note: a" in shown.stdout.lower()
        assert json.loads(shown.stdout.partition("\n\n")[2])["name"] == f"a{hidden}b"
        assert piped.stdout.partition("\n\n")[2] == sent.decode()  # a pipe: exact


# --- the installed script: bytes in and out, memory --------------------------------------


def run_bytes(
    installed: InstalledCli, host: str, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    """The installed vh-lite with stdin, stdout and stderr as bytes."""
    env = {**installed.env, "VH_API_TOKEN": TEST_TOKEN, "VH_HOST": host}
    proc = subprocess.run([str(VH_LITE), *args], input=stdin, capture_output=True, env=env,
                          timeout=60)  # fmt: skip
    installed.outputs.append((proc.stdout + proc.stderr).decode("utf-8", "replace"))
    return proc


def test_a_body_in_a_pipe_is_exactly_its_bytes(installed: InstalledCli) -> None:
    body = (ALL_BYTES + ALL_BYTES[::-1]) * 64 + b"\r\n\x00\xff\xfe no newline at the end"
    with serving_body(body, content_type="application/octet-stream") as server:
        proc = run_bytes(installed, server.url, "api", "outputs/ID/download/")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == body
    assert proc.stderr == b""
    assert server.paths == ["/api/v0/outputs/ID/download/"]
    # JSON too: not re-encoded, not re-indented.
    compact = '{"a":[1,2.50,"\\u00e9"],"ü":"日本語"}'.encode()
    with serving_body(compact) as server:
        json_proc = run_bytes(installed, server.url, "api", "users/me/")
    assert json_proc.stdout == compact


def test_input_from_standard_input_is_byte_exact(
    installed: InstalledCli, emulator: Emulator
) -> None:
    body = ALL_BYTES * 4 + b"\r\n\x1a"
    proc = run_bytes(installed, emulator.base_url, "api", "upload/", "--input", "-", stdin=body)
    assert proc.returncode == 1  # the emulator has no such endpoint; the body was sent
    sent = emulator.requests[-1]
    assert sent.method == "POST" and sent.path == "/api/v0/upload/"
    assert sent.body == body
    assert sent.headers["content-type"] == "application/json"


@pytest.mark.skipif(sys.platform == "win32", reason="resource.getrusage is POSIX")
def test_a_large_body_streams_through_a_pipe_in_flat_memory(installed: InstalledCli) -> None:
    mib = (ALL_BYTES * 4096)[: 1 << 20]
    repeat = 300  # MiB
    with serving_body(b"{}") as small_server:
        small = measured(installed, small_server.url, "api", "outputs/ID/download/")
    with serving_body(mib, repeat=repeat, content_type="application/octet-stream") as server:
        large = measured(installed, server.url, "api", "outputs/ID/download/")
    expected = hashlib.sha256()
    for _ in range(repeat):
        expected.update(mib)
    assert small["code"] == large["code"] == 0
    assert large["size"] == repeat << 20
    assert large["sha256"] == expected.hexdigest()
    # A body held in memory would add its 300 MiB (and more for copies); streamed, the peak
    # is what a run with a tiny body needs, give or take buffers.
    assert large["peak"] - small["peak"] < 12 << 20, (small["peak"], large["peak"])
    assert large["peak"] < 150 << 20
