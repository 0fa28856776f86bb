"""The emulator's project data: list entries, the richer detail object, older shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_support import TOKEN, all_pages, call, detail_url, projects_url, serving

from valohai_cli_lite.emulator.data import (
    DETAIL_NULL_FIELDS,
    make_project,
    make_project_detail,
    project_id,
)
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig

PROJECT_FIELDS = {
    "id", "name", "description", "owner", "ctime", "mtime", "url", "urls",
    "execution_count", "running_execution_count", "queued_execution_count",
    "last_execution_ctime",
}  # fmt: skip
# What the detail object in Valohai's docs has beyond the list entry.
DETAIL_ONLY_FIELDS = {
    "execution_summary", "repository", "environment_variables",
    "default_environment", "default_store", "upload_store_id",
}  # fmt: skip
SUMMARY_KEYS = {
    "count", "queued_count", "started_count", "complete_count", "error_count",
    "stopped_count", "created_count", "stopping_count", "stopping_hard_count",
}  # fmt: skip


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with serving() as running:
        yield running


def every_project(emu: Emulator) -> list[dict[str, Any]]:
    return [p for page in all_pages(projects_url(emu.base_url)) for p in page["results"]]


def test_projects_have_every_documented_field_and_awkward_values(emu: Emulator) -> None:
    projects = every_project(emu)

    assert all(project.keys() >= PROJECT_FIELDS for project in projects)
    assert all(project["ctime"].endswith("Z") for project in projects)
    ctimes = [project["ctime"] for project in projects]
    assert ctimes == sorted(ctimes, reverse=True)
    assert len({project["name"] for project in projects}) == 250
    assert any(project["description"] == "" for project in projects)
    assert any(
        all(ch in project["description"] for ch in ',"\n\t')
        and not project["description"].isascii()
        for project in projects
    )
    assert any("\x1b" in project["description"] for project in projects)
    owners = {project["owner"]["username"] for project in projects}
    assert owners == {"demo", "acme-org"}
    assert any(project["last_execution_ctime"] is None for project in projects)
    assert any(project["last_execution_ctime"] is not None for project in projects)


def test_projects_are_the_same_on_every_run() -> None:
    def first_page_and_a_detail() -> Any:
        with Emulator(EmulatorConfig(token=TOKEN, projects=5)) as running:
            page = call(projects_url(running.base_url)).json()
            detail = call(detail_url(running.base_url, project_id(3))).json()
            # Absolute URLs carry the (random) port; everything else must be identical.
            return json.loads(json.dumps([page, detail]).replace(running.base_url, "BASE"))

    assert first_page_and_a_detail() == first_page_and_a_detail()


# --- the detail object -------------------------------------------------------------------


def test_detail_is_the_list_entry_plus_the_published_detail_fields(emu: Emulator) -> None:
    listed = call(projects_url(emu.base_url, "offset=42&limit=1")).json()["results"][0]

    for suffix in ("/", ""):
        answer = call(f"{emu.base_url}/api/v0/projects/{listed['id']}{suffix}")
        assert answer.status == 200
        detail = answer.json()
        assert detail == make_project_detail(42, emu.base_url)
    assert detail.keys() == listed.keys() | DETAIL_ONLY_FIELDS
    assert {k: v for k, v in detail.items() if k in listed and k not in DETAIL_NULL_FIELDS} == {
        k: v for k, v in listed.items() if k not in DETAIL_NULL_FIELDS
    }
    assert detail["url"] == f"{emu.base_url}/api/v0/projects/{listed['id']}/"


def test_detail_counters_are_null_as_in_the_published_sample(emu: Emulator) -> None:
    for index in range(12):
        detail = call(detail_url(emu.base_url, project_id(index))).json()
        assert all(detail[name] is None for name in DETAIL_NULL_FIELDS)
        summary = detail["execution_summary"]
        assert summary["count"] == make_project(index, emu.base_url)["execution_count"]


def test_detail_counts_filled_carries_the_list_numbers(emu: Emulator) -> None:
    emu.config.detail_counts = "filled"

    for index in range(12):
        detail = call(detail_url(emu.base_url, project_id(index))).json()
        listed = make_project(index, emu.base_url)
        assert {name: detail[name] for name in DETAIL_NULL_FIELDS} == {
            name: listed[name] for name in DETAIL_NULL_FIELDS
        }
        assert detail == make_project_detail(index, emu.base_url, filled_counts=True)
        assert detail["execution_summary"]["count"] == detail["execution_count"]


def test_execution_summary_adds_up(emu: Emulator) -> None:
    summaries = [
        make_project_detail(index, emu.base_url, filled_counts=True) for index in range(250)
    ]

    for detail in summaries:
        summary = detail["execution_summary"]
        assert summary.keys() == SUMMARY_KEYS
        assert all(isinstance(value, int) and value >= 0 for value in summary.values())
        assert sum(v for k, v in summary.items() if k != "count") == summary["count"]
        assert summary["queued_count"] == detail["queued_execution_count"]
        assert summary["started_count"] == detail["running_execution_count"]
    assert any(d["execution_summary"]["count"] == 0 for d in summaries)
    assert any(d["execution_summary"]["error_count"] > 0 for d in summaries)


def test_detail_settings_have_the_published_shapes(emu: Emulator) -> None:
    details = [make_project_detail(index, emu.base_url) for index in range(12)]

    for detail in details:
        assert detail["repository"].keys() == {"ref", "url"}
        variables = detail["environment_variables"]
        assert all(entry.keys() == {"value", "secret"} for entry in variables.values())
        # Secret values never come back; plain ones do.
        assert any(e["secret"] and e["value"] is None for e in variables.values())
        assert any(not e["secret"] and isinstance(e["value"], str) for e in variables.values())
        for name in ("default_environment", "default_store", "upload_store_id"):
            assert detail[name] is None or isinstance(detail[name], str)
    assert any(d["repository"]["url"] == "" for d in details)
    assert any(d["repository"]["url"] != "" for d in details)
    for name in ("default_environment", "default_store", "upload_store_id"):
        assert {d[name] is None for d in details} == {True, False}


def test_extra_projects_are_their_own_detail_as_given(emu: Emulator) -> None:
    odd = {"id": "hand-written", "name": "odd", "owner": 7, "execution_count": "many"}
    emu.config.extra_projects = ["not an object", odd]  # type: ignore[list-item]
    emu.config.legacy_data = True
    emu.config.detail_counts = "filled"

    assert call(detail_url(emu.base_url, "hand-written")).json() == odd
    # An entry that is not an object has no id: looking past it is no crash, just a 404.
    assert call(detail_url(emu.base_url, "not-an-object")).status == 404


@pytest.mark.parametrize(
    "project",
    [
        "00000000-0000-0000-0000-000000000000",
        "not-a-uuid",
        project_id(300),  # shaped right, but beyond the 250 projects that exist
    ],
)
def test_missing_project_is_404(emu: Emulator, project: str) -> None:
    answer = call(detail_url(emu.base_url, project))

    assert answer.status == 404
    assert answer.json() == {"detail": "Not found."}


# --- older data --------------------------------------------------------------------------


def test_legacy_data_has_integer_owners_relative_urls_and_empty_urls(emu: Emulator) -> None:
    emu.config.legacy_data = True

    projects = every_project(emu)

    assert len(projects) == 250
    for index, project in enumerate(projects):
        modern = make_project(index, emu.base_url)
        assert project["owner"] == modern["owner"]["id"]
        assert project["url"] == f"/api/v0/projects/{modern['id']}/"
        assert project["urls"] == {}
        unchanged = {k: v for k, v in project.items() if k not in ("owner", "url", "urls")}
        assert unchanged == {k: v for k, v in modern.items() if k in unchanged}
    assert {project["owner"] for project in projects} == {1337, 42}


def test_legacy_data_applies_to_the_detail_too(emu: Emulator) -> None:
    emu.config.legacy_data = True

    detail = call(detail_url(emu.base_url, project_id(4))).json()

    assert detail["owner"] == 42  # project 4 belongs to the organization
    assert detail["url"] == f"/api/v0/projects/{project_id(4)}/"
    assert detail["urls"] == {}
    assert detail["execution_summary"] == make_project_detail(4, "")["execution_summary"]
    assert detail["execution_count"] is None
