"""The emulator's environments: a fixed set in valohai-cli's 2025 shape, paged like the rest."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from emulator_support import all_pages, call, detail_url, environments_url, serving

from valohai_cli_lite.emulator.data import make_project_detail, project_id
from valohai_cli_lite.emulator.executions import environment_id, make_environment
from valohai_cli_lite.emulator.server import Emulator

# The keys of valohai-cli's ENVIRONMENT_NESTED_DATA.
ENVIRONMENT_KEYS = {
    "id", "name", "slug", "description", "url", "ctime", "mtime", "allow_personal_usage",
    "bill_usage", "enabled", "has_gpu", "gpu_spec", "is_scalable", "spot",
    "enable_smart_vm_selection", "supports_priority", "per_hour_price_usd",
    "per_user_queue_quota", "per_user_resource_quotas", "scale_down_grace_period", "scale_max",
    "scale_min", "spot_max_price", "type", "owner", "provider",
}  # fmt: skip


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with serving() as running:
        yield running


def test_environments_are_a_realistic_fixed_set_in_the_real_shape(emu: Emulator) -> None:
    page = call(environments_url(emu.base_url, "limit=9000")).json()  # what vh asks

    environments = page["results"]
    assert (page["count"], page["next"], len(environments)) == (8, None, 8)
    assert [e["id"] for e in environments] == [environment_id(n) for n in range(8)]
    assert environments == [make_environment(n, emu.base_url) for n in range(8)]
    for environment in environments:
        assert environment.keys() == ENVIRONMENT_KEYS
        assert re.fullmatch(r"\d+\.\d{5}", environment["per_hour_price_usd"])
        assert environment["has_gpu"] == bool(environment["gpu_spec"])
        assert environment["url"] == f"{emu.base_url}/api/v0/environments/{environment['id']}"
        assert isinstance(environment["per_user_queue_quota"], int)
        assert isinstance(environment["spot_max_price"], float)
    assert {e["has_gpu"] for e in environments} == {True, False}
    assert {e["enabled"] for e in environments} == {True, False}
    assert any(e["per_user_queue_quota"] == 0 for e in environments)  # unlimited
    assert any(e["per_user_queue_quota"] > 0 for e in environments)
    assert any(e["owner"] is not None for e in environments)
    assert any(not e["description"].isascii() and "\x1b" in e["description"] for e in environments)
    assert len({e["slug"] for e in environments}) == 8


def test_environments_come_in_pages(emu: Emulator) -> None:
    pages = all_pages(environments_url(emu.base_url, "limit=3"))

    assert [len(page["results"]) for page in pages] == [3, 3, 2]
    assert [e["id"] for page in pages for e in page["results"]] == [
        environment_id(n) for n in range(8)
    ]
    assert pages[1]["previous"] == environments_url(emu.base_url, "limit=3")


def test_queue_lengths_come_when_asked_for(emu: Emulator) -> None:
    plain = call(environments_url(emu.base_url)).json()["results"]
    asked = call(environments_url(emu.base_url, "include=unfinished_job_count")).json()["results"]

    for without, with_count in zip(plain, asked, strict=True):
        assert with_count.keys() == ENVIRONMENT_KEYS | {"unfinished_job_count"}
        assert {k: v for k, v in with_count.items() if k != "unfinished_job_count"} == without
    assert any(e["unfinished_job_count"] > 0 for e in asked)


def test_one_environment_by_id(emu: Emulator) -> None:
    for number in range(8):
        answer = call(f"{emu.base_url}/api/v0/environments/{environment_id(number)}/")
        assert answer.status == 200
        assert answer.json() == make_environment(number, emu.base_url)
    missing = call(f"{emu.base_url}/api/v0/environments/{project_id(0)}/")
    assert (missing.status, missing.json()) == (404, {"detail": "Not found."})
    post = call(environments_url(emu.base_url), method="POST", data=b"")
    assert post.status == 405


def test_projects_default_environments_are_served(emu: Emulator) -> None:
    served = {e["id"] for e in call(environments_url(emu.base_url)).json()["results"]}

    defaults = {make_project_detail(i, emu.base_url)["default_environment"] for i in range(12)}

    assert defaults - {None} <= served
    assert call(detail_url(emu.base_url, project_id(1))).json()["default_environment"] in served


def test_relative_urls_apply_to_environments(emu: Emulator) -> None:
    emu.config.relative_urls = True

    environments = call(environments_url(emu.base_url)).json()["results"]

    assert [e["url"] for e in environments] == [
        f"/api/v0/environments/{environment_id(n)}" for n in range(8)
    ]
