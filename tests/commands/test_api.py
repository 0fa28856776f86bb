"""`vh-lite api` in-process through cli.run against the emulator: paths with or without
the prefix and the trailing slash, --paginate, --include, fields, errors. Also run_api and
run_token called directly."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import TEST_TOKEN, App, InProcessCli, ok

from valohai_cli_lite.commands.api import ApiOptions, run_api
from valohai_cli_lite.commands.auth import run_token
from valohai_cli_lite.emulator.data import project_id
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig


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
