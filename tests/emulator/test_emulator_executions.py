"""The emulator's executions: both real shapes, the list's filters and pages, one execution."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from emulator_support import (
    all_pages,
    call,
    detail_url,
    environments_url,
    executions_url,
    projects_url,
    serving,
)

from valohai_cli_lite.emulator.data import project_id
from valohai_cli_lite.emulator.executions import (
    execution_id,
    find_execution,
    make_environment,
    make_execution,
)
from valohai_cli_lite.emulator.server import Emulator

# The keys of valohai-cli's EXECUTION_DETAIL_DATA (the older shape) and NOTEBOOK_EXECUTION_DATA
# (the 2025 shape), and of what they nest.
OLDER_KEYS = {
    "counter", "ctime", "id", "project", "commit", "task", "duration", "status", "step", "url",
    "urls", "parameters", "outputs", "environment", "cumulative_metadata",
}  # fmt: skip
KEYS_2025 = {
    "id", "counter", "url", "ctime", "mtime", "status", "status_detail", "step", "step_icon",
    "creator_id", "creator_name", "title", "commit", "duration", "end_time",
    "cumulative_metadata", "emissions", "parameter_categories", "deleted", "is_pinned",
    "n_alerts", "n_comments", "n_outputs", "priority", "price", "task", "task_counter",
    "pipeline", "pipeline_counter", "tags", "task_tags", "pipeline_tags", "parameters",
    "inputs", "environment_variables", "runtime_config", "command", "interpolated_command",
    "image", "executor_identity", "stop_expression", "environment", "project", "urls",
}  # fmt: skip
OLDER_PROJECT_KEYS = {
    "id", "name", "description", "owner", "ctime", "mtime", "urls", "environment_variables",
}  # fmt: skip
PROJECT_KEYS_2025 = {
    "id", "name", "description", "owner", "ctime", "mtime", "url", "urls", "read_only",
}  # fmt: skip
OLDER_COMMIT_KEYS = {"repository", "identifier", "ref", "commit_time", "url"}
OUTPUT_KEYS = {
    "id", "size", "ctime", "file_ctime", "file_mtime", "name", "output_execution",
}  # fmt: skip
UNFINISHED = ("created", "queued", "started", "stopping")
FINISHED = ("complete", "error", "crashed", "stopped")

PROJECT = project_id(0)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    # 250 executions in every project, in pages of 100.
    with serving(projects=12, executions=250) as running:
        yield running


def listed(emu: Emulator, query: str) -> list[dict[str, Any]]:
    """Every execution `executions/?query` lists, following `next` links."""
    pages = all_pages(executions_url(emu.base_url, query))
    assert all(page["count"] == pages[0]["count"] for page in pages)
    entries = [execution for page in pages for execution in page["results"]]
    assert len(entries) == pages[0]["count"]
    return entries


# --- pages and their order ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("ordering", "newest_first"),
    [(None, True), ("-counter", True), ("counter", False), ("ctime", False), ("-ctime", True)],
)
def test_pages_list_every_execution_once_in_the_asked_order(
    emu: Emulator, ordering: str | None, newest_first: bool
) -> None:
    query = f"project={PROJECT}" + (f"&ordering={ordering}" if ordering else "")
    pages = all_pages(executions_url(emu.base_url, query))

    assert [len(page["results"]) for page in pages] == [100, 100, 50]
    counters = [execution["counter"] for page in pages for execution in page["results"]]
    assert counters == sorted(range(1, 251), reverse=newest_first)
    ctimes = [execution["ctime"] for page in pages for execution in page["results"]]
    assert ctimes == sorted(ctimes, reverse=newest_first)
    assert len({execution["id"] for page in pages for execution in page["results"]}) == 250
    # The next links keep the filters.
    next_query = parse_qs(urlsplit(pages[0]["next"]).query)
    assert next_query["project"] == [PROJECT]
    assert next_query.get("ordering") == ([ordering] if ordering else None)


def test_list_entries_are_make_execution(emu: Emulator) -> None:
    page = call(executions_url(emu.base_url, f"project={project_id(3)}&limit=5")).json()

    assert page["results"] == [
        make_execution(3, counter, emu.base_url, executions=250) for counter in range(250, 245, -1)
    ]


def test_paging_modes_apply_to_executions(emu: Emulator) -> None:
    query = f"project={PROJECT}&limit=9000&deleted=false"
    capped = call(executions_url(emu.base_url, query)).json()
    assert len(capped["results"]) == 100
    assert parse_qs(urlsplit(capped["next"]).query) == {
        "project": [PROJECT], "limit": ["100"], "offset": ["100"], "deleted": ["false"],
    }  # fmt: skip

    emu.config.foreign_next = "http://127.0.0.2:9"
    assert (
        call(executions_url(emu.base_url, query)).json()["next"].startswith("http://127.0.0.2:9/")
    )

    emu.config.ignore_paging = True
    whole = call(executions_url(emu.base_url, query)).json()
    assert (whole["count"], whole["next"], len(whole["results"])) == (250, None, 250)

    emu.config.envelope = "bare"
    bare = call(executions_url(emu.base_url, query)).json()
    assert list(bare) == ["results"]
    assert [e["counter"] for e in bare["results"]] == list(range(250, 0, -1))


def test_a_page_deep_into_100000_executions_is_quick() -> None:
    with serving(projects=2, executions=100_000) as emu:
        started = time.monotonic()
        page = call(executions_url(emu.base_url, f"project={PROJECT}&offset=99900")).json()
        elapsed = time.monotonic() - started

        assert elapsed < 0.5
        assert page["count"] == 100_000
        assert [e["counter"] for e in page["results"]] == list(range(100, 0, -1))
        assert page["next"] is None
        # Filtering looks at every execution, and is still quick.
        started = time.monotonic()
        errors = call(executions_url(emu.base_url, f"project={PROJECT}&status=error")).json()
        assert time.monotonic() - started < 2
        assert 0 < errors["count"] < 100_000


# --- what the executions are ---------------------------------------------------------------


def test_newest_executions_are_the_unfinished_ones(emu: Emulator) -> None:
    executions = listed(emu, f"project={PROJECT}")

    statuses = [execution["status"] for execution in executions]
    # Project 0 has every unfinished status, in the order an execution passes through them.
    assert statuses[:5] == ["created", "queued", "queued", "started", "stopping"]
    assert set(statuses[5:]) == set(FINISHED)
    assert Counter(statuses[5:]).most_common(1)[0][0] == "complete"
    for execution in executions:
        finished = execution["status"] in FINISHED
        assert isinstance(execution["duration"], int) == finished
        assert execution["duration"] is None or execution["duration"] > 0
        if "end_time" in execution:
            assert (execution["end_time"] is not None) == finished
            assert execution["end_time"] is None or execution["end_time"] > execution["ctime"]


def test_both_shapes_have_exactly_their_real_keys(emu: Emulator) -> None:
    executions = listed(emu, f"project={project_id(4)}")  # an organization's project
    older = [e for e in executions if e.keys() == OLDER_KEYS]
    current = [e for e in executions if e.keys() == KEYS_2025]

    # "mixed", the default: both shapes in one listing, alternating by counter.
    assert len(older) == len(current) == 125
    assert all(e["counter"] % 2 == 1 for e in older)
    for execution in older:
        assert execution["project"].keys() == OLDER_PROJECT_KEYS
        assert execution["project"]["owner"] == 42  # a bare id
        assert execution["environment"].keys() == {"id", "name", "owner", "unfinished_job_count"}
        assert execution["commit"].keys() == OLDER_COMMIT_KEYS
        assert isinstance(execution["commit"]["repository"], int)
        assert all(output.keys() == OUTPUT_KEYS for output in execution["outputs"])
        assert all(o["output_execution"] == {"id": execution["id"]} for o in execution["outputs"])
        assert isinstance(execution["cumulative_metadata"], dict)
    for execution in current:
        assert execution["project"].keys() == PROJECT_KEYS_2025
        assert execution["project"]["owner"] == {"id": 42, "username": "acme-org"}
        assert isinstance(execution["creator_id"], str)
        assert execution["runtime_config"] == {"autorestart": False, "no_output_timeout": 604800}
        assert execution["urls"].keys() == {"copy", "copy_to_task", "display", "stop"}
        assert execution["commit"] is None or execution["commit"]["identifier"]
        assert isinstance(execution["price"], float)
    assert any(e["outputs"] for e in older) and any(not e["outputs"] for e in older)
    assert {e["commit"] is None for e in current} == {True, False}
    assert any(e["n_outputs"] > 0 for e in current)


@pytest.mark.parametrize(("shape", "keys"), [("older", OLDER_KEYS), ("2025", KEYS_2025)])
def test_execution_shape_serves_one_shape_throughout(
    emu: Emulator, shape: Any, keys: set[str]
) -> None:
    emu.config.execution_shape = shape

    executions = listed(emu, f"project={PROJECT}")

    assert {frozenset(e) for e in executions} == {frozenset(keys)}


def test_the_2025_shape_nests_the_whole_environment(emu: Emulator) -> None:
    emu.config.execution_shape = "2025"
    served = call(environments_url(emu.base_url)).json()["results"]

    executions = listed(emu, f"project={PROJECT}")

    assert all(e["environment"] in served for e in executions)
    assert len({e["environment"]["id"] for e in executions}) > 2
    assert any(e["environment"]["has_gpu"] for e in executions)


def test_the_nested_project_is_the_listed_project(emu: Emulator) -> None:
    for index in (0, 4):
        project = call(projects_url(emu.base_url, f"offset={index}&limit=1")).json()["results"][0]
        first, second = call(
            executions_url(emu.base_url, f"project={project['id']}&limit=2")
        ).json()["results"]
        current, older = (first, second) if "creator_id" in first else (second, first)

        assert current["project"] == {key: project[key] for key in PROJECT_KEYS_2025}
        assert older["project"]["owner"] == project["owner"]["id"]
        assert older["project"]["urls"] == {"display": project["urls"]["display"]}
        assert {k: older["project"][k] for k in ("id", "name", "description", "ctime")} == {
            k: project[k] for k in ("id", "name", "description", "ctime")
        }
        # The web pages: by id in the 2025 shape, by counter in the older one.
        display = project["urls"]["display"]
        assert current["urls"]["display"] == f"{display}execution/{current['id']}/"
        assert older["urls"]["display"] == f"{display}execution/{older['counter']}/"
        assert current["url"] == f"{emu.base_url}/api/v0/executions/{current['id']}/"
        assert older["url"] == f"{emu.base_url}/api/v0/executions/{older['id']}/"


def test_links_point_at_the_host_the_client_addressed(emu: Emulator) -> None:
    host = f"localhost:{emu.port}"
    page = call(executions_url(emu.base_url, f"project={PROJECT}"), headers={"Host": host}).json()

    for execution in page["results"][:2]:
        assert execution["url"].startswith(f"http://{host}/api/v0/executions/")
        assert execution["urls"]["display"].startswith(f"http://{host}/p/demo/project-0001/")


def test_relative_urls_make_every_link_relative(emu: Emulator) -> None:
    emu.config.relative_urls = True

    for execution in listed(emu, f"project={PROJECT}")[:10]:
        links = [
            execution["url"],
            *execution["urls"].values(),
            *execution["project"]["urls"].values(),
        ]
        if "creator_id" in execution:
            links += [execution["project"]["url"], execution["environment"]["url"]]
        else:
            links.append(execution["commit"]["url"])
        assert all(link.startswith("/") for link in links), links
    assert execution["urls"]["display"].startswith("/p/demo/project-0001/execution/")


def test_legacy_data_nests_the_project_as_the_legacy_list_serves_it(emu: Emulator) -> None:
    emu.config.legacy_data = True

    for execution in listed(emu, f"project={project_id(4)}")[:4]:
        project = execution["project"]
        assert project["owner"] == 42
        assert project["urls"] == {}
        if "url" in project:  # the 2025 shape
            assert project["url"] == f"/api/v0/projects/{project_id(4)}/"
        # The execution's own links stay absolute, as in the older fixture.
        assert execution["url"].startswith(emu.base_url)


def test_steps_creators_and_awkward_text(emu: Emulator) -> None:
    executions = listed(emu, f"project={PROJECT}")

    steps = {execution["step"] for execution in executions}
    assert {"train-model", "preprocess", "evaluate"} <= steps
    assert any(len(step) > 100 for step in steps)
    assert any(not step.isascii() for step in steps)
    assert any("\x1b" in step for step in steps)
    creators = {(e["creator_id"], e["creator_name"]) for e in executions if "creator_id" in e}
    assert creators == {("1337", "demo"), ("1340", "colleague")}
    # Parameters are name -> value, whatever the values are.
    assert any(isinstance(e["parameters"].get("learning_rate"), float) for e in executions)


def test_execution_counts_agree_with_the_project_list_and_detail() -> None:
    with serving(projects=24) as emu:  # each project its own number of executions
        projects = call(projects_url(emu.base_url)).json()["results"]
        for project in projects:
            executions = listed(emu, f"project={project['id']}&limit=500")
            statuses = Counter(execution["status"] for execution in executions)
            assert len(executions) == project["execution_count"]
            assert statuses["started"] == project["running_execution_count"]
            assert statuses["queued"] == project["queued_execution_count"]
            assert project["last_execution_ctime"] == (
                executions[0]["ctime"] if executions else None
            )
            summary = call(detail_url(emu.base_url, project["id"])).json()["execution_summary"]
            assert summary["count"] == len(executions)
            for status in ("created", "queued", "started", "stopping", "complete", "stopped"):
                assert summary[f"{status}_count"] == statuses[status], status
            assert summary["error_count"] == statuses["error"] + statuses["crashed"]
        assert any(project["execution_count"] == 0 for project in projects)


def test_executions_setting_gives_every_project_that_many(emu: Emulator) -> None:
    emu.config.executions = 7

    for project in call(projects_url(emu.base_url)).json()["results"]:
        assert project["execution_count"] == 7
        detail = call(detail_url(emu.base_url, project["id"])).json()
        assert detail["execution_summary"]["count"] == 7
        page = call(executions_url(emu.base_url, f"project={project['id']}")).json()
        assert page["count"] == len(page["results"]) == 7


# --- filters -------------------------------------------------------------------------------


def test_project_is_required(emu: Emulator) -> None:
    answer = call(executions_url(emu.base_url, "status=complete"))

    assert answer.status == 400
    assert answer.json() == {
        "project": [{"message": "This field is required.", "code": "required"}]
    }


@pytest.mark.parametrize(
    "project", ["00000000-0000-0000-0000-000000000000", "not-a-uuid", project_id(300)]
)
def test_an_unknown_project_has_no_executions(emu: Emulator, project: str) -> None:
    page = call(executions_url(emu.base_url, f"project={project}")).json()

    assert page == {"count": 0, "next": None, "previous": None, "results": []}


def test_status_filter_keeps_any_of_the_statuses(emu: Emulator) -> None:
    everything = listed(emu, f"project={PROJECT}")

    for statuses in (["error"], ["error", "crashed"], ["started", "complete"]):
        query = f"project={PROJECT}" + "".join(f"&status={status}" for status in statuses)
        chosen = listed(emu, query)
        assert chosen == [e for e in everything if e["status"] in statuses]
        assert chosen
    # `incomplete`, as the official client sends it, means every unfinished status.
    incomplete = listed(emu, f"project={PROJECT}&status=incomplete&ordering=counter")
    assert [e["status"] for e in incomplete] == [
        "stopping",
        "started",
        "queued",
        "queued",
        "created",
    ]


def test_an_unknown_status_is_a_400(emu: Emulator) -> None:
    answer = call(executions_url(emu.base_url, f"project={PROJECT}&status=running"))

    assert answer.status == 400
    assert answer.json()["status"][0]["code"] == "invalid_choice"


def test_creator_filter_splits_every_execution_between_the_creators(emu: Emulator) -> None:
    everything = listed(emu, f"project={PROJECT}")
    mine = listed(emu, f"project={PROJECT}&creator=1337")
    theirs = listed(emu, f"project={PROJECT}&creator=1340&ordering=counter")

    assert all(e["creator_id"] == "1337" for e in mine if "creator_id" in e)
    assert all(e["creator_id"] == "1340" for e in theirs if "creator_id" in e)
    # Older-shape executions show no creator but still have one: each is in one list only.
    assert any("creator_id" not in e for e in mine)
    assert sorted(e["id"] for e in mine + theirs) == sorted(e["id"] for e in everything)
    assert [e["counter"] for e in theirs] == sorted(e["counter"] for e in theirs)
    assert listed(emu, f"project={PROJECT}&creator=999") == []
    both = listed(emu, f"project={PROJECT}&creator=1340&status=complete")
    assert both == [e for e in theirs[::-1] if e["status"] == "complete"]


def test_deleted_is_accepted_and_changes_nothing(emu: Emulator) -> None:
    plain = call(executions_url(emu.base_url, f"project={PROJECT}")).json()["results"]

    for value in ("false", "true"):
        page = call(executions_url(emu.base_url, f"project={PROJECT}&deleted={value}")).json()
        assert page["results"] == plain


def test_ignore_filters_serves_the_first_projects_executions_whatever_was_asked(
    emu: Emulator,
) -> None:
    emu.config.ignore_filters = True
    expected = [make_execution(0, c, emu.base_url, executions=250) for c in range(250, 150, -1)]

    for query in ("", f"project={project_id(3)}&status=error&creator=1340&ordering=counter"):
        page = call(executions_url(emu.base_url, query)).json()
        assert page["count"] == 250
        assert page["results"] == expected


# --- one execution -------------------------------------------------------------------------


def test_one_execution_by_id_or_counter_is_its_list_entry(emu: Emulator) -> None:
    page = call(executions_url(emu.base_url, f"project={project_id(5)}&offset=120&limit=4"))

    for entry in page.json()["results"]:
        by_id = call(f"{emu.base_url}/api/v0/executions/{entry['id']}/")
        by_counter = call(f"{emu.base_url}/api/v0/executions/{project_id(5)}:{entry['counter']}/")
        assert (by_id.status, by_counter.status) == (200, 200)
        assert by_id.json() == by_counter.json() == entry
    newest = call(f"{emu.base_url}/api/v0/executions/{project_id(5)}:latest/").json()
    assert newest["counter"] == 250
    escaped = call(f"{emu.base_url}/api/v0/executions/{project_id(5)}%3A7")
    assert escaped.json()["counter"] == 7


def test_ids_decode_to_their_project_and_counter() -> None:
    for index, counter in [(0, 1), (3, 250), (1234, 99_999), (70_000, 100_000)]:
        ident = execution_id(index, counter)
        assert find_execution(ident, 100_000, 100_000) == (index, counter)
        assert find_execution(ident, index, 100_000) is None  # the project does not exist
        assert find_execution(ident, 100_000, counter - 1) is None  # nor that execution
    assert len({execution_id(i, c) for i in range(20) for c in range(1, 50)}) == 20 * 49


@pytest.mark.parametrize(
    "ref",
    [
        "00000000-0000-0000-0000-000000000000",
        "not-an-id",
        # The right bits for project 0's execution 5, but not an id the emulator made.
        "00000000-0000-7000-8000-000000000005",
        f"{PROJECT}:0",
        f"{PROJECT}:251",
        f"{PROJECT}:-1",
        f"{PROJECT}:first",
        f"{project_id(40)}:1",  # a project beyond the 12 that exist
        "not-a-project:1",
    ],
)
def test_missing_execution_is_404(emu: Emulator, ref: str) -> None:
    answer = call(f"{emu.base_url}/api/v0/executions/{ref}/")

    assert answer.status == 404
    assert answer.json() == {"detail": "Not found."}


def test_no_execution_in_a_project_that_never_ran_anything() -> None:
    with serving(projects=12) as emu:  # project 5 has no executions of its own
        assert call(f"{emu.base_url}/api/v0/executions/{project_id(5)}:latest/").status == 404
        assert call(f"{emu.base_url}/api/v0/executions/{project_id(5)}:1/").status == 404
        assert call(f"{emu.base_url}/api/v0/executions/{project_id(4)}:1/").status == 200


@pytest.mark.parametrize("path", ["executions/", f"executions/{PROJECT}:1/"])
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_executions_only_answer_get(emu: Emulator, path: str, method: str) -> None:
    answer = call(f"{emu.base_url}/api/v0/{path}", method=method, data=b"")

    assert answer.status == 405
    assert answer.headers["Allow"] == "GET"


def test_environments_of_executions_are_served_environments(emu: Emulator) -> None:
    emu.config.execution_shape = "older"
    served = {e["id"]: e for e in call(environments_url(emu.base_url)).json()["results"]}

    for execution in listed(emu, f"project={PROJECT}")[:20]:
        nested = execution["environment"]
        assert nested["name"] == served[nested["id"]]["name"]
        assert nested == {
            key: make_environment(
                list(served).index(nested["id"]), emu.base_url, unfinished_job_count=True
            )[key]
            for key in nested
        }
