"""The Valohai API emulator, spoken to over real HTTP the way any client would."""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from valohai_cli_lite.emulator.data import project_id
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig

TOKEN = "emulator-test-token"
REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_FIELDS = {
    "id", "name", "description", "owner", "ctime", "mtime", "url", "urls",
    "execution_count", "running_execution_count", "queued_execution_count",
    "last_execution_ctime",
}  # fmt: skip

# Proxy settings in the environment must not divert loopback requests.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        assert self.headers.get_content_type() == "application/json"
        return json.loads(self.body)


def call(
    url: str,
    *,
    method: str = "GET",
    token: str | None = TOKEN,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    request = urllib.request.Request(url, data=data, method=method)
    if token is not None:
        request.add_header("Authorization", f"Token {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with _OPENER.open(request, timeout=10) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers, error.read())


def post_form(emu: Emulator, fields: dict[str, str]) -> Answer:
    return call(
        f"{emu.base_url}/api/v0/get-token/",
        method="POST",
        token=None,
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def post_json(emu: Emulator, payload: object) -> Answer:
    return call(
        f"{emu.base_url}/api/v0/get-token/",
        method="POST",
        token=None,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(token=TOKEN, projects=250, page_size=100)) as running:
        yield running


def projects_url(emu: Emulator, query: str = "") -> str:
    return f"{emu.base_url}/api/v0/projects/" + (f"?{query}" if query else "")


def all_pages(url: str) -> list[dict[str, Any]]:
    pages = []
    next_url: str | None = url
    while next_url is not None:
        answer = call(next_url)
        assert answer.status == 200
        pages.append(answer.json())
        next_url = pages[-1]["next"]
        assert len(pages) < 50, "next links never end"
    return pages


# --- pagination -------------------------------------------------------------------------


def test_next_links_walk_every_project_exactly_once(emu: Emulator) -> None:
    pages = all_pages(projects_url(emu))

    assert [len(page["results"]) for page in pages] == [100, 100, 50]
    assert all(page["count"] == 250 for page in pages)
    ids = [project["id"] for page in pages for project in page["results"]]
    assert len(set(ids)) == 250
    assert pages[0]["previous"] is None
    assert pages[1]["previous"] == projects_url(emu, "limit=100")
    assert pages[2]["previous"] == projects_url(emu, "limit=100&offset=100")
    assert [page["next"] for page in pages] == [
        projects_url(emu, "limit=100&offset=100"),
        projects_url(emu, "limit=100&offset=200"),
        None,
    ]


def test_limit_is_capped_at_the_page_size_like_a_real_server(emu: Emulator) -> None:
    page = call(projects_url(emu, "limit=9000")).json()

    assert page["count"] == 250
    assert len(page["results"]) == 100
    assert page["next"] == projects_url(emu, "limit=100&offset=100")


def test_max_limit_sets_the_cap_apart_from_the_default_page_size(emu: Emulator) -> None:
    emu.config.max_limit = 200

    assert len(call(projects_url(emu)).json()["results"]) == 100
    assert len(call(projects_url(emu, "limit=9000")).json()["results"]) == 200
    assert len(call(projects_url(emu, "limit=30")).json()["results"]) == 30


def test_offset_and_limit_select_a_window_and_keep_other_parameters(emu: Emulator) -> None:
    everything = [p["id"] for page in all_pages(projects_url(emu)) for p in page["results"]]

    page = call(projects_url(emu, "offset=120&limit=50&ordering=name")).json()

    assert [p["id"] for p in page["results"]] == everything[120:170]
    assert page["next"] == projects_url(emu, "limit=50&offset=170&ordering=name")
    assert page["previous"] == projects_url(emu, "limit=50&offset=70&ordering=name")
    # Stepping back to the start drops `offset` instead of sending offset=0, as DRF does.
    assert call(projects_url(emu, "offset=30&limit=50")).json()["previous"] == projects_url(
        emu, "limit=50"
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
    answer = call(projects_url(emu, query))

    assert answer.status == 200
    results = answer.json()["results"]
    assert len(results) == size
    assert results[0]["id"] == project_id(first_index)


def test_offset_past_the_end_is_an_empty_last_page(emu: Emulator) -> None:
    page = call(projects_url(emu, "offset=400")).json()

    assert page["count"] == 250
    assert page["results"] == []
    assert page["next"] is None


def test_zero_projects(emu: Emulator) -> None:
    emu.config.projects = 0

    assert call(projects_url(emu)).json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }


def test_links_point_at_the_host_the_client_addressed(emu: Emulator) -> None:
    host = f"localhost:{emu.port}"
    page = call(projects_url(emu), headers={"Host": host}).json()

    assert page["next"] == f"http://{host}/api/v0/projects/?limit=100&offset=100"
    first = page["results"][0]
    assert first["url"] == f"http://{host}/api/v0/projects/{first['id']}/"
    assert first["urls"]["display"] == f"http://{host}/p/demo/{first['name']}/"


def test_large_project_counts_are_cheap(emu: Emulator) -> None:
    emu.config.projects = 10_000
    started = time.monotonic()

    page = call(projects_url(emu, "offset=9990")).json()

    assert page["count"] == 10_000
    assert len(page["results"]) == 10
    assert page["results"][-1]["id"] == project_id(9999)
    assert time.monotonic() - started < 2


# --- project data -----------------------------------------------------------------------


def test_projects_have_every_documented_field_and_awkward_values(emu: Emulator) -> None:
    projects = [p for page in all_pages(projects_url(emu)) for p in page["results"]]

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
    def first_page() -> Any:
        with Emulator(EmulatorConfig(token=TOKEN, projects=5)) as running:
            page = call(projects_url(running)).json()
            # Absolute URLs carry the (random) port; everything else must be identical.
            return json.loads(json.dumps(page).replace(running.base_url, "BASE"))

    assert first_page() == first_page()


def test_project_detail_matches_the_list_entry(emu: Emulator) -> None:
    listed = call(projects_url(emu, "offset=42&limit=1")).json()["results"][0]

    for suffix in ("/", ""):
        answer = call(f"{emu.base_url}/api/v0/projects/{listed['id']}{suffix}")
        assert answer.status == 200
        assert answer.json() == listed
    assert listed["url"] == f"{emu.base_url}/api/v0/projects/{listed['id']}/"


@pytest.mark.parametrize(
    "project",
    [
        "00000000-0000-0000-0000-000000000000",
        "not-a-uuid",
        project_id(300),  # shaped right, but beyond the 250 projects that exist
    ],
)
def test_missing_project_is_404(emu: Emulator, project: str) -> None:
    answer = call(f"{emu.base_url}/api/v0/projects/{project}/")

    assert answer.status == 404
    assert answer.json() == {"detail": "Not found."}


# --- authentication ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["users/me/", "projects/", f"projects/{project_id(0)}/"])
@pytest.mark.parametrize(
    ("token", "detail"),
    [
        (None, "Authentication credentials were not provided."),
        ("wrong-token", "Invalid token."),
    ],
)
def test_requests_without_the_token_are_401(
    emu: Emulator, path: str, token: str | None, detail: str
) -> None:
    answer = call(f"{emu.base_url}/api/v0/{path}", token=token)

    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == "Token"
    assert answer.json() == {"detail": detail}


def test_token_changes_take_effect_immediately(emu: Emulator) -> None:
    emu.config.token = "rotated"

    assert call(f"{emu.base_url}/api/v0/users/me/").status == 401
    assert call(f"{emu.base_url}/api/v0/users/me/", token="rotated").status == 200


def test_users_me(emu: Emulator) -> None:
    answer = call(f"{emu.base_url}/api/v0/users/me/")

    assert answer.status == 200
    assert answer.json() == {
        "id": 1337,
        "username": "demo",
        "email": "demo@example.com",
        "first_name": "Demo",
        "last_name": "User",
    }


def test_get_token_with_a_form(emu: Emulator) -> None:
    answer = post_form(emu, {"username": "demo", "password": "demo-password"})

    assert answer.status == 200
    assert answer.json() == {"token": TOKEN}


def test_get_token_with_json(emu: Emulator) -> None:
    answer = post_json(emu, {"username": "demo", "password": "demo-password"})

    assert answer.status == 200
    assert answer.json() == {"token": TOKEN}


@pytest.mark.parametrize(
    ("username", "code"), [("twofa", "has_2fa"), ("sso", "has_external_identity")]
)
def test_get_token_refuses_accounts_that_need_a_token(
    emu: Emulator, username: str, code: str
) -> None:
    answer = post_form(emu, {"username": username, "password": "anything"})

    assert answer.status == 400
    body = answer.json()
    assert body["code"] == code
    assert "token" in body["message"]


@pytest.mark.parametrize(
    "fields",
    [
        {"username": "demo", "password": "wrong"},
        {"username": "demo", "password": "demo-password "},
        {"username": "nobody", "password": "demo-password"},
    ],
)
def test_get_token_rejects_wrong_credentials(emu: Emulator, fields: dict[str, str]) -> None:
    answer = post_form(emu, fields)

    assert answer.status == 400
    assert answer.json() == {
        "non_field_errors": [
            {"message": "Unable to log in with provided credentials.", "code": "authorization"}
        ]
    }


def test_get_token_names_missing_and_blank_fields(emu: Emulator) -> None:
    missing = post_json(emu, {})
    blank = post_form(emu, {"username": "", "password": "x"})

    required = [{"message": "This field is required.", "code": "required"}]
    assert missing.status == 400
    assert missing.json() == {"username": required, "password": required}
    assert blank.status == 400
    assert blank.json() == {
        "username": [{"message": "This field may not be blank.", "code": "blank"}]
    }


def test_get_token_only_accepts_post(emu: Emulator) -> None:
    answer = call(f"{emu.base_url}/api/v0/get-token/", token=None)

    assert answer.status == 405
    assert answer.json() == {"detail": 'Method "GET" not allowed.'}


# --- everything else --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v0/nothing-here/", "/api/v0/", "/", "/api/v1/projects/"])
def test_unknown_paths_are_404(emu: Emulator, path: str) -> None:
    answer = call(emu.base_url + path)

    assert answer.status == 404
    assert answer.json() == {"detail": "Not found."}


def test_wrong_method_is_405(emu: Emulator) -> None:
    answer = call(projects_url(emu), method="DELETE")

    assert answer.status == 405
    assert answer.json() == {"detail": 'Method "DELETE" not allowed.'}


def test_requests_are_recorded(emu: Emulator) -> None:
    post_form(emu, {"username": "demo", "password": "demo-password"})
    call(projects_url(emu, "limit=5&limit=7"), headers={"X-Probe": "yes"})

    token_call, list_call = emu.requests
    assert (token_call.method, token_call.path) == ("POST", "/api/v0/get-token/")
    assert token_call.body == b"username=demo&password=demo-password"
    assert (list_call.method, list_call.path) == ("GET", "/api/v0/projects/")
    assert list_call.query == {"limit": ["5", "7"]}
    assert list_call.headers["authorization"] == f"Token {TOKEN}"
    assert list_call.headers["x-probe"] == "yes"


def test_injected_failures_are_answered_in_order(emu: Emulator) -> None:
    emu.config.fail_next = [0, 503, 429]
    url = f"{emu.base_url}/api/v0/users/me/"

    normal, unavailable, throttled, after = (call(url) for _ in range(4))

    assert normal.status == 200
    assert unavailable.status == 503
    assert unavailable.headers.get_content_type() == "text/html"
    assert b"503 Service Unavailable" in unavailable.body
    assert throttled.status == 429
    assert throttled.headers["Retry-After"] == "1"
    assert "throttled" in throttled.json()["detail"]
    assert after.status == 200
    assert emu.config.fail_next == []


def test_latency_delays_every_answer(emu: Emulator) -> None:
    emu.config.latency_ms = 300
    started = time.monotonic()

    call(f"{emu.base_url}/api/v0/users/me/")

    assert time.monotonic() - started >= 0.3


def test_connections_are_kept_alive_and_quick(emu: Emulator) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    headers = {"Authorization": f"Token {TOKEN}"}
    try:
        connection.request("GET", "/api/v0/users/me/", headers=headers)
        first = connection.getresponse()
        first.read()
        sock = connection.sock
        started = time.monotonic()
        for _ in range(20):
            connection.request("GET", "/api/v0/users/me/", headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 200
        elapsed = time.monotonic() - started
        reused = connection.sock is sock
    finally:
        connection.close()

    assert first.getheader("Content-Length") is not None
    assert sock is not None
    assert reused, "the server closed the connection, so the client had to reconnect"
    # Without TCP_NODELAY each keep-alive answer stalls ~40 ms on the delayed ACK.
    assert elapsed < 20 * 0.03


def test_stop_refuses_further_connections() -> None:
    emu = Emulator(EmulatorConfig(token=TOKEN)).start()
    url = f"{emu.base_url}/api/v0/users/me/"
    assert call(url).status == 200

    emu.stop()

    with pytest.raises(urllib.error.URLError):
        call(url)


# --- the command line -------------------------------------------------------------------


def _start_cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "valohai_cli_lite.emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 20)
    if not ready:
        proc.kill()
        pytest.fail("the emulator printed no URL within 20 s")
    return proc, proc.stdout.readline()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_command_line_prints_the_url_serves_and_exits_cleanly(
    stop_signal: signal.Signals,
) -> None:
    proc, line = _start_cli(
        "--port", "0", "--token", "cli-token", "--projects", "7", "--page-size", "3"
    )
    try:
        assert line.endswith("\n")
        base_url = line.strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert not base_url.endswith("/")

        me = call(f"{base_url}/api/v0/users/me/", token="cli-token")
        page = call(f"{base_url}/api/v0/projects/?limit=100", token="cli-token").json()
        assert me.status == 200
        assert me.json()["username"] == "demo"
        assert (page["count"], len(page["results"])) == (7, 3)
    finally:
        proc.send_signal(stop_signal)
        stdout, stderr = proc.communicate(timeout=20)

    assert proc.returncode == 0
    assert stdout == ""  # the URL was the only line
    assert stderr == ""  # quiet without --verbose, and no traceback


def test_command_line_verbose_logs_requests_to_stderr() -> None:
    proc, line = _start_cli("--verbose")
    try:
        call(f"{line.strip()}/api/v0/users/me/", token="emulator-token")
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=20)

    assert proc.returncode == 0
    assert '"GET /api/v0/users/me/ HTTP/1.1" 200' in stderr
    assert "Traceback" not in stderr
