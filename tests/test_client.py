"""Unit tests of the HTTP client: edge cases with respx, the happy path on a real server."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import respx
from conftest import TEST_TOKEN

from valohai_cli_lite.client import (
    ClientSettings,
    ValohaiClient,
    error_code_from_body,
    error_message_from_body,
    parse_retry_after,
)
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig
from valohai_cli_lite.errors import ApiError, AuthError, NetworkError

HOST = "https://valohai.test"
PROJECTS = f"{HOST}/api/v0/projects/"


def _page(ids: range, next_url: str | None, count: int) -> dict[str, object]:
    return {
        "count": count,
        "next": next_url,
        "previous": None,
        "results": [{"id": str(i), "name": f"p{i}"} for i in ids],
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"detail": "Invalid token."}, "Invalid token."),
        ({"non_field_errors": ["Bad creds."]}, "Bad creds."),
        ({"non_field_errors": [{"message": "Bad creds.", "code": "x"}]}, "Bad creds."),
        ({"username": [{"message": "Required.", "code": "required"}]}, "username: Required."),
        ({"code": "has_2fa", "message": "Use a token."}, "Use a token."),
        ("just text", None),
    ],
)
def test_error_message_from_body(body: object, message: str | None) -> None:
    assert error_message_from_body(body) == message


def test_error_code_from_body() -> None:
    assert error_code_from_body({"code": "has_2fa"}) == "has_2fa"
    assert error_code_from_body({"non_field_errors": [{"code": "has_external_identity"}]}) == (
        "has_external_identity"
    )
    assert error_code_from_body({"detail": "x"}) is None


@respx.mock
def test_pagination_follows_next_and_sends_auth_headers() -> None:
    respx.get(PROJECTS, params={"limit": "100", "offset": "0"}).respond(
        json=_page(range(2), f"{PROJECTS}?limit=2&offset=2", 3)
    )
    respx.get(PROJECTS, params={"limit": "2", "offset": "2"}).respond(
        json=_page(range(2, 3), None, 3)
    )
    with ValohaiClient(HOST, TEST_TOKEN) as client:
        pages = list(client.iter_projects())
    assert [[p["id"] for p in page.results] for page in pages] == [["0", "1"], ["2"]]
    assert [page.total for page in pages] == [3, 3]
    for call in respx.calls:
        assert call.request.headers["Authorization"] == f"Token {TEST_TOKEN}"
        assert call.request.headers["Accept"] == "application/json"
        assert call.request.headers["User-Agent"].startswith("vh-lite/")


@respx.mock
def test_pagination_falls_back_to_offsets_when_next_is_missing() -> None:
    respx.get(PROJECTS, params={"offset": "0"}).respond(json=_page(range(2), None, 4))
    respx.get(PROJECTS, params={"offset": "2"}).respond(json=_page(range(2, 4), None, 4))
    with ValohaiClient(HOST, TEST_TOKEN) as client:
        assert sum(len(page.results) for page in client.iter_projects()) == 4


@respx.mock
def test_foreign_next_link_is_refused_and_never_sees_the_token() -> None:
    respx.get(PROJECTS).respond(json=_page(range(2), "https://evil.test/steal?offset=2", 4))
    evil = respx.get("https://evil.test/steal").respond(json=_page(range(0), None, 0))
    with ValohaiClient(HOST, TEST_TOKEN) as client, pytest.raises(ApiError, match="refusing"):
        list(client.iter_projects())
    assert not evil.called


@respx.mock
def test_cross_origin_redirect_is_not_followed() -> None:
    respx.get(f"{HOST}/api/v0/users/me/").respond(301, headers={"Location": "https://evil.test/"})
    evil = respx.get("https://evil.test/").respond(json={})
    with ValohaiClient(HOST, TEST_TOKEN) as client, pytest.raises(ApiError, match="redirected"):
        client.me()
    assert not evil.called


@respx.mock
def test_same_origin_redirect_is_followed() -> None:
    respx.get(f"{HOST}/api/v0/users/me").respond(301, headers={"Location": "/api/v0/users/me/"})
    respx.get(f"{HOST}/api/v0/users/me/").respond(json={"id": 1, "username": "u"})
    with ValohaiClient(HOST, TEST_TOKEN) as client:
        body = client.request("GET", f"{HOST}/api/v0/users/me")
    assert body == {"id": 1, "username": "u"}


@respx.mock
def test_looping_pagination_is_an_error() -> None:
    respx.get(PROJECTS).respond(json=_page(range(1), f"{PROJECTS}?page=2", 9))
    with ValohaiClient(HOST, TEST_TOKEN) as client, pytest.raises(ApiError, match="loops"):
        list(client.iter_projects())


@respx.mock
@pytest.mark.parametrize(
    ("response", "error", "text"),
    [
        (httpx.Response(401, json={"detail": "Invalid token."}), AuthError, "401 Unauthorized"),
        (httpx.Response(403, json={"detail": "Nope."}), AuthError, "Nope."),
        (httpx.Response(404, json={"detail": "Not found."}), ApiError, "404 Not Found"),
        (httpx.Response(502, html="<h1>Bad</h1>"), ApiError, "502 Bad Gateway"),
        (httpx.Response(200, text="{trunc"), ApiError, "not valid JSON"),
        (httpx.Response(200, json={"results": "nope"}), ApiError, "not a paginated list"),
    ],
)
def test_error_mapping(response: httpx.Response, error: type[Exception], text: str) -> None:
    respx.get(PROJECTS).mock(return_value=response)
    with ValohaiClient(HOST, TEST_TOKEN) as client, pytest.raises(error, match=text) as info:
        list(client.iter_projects())
    assert "<h1>" not in str(info.value)


@respx.mock
def test_transport_errors_become_network_errors() -> None:
    respx.get(PROJECTS).mock(side_effect=httpx.ConnectTimeout("slow"))
    fast = ClientSettings(timeout=3, backoff=0.001)
    with ValohaiClient(HOST, TEST_TOKEN, settings=fast) as client:
        with pytest.raises(NetworkError, match="did not answer within 3 s"):
            list(client.iter_projects())
    refused = respx.get(PROJECTS).mock(
        side_effect=httpx.ConnectError("[Errno 111] Connection refused")
    )
    with ValohaiClient(HOST, TEST_TOKEN, settings=fast) as client:
        with pytest.raises(NetworkError, match="refused"):
            list(client.iter_projects())
    # One route: the timeout was tried once (never retried, so --timeout bounds the wait),
    # the refused connection four times (it may come back).
    assert refused.call_count == 1 + 4


def test_repr_never_shows_the_token() -> None:
    assert TEST_TOKEN not in repr(ValohaiClient(HOST, TEST_TOKEN))


def test_real_server_pagination_with_small_cap() -> None:
    with Emulator(EmulatorConfig(token=TEST_TOKEN, projects=95, page_size=10)) as emu:
        with ValohaiClient(emu.base_url, TEST_TOKEN) as client:
            ids = [p["id"] for page in client.iter_projects() for p in page.results]
            first = next(client.iter_projects(page_size=5))
            requests_before = len(emu.requests)
            pages = client.iter_projects()
            next(pages)  # pages are fetched lazily: one request per page consumed
            assert len(emu.requests) == requests_before + 1
    assert len(ids) == 95
    assert len(set(ids)) == 95
    assert len(first.results) == 5
    assert first.total == 95


def test_real_server_get_token() -> None:
    with Emulator(EmulatorConfig(token=TEST_TOKEN)) as emu, ValohaiClient(emu.base_url) as client:
        assert client.get_token("demo", "demo-password") == TEST_TOKEN
        with pytest.raises(ApiError) as info:
            client.get_token("twofa", "x")
        assert info.value.code == "has_2fa"


@respx.mock
def test_relative_next_link_is_resolved_against_the_host() -> None:
    respx.get(PROJECTS, params={"offset": "0"}).respond(
        json=_page(range(1), "/api/v0/projects/?limit=1&offset=1", 2)
    )
    respx.get(PROJECTS, params={"offset": "1"}).respond(json=_page(range(1, 2), None, 2))
    with ValohaiClient(HOST, TEST_TOKEN) as client:
        assert sum(len(page.results) for page in client.iter_projects()) == 2


def test_concurrent_pages_arrive_in_order_and_complete() -> None:
    config = EmulatorConfig(token=TEST_TOKEN, projects=950, page_size=100, latency_ms=5)
    with Emulator(config) as emu, ValohaiClient(emu.base_url, TEST_TOKEN) as client:
        sequential = [p["id"] for page in client.iter_projects() for p in page.results]
        emu.requests.clear()
        concurrent = [
            p["id"] for page in client.iter_projects(max_concurrency=8) for p in page.results
        ]
        offsets = sorted(int(r.query["offset"][0]) for r in emu.requests)
    assert concurrent == sequential
    assert len(concurrent) == 950
    assert offsets == list(range(0, 950, 100))  # every page once, by offset


def test_concurrency_adapts_to_the_servers_page_cap() -> None:
    config = EmulatorConfig(token=TEST_TOKEN, projects=95, page_size=10)  # caps limit at 10
    with Emulator(config) as emu, ValohaiClient(emu.base_url, TEST_TOKEN) as client:
        ids = [p["id"] for page in client.iter_projects(max_concurrency=4) for p in page.results]
        limits = {r.query["limit"][0] for r in emu.requests[1:]}
    assert len(ids) == 95
    assert len(set(ids)) == 95
    assert limits == {"10"}


def test_stop_after_bounds_the_requests() -> None:
    config = EmulatorConfig(token=TEST_TOKEN, projects=1000, page_size=100)
    with Emulator(config) as emu, ValohaiClient(emu.base_url, TEST_TOKEN) as client:
        pages = list(client.iter_projects(max_concurrency=8, stop_after=250))
        requests = len(emu.requests)
    assert sum(len(p.results) for p in pages) == 300  # whole pages; the caller trims
    assert requests == 3


@respx.mock
def test_a_failing_page_stops_a_concurrent_listing() -> None:
    respx.get(PROJECTS, params={"offset": "0"}).respond(
        json=_page(range(2), f"{PROJECTS}?limit=2&offset=2", 6)
    )
    respx.get(PROJECTS, params={"offset": "2"}).respond(json=_page(range(2, 4), None, 6))
    respx.get(PROJECTS, params={"offset": "4"}).respond(503)
    with ValohaiClient(HOST, TEST_TOKEN) as client, pytest.raises(ApiError, match="503"):
        list(client.iter_projects(max_concurrency=4))


@respx.mock
def test_compressed_bodies_are_decoded() -> None:
    import gzip

    body = json.dumps({"id": 1, "username": "u"}).encode()
    respx.get(f"{HOST}/api/v0/users/me/").respond(
        content=gzip.compress(body),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    with ValohaiClient(HOST, TEST_TOKEN) as client:
        assert client.me() == {"id": 1, "username": "u"}


@respx.mock
def test_retry_after_beyond_the_cap_fails_at_once_and_says_how_long() -> None:
    route = respx.get(PROJECTS).respond(
        429, json={"detail": "slow down"}, headers={"Retry-After": "100000"}
    )
    with ValohaiClient(HOST, TEST_TOKEN) as client, pytest.raises(ApiError) as info:
        list(client.iter_projects())
    assert route.call_count == 1
    assert info.value.hint == "the server asks to wait 100000 s before trying again"


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@respx.mock
def test_non_object_results_are_an_error() -> None:
    respx.get(PROJECTS).respond(json={"count": 2, "next": None, "results": [{"id": 1}, "x"]})
    with ValohaiClient(HOST, TEST_TOKEN) as client, pytest.raises(ApiError, match="not an obj"):
        list(client.iter_projects())


def test_an_offset_in_the_path_is_respected() -> None:
    with Emulator(EmulatorConfig(token=TEST_TOKEN, projects=250)) as emu:
        with ValohaiClient(emu.base_url, TEST_TOKEN) as client:
            url = f"{emu.base_url}/api/v0/projects/?offset=200"
            for concurrency in (1, 8):
                pages = client.iter_pages(url, max_concurrency=concurrency)
                ids = [p["id"] for page in pages for p in page.results]
                assert len(ids) == 50
                assert len(set(ids)) == 50


def test_a_list_that_changes_midway_is_an_error() -> None:
    config = EmulatorConfig(token=TEST_TOKEN, projects=250, latency_ms=50)
    with Emulator(config) as emu, ValohaiClient(emu.base_url, TEST_TOKEN) as client:
        pages = client.iter_projects(max_concurrency=2)
        next(pages)
        emu.config.projects = 260  # someone creates projects while we read
        with pytest.raises(ApiError, match="changed while it was being read"):
            list(pages)


def test_a_trickling_server_is_cut_off_at_the_deadline() -> None:
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def trickle() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n"
            )
            for _ in range(60):
                try:
                    conn.sendall(b" ")
                except OSError:
                    return
                time.sleep(0.1)

    threading.Thread(target=trickle, daemon=True).start()
    host = f"http://127.0.0.1:{server.getsockname()[1]}"
    started = time.monotonic()
    with ValohaiClient(host, TEST_TOKEN, settings=ClientSettings(timeout=1)) as client:
        with pytest.raises(NetworkError, match="did not answer within 1 s"):
            client.me()
    assert time.monotonic() - started < 3
    server.close()
