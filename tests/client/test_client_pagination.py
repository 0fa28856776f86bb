"""client/paging.py, unit (respx, and the emulator for real HTTP): every page, in order, by
offset or by `next`, one or several at a time, and no more."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import respx
from conftest import TEST_TOKEN, project_pages

from valohai_cli_lite.client import ValohaiClient
from valohai_cli_lite.client.paging import iter_pages
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig
from valohai_cli_lite.errors import ApiError

HOST = "https://valohai.test"
PROJECTS = f"{HOST}/api/v0/projects/"


def _page(ids: range, next_url: str | None, count: int | None) -> dict[str, Any]:
    page: dict[str, Any] = {"next": next_url, "previous": None}
    if count is not None:
        page["count"] = count
    page["results"] = [{"id": str(i), "name": f"p{i}"} for i in ids]
    return page


class FakeServer:
    """`fetch` for iter_pages over `total` items served `step` at a time, by offset."""

    def __init__(
        self,
        total: int,
        step: int,
        fail_at: int | None = None,
        *,
        latency: float = 0.0,
        max_in_flight: int | None = None,
        hold: dict[int, threading.Event] | None = None,
    ) -> None:
        self.total, self.step, self.fail_at = total, step, fail_at
        self.latency, self.max_in_flight = latency, max_in_flight
        self.hold = hold or {}  # offsets answered only once their event is set
        self.offsets: list[int] = []
        self.lock = threading.Lock()
        self.in_flight = self.peak = self.throttled = 0

    def __call__(
        self, url: str, params: dict[str, Any] | None, *, retry_throttled: bool = True
    ) -> Any:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        offset = int({**query, **(params or {})}.get("offset", 0))
        url = url.split("?")[0]
        with self.lock:
            self.offsets.append(offset)
            if self.max_in_flight is not None and self.in_flight >= self.max_in_flight:
                self.throttled += 1
                raise ApiError("the server answered 429", status=429, retry_after=0.05)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.latency)
            if offset in self.hold:
                self.hold[offset].wait(10)
            if offset == self.fail_at:
                time.sleep(0.2)  # time enough for a runaway fetcher to ask for many more pages
                raise ApiError("the server answered 503 Service Unavailable", status=503)
        finally:
            with self.lock:
                self.in_flight -= 1
        end = min(offset + self.step, self.total)
        following = f"{url}?offset={end}" if end < self.total else None
        return _page(range(offset, end), following, self.total)


def ids(pages: Any) -> list[str]:
    return [item["id"] for page in pages for item in page.results]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_every_item_once_in_order(concurrency: int) -> None:
    server = FakeServer(total=95, step=10)
    pages = list(iter_pages(server, PROJECTS, max_concurrency=concurrency))
    assert ids(pages) == [str(i) for i in range(95)]
    assert [page.total for page in pages] == [95] * 10
    assert sorted(server.offsets) == list(range(0, 95, 10))


def test_a_failing_page_stops_a_concurrent_listing() -> None:
    server = FakeServer(total=100_000, step=100, fail_at=300)
    with pytest.raises(ApiError, match="503"):
        list(iter_pages(server, PROJECTS, max_concurrency=2))
    # The pages in flight, and those read ahead while page 300 took its time (a bounded
    # buffer of items), were asked for; none of the other ~950 ever was.
    assert len(server.offsets) <= 1 + 2 + 4000 // 100 + 4
    assert max(server.offsets) <= 5000


def test_reading_ahead_is_bounded_and_stopping_ends_the_fetchers() -> None:
    # The second page is held back while every other one answers at once: the reader waits
    # for it, and meanwhile asks for no more than its read-ahead allows (4 in flight plus
    # 4,000 items' worth of pages), not for the whole 10,000-page list.
    second = threading.Event()
    server = FakeServer(total=100_000, step=10, hold={10: second})

    bound = 1 + 4 + 4000 // 10  # the first page, then 404 slots: 4 in flight + 400 pages

    def release_once_asking_stops() -> None:
        seen, still = -1, 0
        # Once at the bound, 0.2 s more for a runaway reader to show itself; short of it,
        # 1 s without a new request (a loaded machine may pause the fetchers that long).
        while still < (20 if seen >= bound else 100):
            time.sleep(0.01)
            now = len(server.offsets)
            seen, still = now, (still + 1 if now == seen else 0)
        second.set()

    others = set(threading.enumerate())  # other tests' threads are not this test's business
    releaser = threading.Thread(target=release_once_asking_stops)
    releaser.start()
    pages = iter_pages(server, PROJECTS, max_concurrency=4)
    assert [p.results[0]["id"] for p in (next(pages), next(pages))] == ["0", "10"]
    releaser.join()
    assert len(server.offsets) == bound
    pages.close()
    # Stopping leaves no page fetcher thread behind, and nothing more is asked for.
    deadline = time.monotonic() + 5
    while any(t.name.startswith("vh-lite-page") for t in set(threading.enumerate()) - others):
        assert time.monotonic() < deadline, "page fetcher threads outlived the listing"
        time.sleep(0.01)
    assert len(server.offsets) == bound


def test_stop_after_bounds_the_requests() -> None:
    server = FakeServer(total=1000, step=100)
    pages = list(iter_pages(server, PROJECTS, max_concurrency=8, stop_after=250))
    assert sum(len(p.results) for p in pages) == 300  # whole pages; the caller trims
    assert len(server.offsets) == 3


@respx.mock
def test_pagination_follows_next_with_the_token() -> None:
    respx.get(PROJECTS, params={"limit": "1000", "offset": "0"}).respond(
        json=_page(range(2), f"{PROJECTS}?limit=2&offset=2", 3)
    )
    respx.get(PROJECTS, params={"limit": "2", "offset": "2"}).respond(
        json=_page(range(2, 3), None, 3)
    )
    with ValohaiClient(HOST, TEST_TOKEN) as client:
        pages = list(project_pages(client))
    assert [[p["id"] for p in page.results] for page in pages] == [["0", "1"], ["2"]]
    assert [page.total for page in pages] == [3, 3]
    assert all(c.request.headers["Authorization"] == f"Token {TEST_TOKEN}" for c in respx.calls)


@respx.mock
def test_pagination_falls_back_to_offsets_when_next_is_missing() -> None:
    respx.get(PROJECTS, params={"offset": "0"}).respond(json=_page(range(2), None, 4))
    respx.get(PROJECTS, params={"offset": "2"}).respond(json=_page(range(2, 4), None, 4))
    with ValohaiClient(HOST, TEST_TOKEN) as client:
        assert sum(len(page.results) for page in project_pages(client)) == 4


@respx.mock
def test_a_next_link_elsewhere_never_sees_the_token_and_offsets_go_on() -> None:
    # Behind a TLS-terminating proxy a server may send http:// links for an https:// host.
    elsewhere = "http://valohai.test/api/v0/projects/?limit=2&offset=2"
    respx.get(PROJECTS, params={"offset": "0"}).respond(json=_page(range(2), elsewhere, 4))
    respx.get(PROJECTS, params={"offset": "2"}).respond(json=_page(range(2, 4), None, 4))
    plain = respx.get("http://valohai.test/api/v0/projects/").respond(json=_page(range(0), None, 0))
    with ValohaiClient(HOST, TEST_TOKEN) as client:
        assert ids(project_pages(client)) == ["0", "1", "2", "3"]
    assert not plain.called


@respx.mock
def test_a_next_link_elsewhere_without_a_count_is_refused() -> None:
    respx.get(PROJECTS).respond(json=_page(range(2), "https://evil.test/steal?offset=2", None))
    evil = respx.get("https://evil.test/steal").respond(json=_page(range(0), None, 0))
    with ValohaiClient(HOST, TEST_TOKEN) as client, pytest.raises(ApiError) as info:
        list(project_pages(client))
    assert info.value.message == (
        "the server's next page is on https://evil.test, not https://valohai.test; "
        "refusing to send the token there"
    )
    assert not evil.called


@respx.mock
def test_a_server_that_ignores_offsets_is_an_error_not_a_loop() -> None:
    respx.get(PROJECTS).respond(json=_page(range(2), None, 6))  # the same page for any offset
    for concurrency in (1, 4):
        with ValohaiClient(HOST, TEST_TOKEN) as client, pytest.raises(ApiError) as info:
            list(project_pages(client, max_concurrency=concurrency))
        assert "does not page by limit and offset" in info.value.message


class Always:
    """A server that answers the same body to everything."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def __call__(self, url: str, params: Any, *, retry_throttled: bool = True) -> Any:
        return self.body


def test_envelopes_that_are_not_drf_pages() -> None:
    bare = {"results": [{"id": "a"}, {"id": "b"}]}  # a test double's answer: no count, no next
    assert ids(iter_pages(Always(bare), PROJECTS, max_concurrency=8)) == ["a", "b"]
    everything = _page(range(250), None, 250)  # limit and offset ignored, all at once
    pages = list(iter_pages(Always(everything), PROJECTS, max_concurrency=8))
    assert len(pages) == 1 and len(pages[0].results) == 250


@respx.mock
def test_looping_pagination_is_an_error() -> None:
    respx.get(PROJECTS, params={"offset": "0"}).respond(
        json=_page(range(1), f"{PROJECTS}?page=2", 9)
    )
    respx.get(PROJECTS, params={"page": "2"}).respond(
        json=_page(range(1, 2), f"{PROJECTS}?page=2", 9)
    )
    with ValohaiClient(HOST, TEST_TOKEN) as client, pytest.raises(ApiError, match="loops"):
        list(itertools.islice(project_pages(client), 50))  # not round and round for ever


@respx.mock
def test_relative_next_link_is_resolved_against_the_host() -> None:
    respx.get(PROJECTS, params={"offset": "0"}).respond(
        json=_page(range(1), "/api/v0/projects/?limit=1&offset=1", 2)
    )
    respx.get(PROJECTS, params={"offset": "1"}).respond(json=_page(range(1, 2), None, 2))
    with ValohaiClient(HOST, TEST_TOKEN) as client:
        assert sum(len(page.results) for page in project_pages(client)) == 2


@respx.mock
def test_non_object_results_are_an_error() -> None:
    respx.get(PROJECTS).respond(json={"count": 2, "next": None, "results": [{"id": 1}, "x"]})
    with ValohaiClient(HOST, TEST_TOKEN) as client, pytest.raises(ApiError, match="not an obj"):
        list(project_pages(client))


def test_real_server_pagination_with_small_cap() -> None:
    with Emulator(EmulatorConfig(token=TEST_TOKEN, projects=95, page_size=10)) as emu:
        with ValohaiClient(emu.base_url, TEST_TOKEN) as client:
            listed = ids(project_pages(client))
            first = next(project_pages(client, page_size=5))
            requests_before = len(emu.requests)
            pages = project_pages(client)
            next(pages)  # pages are fetched lazily: one request per page consumed
            assert len(emu.requests) == requests_before + 1
    assert len(listed) == 95 and len(set(listed)) == 95
    assert len(first.results) == 5
    assert first.total == 95


def test_concurrent_pages_arrive_in_order_and_complete() -> None:
    config = EmulatorConfig(token=TEST_TOKEN, projects=950, page_size=100, latency_ms=5)
    with Emulator(config) as emu, ValohaiClient(emu.base_url, TEST_TOKEN) as client:
        sequential = ids(project_pages(client))
        emu.requests.clear()
        concurrent = ids(project_pages(client, max_concurrency=8))
        offsets = sorted(int(r.query["offset"][0]) for r in emu.requests)
    assert concurrent == sequential
    assert len(concurrent) == 950
    assert offsets == list(range(0, 950, 100))  # every page once, by offset


def test_concurrency_adapts_to_the_servers_page_cap() -> None:
    config = EmulatorConfig(token=TEST_TOKEN, projects=95, page_size=10)  # caps limit at 10
    with Emulator(config) as emu, ValohaiClient(emu.base_url, TEST_TOKEN) as client:
        listed = ids(project_pages(client, max_concurrency=4))
        limits = {r.query["limit"][0] for r in emu.requests[1:]}
    assert len(listed) == 95 and len(set(listed)) == 95
    assert limits == {"10"}


def test_an_offset_in_the_path_is_respected() -> None:
    with Emulator(EmulatorConfig(token=TEST_TOKEN, projects=250)) as emu:
        with ValohaiClient(emu.base_url, TEST_TOKEN) as client:
            url = f"{emu.base_url}/api/v0/projects/?offset=200"
            for concurrency in (1, 8):
                listed = ids(client.iter_pages(url, max_concurrency=concurrency))
                assert len(listed) == 50 and len(set(listed)) == 50


def test_a_list_that_changes_midway_is_an_error() -> None:
    server = FakeServer(total=250, step=100)
    pages = iter_pages(server, PROJECTS, max_concurrency=2)
    next(pages)
    server.total = 260  # someone creates projects while we read
    with pytest.raises(ApiError, match="changed while it was being read"):
        list(pages)


def test_concurrency_grows_while_waiting_pays_and_finds_a_gateways_limit() -> None:
    slow = FakeServer(total=4000, step=10, latency=0.05)
    assert len(ids(iter_pages(slow, PROJECTS, max_concurrency=32))) == 4000
    assert slow.peak > 16  # it grew from 8 while each page kept it waiting
    gated = FakeServer(total=4000, step=10, latency=0.02, max_in_flight=4)
    listed = ids(iter_pages(gated, PROJECTS, max_concurrency=32))
    assert listed == [str(i) for i in range(4000)]  # every item once, in order
    assert 1 <= gated.throttled <= 8  # a handful of 429s found the limit, once


def test_the_window_grows_only_while_the_reader_waits() -> None:
    # The rule itself, with the waits given: an integration test of "a fast server keeps
    # the window small" would fail whenever a loaded machine made the reader wait on CPU.
    from valohai_cli_lite.client.paging import Window

    fast = Window(32)
    for _ in range(400):
        fast.read(0.0001)
    assert fast.size == Window.START  # nothing to wait for: no more threads

    slow = Window(32)
    sizes = []
    for _ in range(12):
        slow.read(0.05)
        sizes.append(slow.size)
    assert sizes[0] == Window.START + 2 and sizes[-1] == 32  # by two per page, to the ceiling
    for _ in range(100):
        slow.read(0.0001)
    assert slow.size == 32  # it never shrinks for a fast page

    gated = Window(32)
    gated.read(0.05)
    gated.throttled(in_flight=5)
    assert gated.ceiling == gated.size == 4  # below what was out when the 429 came
    for _ in range(20):
        gated.read(0.05)
    assert gated.size == 4  # for good
    gated.throttled(in_flight=1)
    assert gated.ceiling == 1  # never below one


def test_a_guess_from_last_time_asks_for_the_second_round_with_the_first() -> None:
    from valohai_cli_lite.client.paging import PagingGuess

    server = FakeServer(total=100, step=10, latency=0.05)
    learned: list[PagingGuess] = []
    far = PagingGuess(10, 100, far=True)
    pages = iter_pages(server, PROJECTS, max_concurrency=8, guess=far, learned=learned.append)
    next(pages)
    assert sorted(server.offsets) == [0, 10, 20, 30]  # all sent before the first came back
    assert len(ids(pages)) == 90
    assert sorted(server.offsets) == list(range(0, 100, 10))  # and nothing asked twice
    assert learned == [PagingGuess(10, 100, far=True)]  # 50 ms: worth hiding next time
    wrong = FakeServer(total=100, step=20)
    listed = ids(iter_pages(wrong, PROJECTS, max_concurrency=8, guess=far))
    assert listed == [str(i) for i in range(100)]  # a wrong guess costs requests, not data


def test_a_near_server_gets_no_early_requests_they_would_only_slow_the_first_page() -> None:
    from valohai_cli_lite.client.paging import PagingGuess

    server = FakeServer(total=100, step=10)
    learned: list[PagingGuess] = []
    pages = iter_pages(server, PROJECTS, max_concurrency=8,
                       guess=PagingGuess(10, 100, far=False), learned=learned.append)  # fmt: skip
    next(pages)
    assert server.offsets == [0]  # the first page alone, as without a guess
    assert len(ids(pages)) == 90
    assert [guess[:2] for guess in learned] == [(10, 100)]


@pytest.mark.parametrize("throttled_first", [True, False])
def test_a_throttled_page_and_a_failing_one_end_in_the_failure_not_a_hang(
    throttled_first: bool,
) -> None:
    """A page waiting out a 429 while a later page fails: the failure is reported (it used
    to hang, or to report the 429's marker as a malformed page)."""
    throttled_once: set[int] = set()

    def fetch(url: str, params: dict[str, Any] | None, *, retry_throttled: bool = True) -> Any:
        offset = int((params or {}).get("offset", 0))
        if offset == 100 and offset not in throttled_once:
            throttled_once.add(offset)
            if not throttled_first:
                time.sleep(0.05)  # the failure comes back first
            raise ApiError("the server answered 429", status=429, retry_after=0.2)
        if offset == 200:
            if throttled_first:
                time.sleep(0.05)
            raise ApiError("the server answered 500", status=500)
        return _page(range(offset, min(offset + 100, 1000)), None, 1000)

    outcome: dict[str, Any] = {}

    def listing() -> None:
        try:
            outcome["ids"] = ids(iter_pages(fetch, PROJECTS, max_concurrency=4))
        except ApiError as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=listing, daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "the listing hung"
    assert "ids" not in outcome
    assert outcome["error"].status == 500


def test_a_wrong_guess_is_dropped_even_by_a_server_that_honours_limit() -> None:
    from valohai_cli_lite.client.paging import PagingGuess

    asked: list[tuple[int, int]] = []

    def capped(url: str, params: dict[str, Any] | None, *, retry_throttled: bool = True) -> Any:
        offset, limit = int((params or {})["offset"]), int((params or {})["limit"])
        asked.append((offset, limit))
        end = min(offset + min(limit, 20), 100)  # hands out at most 20, as asked
        return _page(range(offset, end), None, 100)

    guessed = PagingGuess(10, 100, far=True)  # last time 10 a page; now 20
    listed = ids(iter_pages(capped, PROJECTS, max_concurrency=8, guess=guessed))
    assert listed == [str(i) for i in range(100)]
    assert (10, 10) in asked  # the early requests went out, and their pages were not used


def test_the_shape_is_remembered_only_from_a_whole_listing() -> None:
    from valohai_cli_lite.client.paging import PagingGuess

    server = FakeServer(total=100, step=10)
    learned: list[PagingGuess] = []
    list(iter_pages(server, PROJECTS, max_concurrency=8, stop_after=15, learned=learned.append))
    list(iter_pages(server, PROJECTS + "?offset=30", max_concurrency=8, learned=learned.append))
    assert learned == []  # neither says how the whole list looks
    list(iter_pages(server, PROJECTS, max_concurrency=8, learned=learned.append))
    assert [guess[:2] for guess in learned] == [(10, 100)]


def test_an_empty_first_page_ends_the_listing_whatever_the_count_says() -> None:
    asked: list[int] = []

    def empty(url: str, params: dict[str, Any] | None, *, retry_throttled: bool = True) -> Any:
        asked.append(int((params or {}).get("offset", 0)))
        return {"count": 500, "next": f"{PROJECTS}?offset=100", "results": []}

    for concurrency in (1, 8):
        asked.clear()
        assert [p.results for p in iter_pages(empty, PROJECTS, max_concurrency=concurrency)] == [[]]
        assert asked == [0]


def test_a_count_that_is_not_a_number_is_no_total() -> None:
    from valohai_cli_lite.client.paging import page_count

    assert page_count({"count": 3}) == 3
    assert page_count({"count": True}) is None and page_count({"count": "3"}) is None


def test_a_page_throttled_for_ever_ends_the_listing() -> None:
    from valohai_cli_lite.client.paging import MAX_THROTTLED

    asked: list[int] = []

    def stubborn(url: str, params: dict[str, Any] | None, *, retry_throttled: bool = True) -> Any:
        offset = int((params or {}).get("offset", 0))
        asked.append(offset)
        assert asked.count(10) < 50, "asked for the throttled page again and again"
        if offset == 10:
            raise ApiError("the server answered 429", status=429, retry_after=0.01)
        return _page(range(offset, offset + 10), None, 30)

    with pytest.raises(ApiError, match="429"):
        ids(iter_pages(stubborn, PROJECTS, max_concurrency=4))
    assert asked.count(10) == MAX_THROTTLED + 1
