"""Each command's run_<verb>(opts, app) called directly, with injected collaborators: the
emulator over real HTTP, a fake client, an in-memory keyring, a config directory of its own.
No Typer, no process: this is how a command's logic is tested without its flags."""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_TOKEN, MemoryKeyring

from valohai_cli_lite.client import ClientSettings, Page
from valohai_cli_lite.commands.api import ApiOptions, run_api
from valohai_cli_lite.commands.auth import StatusOptions, run_logout, run_status, run_token
from valohai_cli_lite.commands.login import LoginOptions, run_login
from valohai_cli_lite.commands.records import ListOptions, ShowOptions, run_list, run_show
from valohai_cli_lite.context import AppContext, GlobalOptions, Services
from valohai_cli_lite.emulator.data import make_project
from valohai_cli_lite.emulator.server import Emulator
from valohai_cli_lite.errors import ApiError, AuthError, VhLiteError
from valohai_cli_lite.kinds.projects import PROJECT
from valohai_cli_lite.kinds.query import ListQuery, SortKey, owned_by
from valohai_cli_lite.output.render import OutputFormat
from valohai_cli_lite.terminal.iostreams import IOStreams


class App:
    """An AppContext over test streams, plus the streams to read back."""

    def __init__(
        self, tmp_path: Path, environ: dict[str, str], stdin: str = "", **services: Any
    ) -> None:
        self.keyring = MemoryKeyring()
        self.home = tmp_path / "home"  # caches go here, not to the real ~/.cache
        environ = {"HOME": str(self.home), "XDG_CACHE_HOME": str(self.home / ".cache"), **environ}
        self.io, _, self.out, self.err = IOStreams.test(environ=environ, stdin=stdin)
        self.context = AppContext(
            self.io,
            GlobalOptions(),
            Services(environ=environ, config_dir=tmp_path / "config",
                     keyring=lambda _recorded: self.keyring, **services),
        )  # fmt: skip

    @property
    def stdout(self) -> str:
        return self.out.getvalue()


@pytest.fixture
def served(tmp_path: Path, emulator: Emulator) -> App:
    return App(tmp_path, {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url})


def test_run_list_against_the_emulator(served: App, emulator: Emulator) -> None:
    by_acme = (lambda project: owned_by(PROJECT, project, {"acme-org"}),)
    query = ListQuery(by_acme, sort=SortKey.parse("-name", PROJECT), limit=3)
    run_list(ListOptions(PROJECT, OutputFormat.json, ["name"], query), served.context)
    names = [p["name"] for p in json.loads(served.stdout)]
    assert len(names) == 3 and names == sorted(names, reverse=True)
    assert len(emulator.requests) == 3  # filters need every page
    # What the list looked like is remembered in the (isolated) user cache, for next time.
    remembered = json.loads((served.home / ".cache" / "vh-lite" / "paging.json").read_text())
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


def test_run_api_and_token(served: App) -> None:
    run_api(ApiOptions("users/me/", "GET", {}), served.context)
    assert json.loads(served.stdout)["username"] == "demo"
    token_app = App(Path(served.context.config.directory).parent,
                    {"VH_API_TOKEN": TEST_TOKEN})  # fmt: skip
    run_token(token_app.context)
    assert token_app.stdout == TEST_TOKEN + "\n"


def test_login_status_logout_with_an_injected_keyring(tmp_path: Path, emulator: Emulator) -> None:
    app = App(tmp_path, {}, stdin=TEST_TOKEN + "\n")
    run_login(LoginOptions(host=emulator.base_url, with_token=True), app.context)
    assert list(app.keyring.items.values()) == [TEST_TOKEN]
    assert "Token stored in the system keyring (conftest)" in app.err.getvalue()
    profile = app.context.config.get("default")
    assert profile is not None and profile.token_store == "keyring"

    run_status(StatusOptions(as_json=True), app.context)
    report = json.loads(app.stdout)
    assert (report["username"], report["token_valid"], report["token_source"]) == (
        "demo", True, "keyring",
    )  # fmt: skip

    emulator.config.token = "rotated"
    with pytest.raises(VhLiteError, match="rejected") as rejected:
        run_status(StatusOptions(), app.context)
    assert rejected.value.hint == (
        "the stored token may have expired or been revoked; log in again: vh-lite login"
    )

    run_logout(app.context)
    assert app.keyring.items == {}
    with pytest.raises(AuthError, match="not logged in"):
        run_token(app.context)
