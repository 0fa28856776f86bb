"""`executions list` and `executions show`, in-process against the emulator's real shapes
(the older execution, the 2025 one, both in one listing), and against a server that
ignores the list's filters as minihai does."""

from __future__ import annotations

import csv
import io
import json

from conftest import TEST_TOKEN, TOTAL, InProcessCli, ok, read_tsv_records, screen

from valohai_cli_lite.emulator.data import execution_creator, execution_status, project_id
from valohai_cli_lite.emulator.executions import execution_id, make_execution
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig


def listed(emu: Emulator) -> list[str]:
    """The execution list requests' paths with their project filter, in order."""
    return [r.query.get("project", ["-"])[0] for r in emu.requests if r.path.endswith("ns/")]


def test_every_page_in_every_format_by_name_owner_name_and_id(
    cli: InProcessCli, served: Emulator
) -> None:
    newest_first = [execution_id(1, c) for c in range(TOTAL, 0, -1)]
    for ref in ("project-0002", "DEMO/project-0002", project_id(1)):
        ids = [
            e["id"] for e in json.loads(ok(cli, "executions", "list", "--project", ref, "--json"))
        ]
        assert ids == newest_first, ref
    as_jsonl = ok(cli, "executions", "list", "--project", "project-0002", "--format", "jsonl")
    as_csv = ok(cli, "executions", "list", "--project", "project-0002", "--format", "csv")
    as_tsv = ok(cli, "executions", "list", "--project", "project-0002", "--format", "tsv")
    plain = ok(cli, "executions", "list", "--project", "project-0002")
    assert [json.loads(line)["id"] for line in as_jsonl.splitlines()] == newest_first
    assert [r["id"] for r in csv.DictReader(io.StringIO(as_csv))] == newest_first
    assert [r["id"] for r in read_tsv_records(as_tsv)] == newest_first
    assert [line.split("\t")[0] for line in plain.splitlines()] == [str(c) for c in range(7, 0, -1)]
    # The project is asked for by id, as `vh` asks, every page of it.
    served.requests.clear()
    ok(cli, "executions", "list", "--project", project_id(1), "--json", "--max-concurrency", "1")
    assert listed(served) == [project_id(1)] * 4
    first = served.requests[0].query
    assert (first["ordering"], first["deleted"]) == (["-counter"], ["false"])


def test_status_sort_limit_and_show_give_the_right_records(
    cli: InProcessCli, served: Emulator
) -> None:
    project = ("--project", "project-0003")
    statuses = {c: execution_status(2, c, TOTAL) for c in range(1, TOTAL + 1)}
    for wanted in ("complete", "error"):
        rows = json.loads(ok(cli, "executions", "list", *project, "--status", wanted, "--json"))
        assert [e["counter"] for e in rows] == sorted(
            (c for c, s in statuses.items() if s == wanted), reverse=True
        )
    assert served.requests[-1].query["status"] == ["error"]
    both = ok(cli, "executions", "list", *project, "--status", "ERROR", "--status", "complete",
              "--fields", "status")  # fmt: skip
    assert sorted(set(both.split())) == sorted({"complete", "error"} & set(statuses.values()))
    incomplete = json.loads(ok(cli, "executions", "list", *project, "--status", "incomplete",
                               "--json"))  # fmt: skip
    unfinished = {"created", "queued", "started", "stopping"}
    assert {e["status"] for e in incomplete} == unfinished & set(statuses.values())
    top = json.loads(ok(cli, "executions", "list", *project, "--sort", "counter", "--limit", "2",
                        "--json"))  # fmt: skip
    assert [e["counter"] for e in top] == [1, 2]
    newest = ok(cli, "executions", "list", *project, "--sort", "-counter", "--limit", "2",
                "--fields", "counter")  # fmt: skip
    assert newest.split() == ["7", "6"]
    for ref in ("5", "#5"):
        shown = json.loads(ok(cli, "executions", "show", ref, *project, "--json"))
        assert shown == make_execution(2, 5, served.base_url, executions=TOTAL)
    assert served.requests[-1].path == f"/api/v0/executions/{project_id(2)}:5/"
    by_id = json.loads(ok(cli, "executions", "show", execution_id(2, 4), "--json"))
    assert by_id["counter"] == 4  # an id needs no project


def test_mine_asks_for_the_users_own_and_checks_them(cli: InProcessCli, served: Emulator) -> None:
    mine = json.loads(ok(cli, "executions", "list", "--project", "project-0001", "--mine",
                         "--json"))  # fmt: skip
    assert served.requests[-1].query["creator"] == ["1337"]  # users/me: an env token
    expected = [c for c in range(TOTAL, 0, -1) if execution_creator(0, c)["id"] == 1337]
    assert [e["counter"] for e in mine] == expected and 0 < len(expected) < TOTAL


def test_mistakes_are_caught_before_any_request(cli: InProcessCli, served: Emulator) -> None:
    unknown = cli.run("executions", "list", "--project", "project-0001", "--fields", "colour")
    assert unknown.returncode == 2 and "unknown field: colour" in unknown.stderr
    status = cli.run("executions", "list", "--project", "project-0001", "--status", "done")
    assert status.returncode == 2 and "done; choose from created" in status.stderr
    no_project = cli.run("executions", "list")
    assert no_project.returncode == 2
    assert no_project.stderr == (
        "vh-lite: error: which project? pass --project NAME (or set VH_PROJECT)\n"
    )
    name = cli.run("executions", "show", "latest", "--project", "project-0001")
    assert name.returncode == 2 and "counter (N or #N) or id" in name.stderr
    assert served.requests == []


def test_a_missing_counter_is_one_line(cli: InProcessCli, served: Emulator) -> None:
    missing = cli.run("executions", "show", "99", "--project", "project-0001")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr == (
        "vh-lite: error: execution #99 in project project-0001 not found (or not visible to you)\n"
    )


def test_the_project_comes_from_the_environment_vh_lites_first(
    cli: InProcessCli, served: Emulator
) -> None:
    both = {"VH_PROJECT": "project-0002", "VALOHAI_PROJECT": "project-0003"}
    ok(cli, "executions", "list", "--json", env=both)
    assert listed(served)[-1] == project_id(1)
    ok(cli, "executions", "list", "--json", env={"VALOHAI_PROJECT": "project-0003"})
    assert listed(served)[-1] == project_id(2)
    ok(cli, "executions", "list", "--json", "--project", project_id(0), env=both)
    assert listed(served)[-1] == project_id(0)


def test_both_shapes_fill_every_column_they_have(cli: InProcessCli, served: Emulator) -> None:
    table = ok(cli, "executions", "list", "--project", "project-0001", "--format", "table",
               stdout_tty=True, width=120)  # fmt: skip
    header, *rows = screen(table).splitlines()
    assert header.split() == ["#", "STATUS", "STEP", "DURATION", "CREATED", "CREATOR"]
    by_counter = {int(row.split()[0]): row for row in rows}
    for counter in range(1, TOTAL + 1):
        execution = make_execution(0, counter, "http://x", executions=TOTAL)
        row = by_counter[counter]
        assert execution["status"] in row and execution["step"] in row
        if execution["duration"]:
            minutes, seconds = divmod(execution["duration"], 60)
            assert f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}" in row
        if "creator_name" in execution:  # the 2025 shape; the older one has no creator
            assert row.endswith(execution["creator_name"])
        assert "ago" in row or "just now" in row


def test_only_the_older_shape_has_no_creator_column_and_status_is_coloured(
    cli: InProcessCli,
) -> None:
    config = EmulatorConfig(token=TEST_TOKEN, projects=1, executions=9, execution_shape="older")
    with Emulator(config) as emu:
        cli.env.update(VH_API_TOKEN=TEST_TOKEN, VH_HOST=emu.base_url, TERM="xterm")
        table = ok(cli, "executions", "list", "--project", "project-0001", "--format", "table",
                   stdout_tty=True)  # fmt: skip
        piped = ok(cli, "executions", "list", "--project", "project-0001")
    assert "CREATOR" not in table and "DURATION" in table
    first = make_execution(0, 1, "http://x", executions=9, shape="older")
    assert first["status"] == "complete" and "\x1b[32mcomplete\x1b[0m" in table
    assert "\x1b" not in piped and "\tcomplete\t" in piped


def test_a_server_that_ignores_filters_still_gives_the_right_list(cli: InProcessCli) -> None:
    # Like minihai: every list request gets the first project's executions, any status.
    config = EmulatorConfig(token=TEST_TOKEN, projects=2, executions=20, ignore_filters=True)
    with Emulator(config) as emu:
        cli.env.update(VH_API_TOKEN=TEST_TOKEN, VH_HOST=emu.base_url)
        other = ok(cli, "executions", "list", "--project", "project-0002", "--json")
        first = json.loads(ok(cli, "executions", "list", "--project", "project-0001", "--json"))
        done = json.loads(ok(cli, "executions", "list", "--project", "project-0001", "--status",
                             "complete", "--json"))  # fmt: skip
    assert other == "[]\n" and len(first) == 20
    assert done and {e["status"] for e in done} == {"complete"} and len(done) < 20


def test_show_is_the_servers_object_and_opens_its_page(cli: InProcessCli, served: Emulator) -> None:
    shown = ok(cli, "executions", "show", "6", "--project", "project-0001", "--format", "table",
               stdout_tty=True)  # fmt: skip
    execution = make_execution(0, 6, served.base_url, executions=TOTAL)
    assert f"#6 {execution['title'] or execution['step']}" in shown
    for value in (execution["step"], execution["creator_name"], execution["environment"]["name"]):
        assert value in shown
    ok(cli, "executions", "show", "6", "--project", "project-0001", "--web")
    assert cli.opened == [execution["urls"]["display"]]
