"""The installed vh-lite against minihai, Valohai's own small implementation of its API: a real
server no one here wrote, with words and shapes of its own (FastAPI's, not DRF's)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import InstalledCli
from minihai_support import PASSWORD, USER, minihai


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with minihai(tmp_path_factory.mktemp("minihai")) as url:
        yield url


def test_wrong_password_and_unknown_user_get_minihais_own_words(
    installed: InstalledCli, server: str
) -> None:
    wrong = installed.password_login(server, USER, "not-the-password")
    assert wrong.returncode == 4
    assert wrong.stderr == "vh-lite: error: login failed: Invalid Minihai password\n"
    unknown = installed.password_login(server, "mallory", PASSWORD)
    assert unknown.returncode == 4
    assert "login failed: Invalid Minihai username" in unknown.stderr


def test_a_rejected_body_names_the_missing_fields(installed: InstalledCli, server: str) -> None:
    assert installed.password_login(server, USER, PASSWORD).returncode == 0
    posted = installed.run("api", "executions/", "-X", "POST", "-f", "title=x")
    assert posted.returncode == 1 and posted.stdout == ""
    line = posted.stderr.strip()
    assert line.count("\n") == 0 and "422" in line
    for field in ("commit: field required", "project: field required", "step: field required"):
        assert field in line


def test_environments_and_an_empty_execution_list(installed: InstalledCli, server: str) -> None:
    assert installed.password_login(server, USER, PASSWORD).returncode == 0
    environments = installed.run("environments", "list")
    assert environments.returncode == 0
    assert environments.stdout.startswith("Minihai Environment\tminihai-environment\t")
    executions = installed.run("executions", "list", "--project", "minihai-project", "--json")
    assert (executions.returncode, json.loads(executions.stdout)) == (0, [])
    me = json.loads(installed.run("api", "api/v0/users/me/").stdout)
    assert me["username"] == "minihai-user"
    assert not any(Path(installed.home).rglob("*minihai-data*"))  # minihai kept to its dir
