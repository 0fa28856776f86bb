"""The emulator's project list: DRF's limit/offset pages, and the other envelopes it can serve."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from emulator_support import all_pages, call, projects_url, serving

from valohai_cli_lite.emulator.data import make_project, project_id
from valohai_cli_lite.emulator.server import Emulator


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with serving() as running:
        yield running


def test_next_links_walk_every_project_exactly_once(emu: Emulator) -> None:
    base = emu.base_url
    pages = all_pages(projects_url(base))

    assert [len(page["results"]) for page in pages] == [100, 100, 50]
    assert all(page["count"] == 250 for page in pages)
    ids = [project["id"] for page in pages for project in page["results"]]
    assert len(set(ids)) == 250
    assert pages[0]["previous"] is None
    assert pages[1]["previous"] == projects_url(base, "limit=100")
    assert pages[2]["previous"] == projects_url(base, "limit=100&offset=100")
    assert [page["next"] for page in pages] == [
        projects_url(base, "limit=100&offset=100"),
        projects_url(base, "limit=100&offset=200"),
        None,
    ]


def test_list_entries_are_make_project(emu: Emulator) -> None:
    page = call(projects_url(emu.base_url, "offset=40&limit=5")).json()

    assert page["results"] == [make_project(i, emu.base_url) for i in range(40, 45)]


def test_limit_is_capped_at_the_page_size_like_a_real_server(emu: Emulator) -> None:
    page = call(projects_url(emu.base_url, "limit=9000")).json()

    assert page["count"] == 250
    assert len(page["results"]) == 100
    assert page["next"] == projects_url(emu.base_url, "limit=100&offset=100")


def test_max_limit_sets_the_cap_apart_from_the_default_page_size(emu: Emulator) -> None:
    emu.config.max_limit = 200

    assert len(call(projects_url(emu.base_url)).json()["results"]) == 100
    assert len(call(projects_url(emu.base_url, "limit=9000")).json()["results"]) == 200
    assert len(call(projects_url(emu.base_url, "limit=30")).json()["results"]) == 30


def test_offset_and_limit_select_a_window_and_keep_other_parameters(emu: Emulator) -> None:
    base = emu.base_url
    everything = [p["id"] for page in all_pages(projects_url(base)) for p in page["results"]]

    page = call(projects_url(base, "offset=120&limit=50&ordering=name")).json()

    assert [p["id"] for p in page["results"]] == everything[120:170]
    assert page["next"] == projects_url(base, "limit=50&offset=170&ordering=name")
    assert page["previous"] == projects_url(base, "limit=50&offset=70&ordering=name")
    # Stepping back to the start drops `offset` instead of sending offset=0, as DRF does.
    assert call(projects_url(base, "offset=30&limit=50")).json()["previous"] == projects_url(
        base, "limit=50"
    )


@pytest.mark.parametrize(
    ("query", "first_index", "size"),
    [
        ("limit=abc", 0, 100),
        ("limit=-5", 0, 100),
        ("limit=0", 0, 100),
        ("offset=-1&limit=10", 0, 10),
        ("offset=x&limit=10", 0, 10),
    ],
)
def test_unusable_limit_or_offset_falls_back_to_the_default(
    emu: Emulator, query: str, first_index: int, size: int
) -> None:
    answer = call(projects_url(emu.base_url, query))

    assert answer.status == 200
    results = answer.json()["results"]
    assert len(results) == size
    assert results[0]["id"] == project_id(first_index)


def test_offset_past_the_end_is_an_empty_last_page(emu: Emulator) -> None:
    page = call(projects_url(emu.base_url, "offset=400")).json()

    assert page["count"] == 250
    assert page["results"] == []
    assert page["next"] is None


def test_zero_projects(emu: Emulator) -> None:
    emu.config.projects = 0

    assert call(projects_url(emu.base_url)).json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }


def test_links_point_at_the_host_the_client_addressed(emu: Emulator) -> None:
    host = f"localhost:{emu.port}"
    page = call(projects_url(emu.base_url), headers={"Host": host}).json()

    assert page["next"] == f"http://{host}/api/v0/projects/?limit=100&offset=100"
    first = page["results"][0]
    assert first["url"] == f"http://{host}/api/v0/projects/{first['id']}/"
    assert first["urls"]["display"] == f"http://{host}/p/demo/{first['name']}/"


def test_large_project_counts_are_cheap(emu: Emulator) -> None:
    emu.config.projects = 10_000
    started = time.monotonic()

    page = call(projects_url(emu.base_url, "offset=9990")).json()

    assert page["count"] == 10_000
    assert len(page["results"]) == 10
    assert page["results"][-1]["id"] == project_id(9999)
    assert time.monotonic() - started < 2


# --- links on another origin -------------------------------------------------------------


def test_foreign_next_points_next_at_any_origin(emu: Emulator) -> None:
    emu.config.foreign_next = "http://127.0.0.2:9/"

    page = call(projects_url(emu.base_url, "offset=100")).json()

    assert page["next"] == "http://127.0.0.2:9/api/v0/projects/?limit=100&offset=200"
    assert page["previous"] == projects_url(emu.base_url, "limit=100")


@pytest.mark.parametrize(
    ("addressed", "linked"), [("127.0.0.1", "localhost"), ("localhost", "127.0.0.1")]
)
def test_next_alias_names_the_same_server_differently(
    emu: Emulator, addressed: str, linked: str
) -> None:
    emu.config.next_origin_alias = True
    url = f"http://{addressed}:{emu.port}/api/v0/projects/?offset=100"

    page = call(url).json()

    other = f"http://{linked}:{emu.port}"
    assert page["next"] == projects_url(other, "limit=100&offset=200")
    assert page["previous"] == projects_url(other, "limit=100")
    # Objects keep the origin the client used; only the links move.
    assert page["results"][0]["url"].startswith(f"http://{addressed}:{emu.port}/")
    # It really is the same server: the link answers, and with the next window.
    following = call(page["next"]).json()
    assert following["results"][0]["id"] == project_id(200)
    assert following["next"] is None


# --- envelopes without paging ------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "limit=10&offset=20"])
def test_bare_envelope_is_every_project_under_results_only(emu: Emulator, query: str) -> None:
    emu.config.envelope = "bare"

    page = call(projects_url(emu.base_url, query)).json()

    assert list(page) == ["results"]
    assert page["results"] == [make_project(i, emu.base_url) for i in range(250)]


@pytest.mark.parametrize("query", ["", "limit=10&offset=20", "limit=9000"])
def test_ignore_paging_answers_everything_in_one_page(emu: Emulator, query: str) -> None:
    emu.config.ignore_paging = True

    page = call(projects_url(emu.base_url, query)).json()

    assert (page["count"], page["next"], page["previous"]) == (250, None, None)
    assert [p["id"] for p in page["results"]] == [project_id(i) for i in range(250)]


def test_envelopes_include_the_extra_projects(emu: Emulator) -> None:
    emu.config.projects = 2
    emu.config.extra_projects = [{"id": "x", "name": "hand-written"}]

    for settings in ({"envelope": "bare"}, {"envelope": "drf", "ignore_paging": True}):
        for name, value in settings.items():
            setattr(emu.config, name, value)
        results = call(projects_url(emu.base_url)).json()["results"]
        assert [p["id"] for p in results] == [project_id(0), project_id(1), "x"]
