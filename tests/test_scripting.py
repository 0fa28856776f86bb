"""The scripting surface in-process: formats, fields, filters, show, api."""

from __future__ import annotations

import csv
import io
import json

from conftest import InProcessCli, InstalledCli, read_tsv_records

from valohai_cli_lite.emulator.data import make_project, make_project_detail, project_id
from valohai_cli_lite.emulator.server import Emulator


def ok(cli: InProcessCli | InstalledCli, *args: str) -> str:
    result = cli.run(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_format_lists_the_same_250_projects(cli: InProcessCli, env: dict[str, str]) -> None:
    expected = [project_id(i) for i in range(250)]
    as_json = [p["id"] for p in json.loads(ok(cli, "projects", "list", "--json"))]
    jsonl = [
        json.loads(line)["id"]
        for line in ok(cli, "projects", "list", "--format", "jsonl").splitlines()
    ]
    as_csv = list(csv.DictReader(io.StringIO(ok(cli, "projects", "list", "--format", "csv"))))
    as_tsv = read_tsv_records(ok(cli, "projects", "list", "--format", "tsv"))
    plain = ok(cli, "projects", "list", "--fields", "id").splitlines()
    assert as_json == jsonl == [r["id"] for r in as_csv] == [r["id"] for r in as_tsv] == plain
    assert sorted(as_json) == sorted(expected)
    # CSV/TSV survive a round trip: the emulator's project-0002 has quotes, tabs and newlines.
    by_id = {r["id"]: r for r in as_csv}
    tsv_by_id = {r["id"]: r for r in as_tsv}
    original = make_project(1, "http://x")
    assert by_id[project_id(1)]["description"] == original["description"]
    assert tsv_by_id[project_id(1)]["description"] == original["description"]
    assert "\t" in original["description"] and "\n" in original["description"]


def test_vh_format_env_and_json_shorthand(cli: InProcessCli, env: dict[str, str]) -> None:
    via_env = cli.run("projects", "list", "--limit", "2", env={"VH_FORMAT": "csv"})
    assert via_env.stdout.splitlines()[0].startswith("id,name,owner.username")
    # An explicit flag beats the environment.
    explicit = cli.run("projects", "list", "--limit", "1", "--json", env={"VH_FORMAT": "csv"})
    assert len(json.loads(explicit.stdout)) == 1
    explicit = cli.run("projects", "list", "--limit", "1", "--format", "tsv",
                       env={"VH_FORMAT": "csv"})  # fmt: skip
    assert explicit.stdout.startswith("id\tname\t")
    clash = cli.run("projects", "list", "--json", "--format", "csv")
    assert clash.returncode == 2
    assert cli.run("projects", "list", "--format", "yaml").returncode == 2


def test_fields_with_dotted_paths(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    out = ok(cli, "projects", "list", "--json", "--limit", "2", "--fields", "name,owner.username")
    assert json.loads(out) == [
        {"name": "project-0001", "owner": {"username": "demo"}},
        {"name": "project-0002", "owner": {"username": "demo"}},
    ]
    csv_out = ok(
        cli,
        "projects",
        "list",
        "--format",
        "csv",
        "--limit",
        "1",
        "--fields",
        "owner.username,urls.display",
    )
    assert csv_out.splitlines()[0] == "owner.username,urls.display"
    emulator.requests.clear()
    bad = cli.run("projects", "list", "--fields", "nme,nonsense")
    assert bad.returncode == 2
    assert "unknown fields: nme, nonsense; did you mean name?" in bad.stderr
    assert "owner.username" in bad.stderr
    assert bad.stdout == ""
    assert emulator.requests == []  # caught before any request
    below = cli.run("projects", "show", project_id(4), "--json",
                    "--fields", "execution_summary.count,owner.id")  # fmt: skip
    assert json.loads(below.stdout) == {
        "execution_summary": {"count": 149}, "owner": {"id": 42},
    }  # fmt: skip
    assert cli.run("projects", "list", "--fields", "").returncode == 2


def test_piped_default_is_plain_lines(cli: InProcessCli, env: dict[str, str]) -> None:
    lines = ok(cli, "projects", "list").splitlines()
    assert len(lines) == 250
    assert lines[0].startswith("project-0001\tdemo\t1\t2024-")  # absolute ISO timestamps
    assert not any("\x1b" in line or "│" in line for line in lines)


def test_filters_sort_and_limit_compose(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    everything = [make_project(i, emulator.base_url) for i in range(250)]
    expected = sorted(
        (p for p in everything
         if p["owner"]["username"] == "acme-org" and "nlp" in p["name"].lower()),
        key=lambda p: p["execution_count"], reverse=True,
    )[:3]  # fmt: skip
    out = ok(
        cli,
        "projects",
        "list",
        "--json",
        "--owner",
        "ACME-ORG",
        "--search",
        "NLP",
        "--sort",
        "-execution_count",
        "--limit",
        "3",
    )
    assert [p["id"] for p in json.loads(out)] == [p["id"] for p in expected]
    assert len(expected) == 3
    # A sort needs every page even with a limit and no filter: the last names are on page 3.
    emulator.requests.clear()
    last = ok(cli, "projects", "list", "--sort", "-name", "--limit", "2", "--fields", "name")
    assert last.split() == ["project-0249", "project-0247"]
    assert len(emulator.requests) == 3
    bad = cli.run("projects", "list", "--sort", "nonsense")
    assert bad.returncode == 2 and "sortable fields" in bad.stderr


def test_limit_without_filters_stops_fetching(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    ok(cli, "projects", "list", "--format", "jsonl", "--limit", "150")
    pages = [r for r in emulator.requests if r.path == "/api/v0/projects/"]
    assert len(pages) == 2


def test_projects_show_by_id_name_and_owner_name(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    by_id = json.loads(ok(cli, "projects", "show", project_id(4), "--json"))
    assert by_id == make_project_detail(4, emulator.base_url)  # the detail, whole
    emulator.requests.clear()
    by_name = json.loads(ok(cli, "projects", "show", by_id["name"], "--json"))
    # Found in the list, then the detail object, exactly as the server sent it.
    assert by_name == by_id
    assert emulator.requests[-1].path == f"/api/v0/projects/{project_id(4)}/"
    # The views fill what the detail leaves null from the list entry: CSV has the counts.
    as_csv = next(csv.DictReader(io.StringIO(ok(cli, "projects", "show", by_id["name"],
                                                "--format", "csv"))))  # fmt: skip
    listed = make_project(4, emulator.base_url)
    assert as_csv["execution_count"] == str(listed["execution_count"])
    assert as_csv["last_execution_ctime"] == listed["last_execution_ctime"]
    owner_name = f"{by_id['owner']['username'].upper()}/{by_id['name']}"  # any case
    assert json.loads(ok(cli, "projects", "show", owner_name, "--json"))["id"] == by_id["id"]
    fields = json.loads(ok(cli, "projects", "show", project_id(4), "--json", "--fields", "name"))
    assert fields == {"name": by_id["name"]}
    plain = ok(cli, "projects", "show", project_id(4))
    assert f"urls.display\t{by_id['urls']['display']}" in plain.splitlines()


def test_projects_show_not_found_and_ambiguous(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    missing = cli.run("projects", "show", "00000000-0000-0000-0000-000000000000")
    assert missing.returncode == 1 and "not found" in missing.stderr
    unknown = cli.run("projects", "show", "no-such-project")
    assert unknown.returncode == 1 and "no project named" in unknown.stderr
    # Two projects with the same name under different owners: a bare name is ambiguous.
    original = make_project(0, emulator.base_url)
    twin = {**original, "id": "11111111-1111-1111-1111-111111111111",
            "owner": {"id": 42, "username": "acme-org"}}  # fmt: skip
    emulator.config.extra_projects = [twin]
    ambiguous = cli.run("projects", "show", original["name"])
    assert ambiguous.returncode == 1
    assert "matches 2 projects" in ambiguous.stderr
    assert f"acme-org/{original['name']}" in ambiguous.stderr
    chosen = cli.run("projects", "show", f"acme-org/{original['name']}", "--json")
    assert json.loads(chosen.stdout)["id"] == twin["id"]


def test_auth_status_json_has_fixed_keys(cli: InProcessCli, emulator: Emulator) -> None:
    keys = {
        "profile",
        "profile_source",
        "logged_in",
        "host",
        "username",
        "user_id",
        "token_source",
        "token_location",
        "token_valid",
        "error",
    }
    logged_out = cli.run("auth", "status", "--json")
    assert logged_out.returncode == 4
    assert json.loads(logged_out.stdout)["logged_in"] is False
    assert cli.login(emulator.base_url).returncode == 0
    report = json.loads(ok(cli, "auth", "status", "--json"))
    assert set(report) == keys
    assert report == {
        **report,
        "profile": "default",
        "profile_source": "default",
        "logged_in": True,
        "username": "demo",
        "user_id": 1337,
        "token_source": "file",
        "token_valid": True,
        "host": emulator.base_url,
        "error": None,
    }
    emulator.config.token = "rotated"
    rejected = cli.run("auth", "status", "--json")
    assert rejected.returncode == 1
    assert json.loads(rejected.stdout)["token_valid"] is False


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


def test_concurrency_does_not_change_the_output(cli: InProcessCli, env: dict[str, str]) -> None:
    one_by_one = ok(cli, "projects", "list", "--format", "jsonl", "--max-concurrency", "1")
    concurrent = ok(cli, "projects", "list", "--format", "jsonl")
    assert one_by_one == concurrent
    assert len(concurrent.splitlines()) == 250
    assert cli.run("projects", "list", "--max-concurrency", "0").returncode == 2
