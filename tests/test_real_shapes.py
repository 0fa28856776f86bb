"""Real-shaped answers from the emulator's modes (docs/emulator.md), through the whole
command line in-process: what public Valohai sources show, not only the emulator's defaults."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from conftest import TEST_TOKEN, InProcessCli

from valohai_cli_lite.emulator.data import make_project, make_project_detail, project_id
from valohai_cli_lite.emulator.server import Emulator


def screen(text: str) -> str:
    """What a person reads: SGR codes and OSC 8 link wrappers removed."""
    return re.sub(r"\x1b\]8;[^\x1b]*\x1b\\|\x1b\[[0-9;]*m", "", text)


def test_show_reads_the_detail_objects_execution_summary(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    detail = make_project_detail(4, emulator.base_url)
    assert detail["execution_count"] is None  # as in the published sample
    shown = cli.run(
        "projects", "show", project_id(4), env={"TERM": "xterm"}, stdout_tty=True, stderr_tty=True
    )
    assert shown.returncode == 0, shown.stderr
    rows = {
        line.strip("│ ").split("  ", 1)[0]: line.strip("│ ").split("  ", 1)[-1].strip()
        for line in screen(shown.stdout).splitlines()
    }
    summary = detail["execution_summary"]
    assert rows["Executions"] == str(summary["count"])
    assert rows["Running"] == str(summary["started_count"])
    assert rows["Queued"] == str(summary["queued_count"])
    assert rows["Repository"] == f"{detail['repository']['url']} ({detail['repository']['ref']})"
    assert rows["Environment"] == "DATASET_VERSION, API_KEY (secret)"
    assert detail["environment_variables"]["DATASET_VERSION"]["value"] not in shown.stdout
    # Scripts get the object as the server sent it, every field.
    as_json = cli.run("projects", "show", project_id(4), "--json")
    assert json.loads(as_json.stdout) == detail
    plain = cli.run("projects", "show", project_id(4)).stdout.splitlines()
    assert f"execution_count\t{summary['count']}" in plain


def test_integer_owners_show_and_filter(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.config.legacy_data = True
    plain = cli.run("projects", "list", "--limit", "5").stdout.splitlines()
    assert [line.split("\t")[1] for line in plain] == ["1337", "1337", "1337", "1337", "42"]
    by_id = cli.run("projects", "list", "--owner", "42", "--json")
    owners = {p["owner"] for p in json.loads(by_id.stdout)}
    assert owners == {42} and len(json.loads(by_id.stdout)) == 50
    as_csv = cli.run("projects", "list", "--limit", "5", "--format", "csv").stdout
    in_csv = [row["owner.username"] for row in csv.DictReader(io.StringIO(as_csv))]
    assert in_csv == ["1337"] * 4 + ["42"]
    table = cli.run(
        "projects", "list", "--limit", "5", env={"TERM": "xterm"}, stdout_tty=True, stderr_tty=True
    )
    assert re.search(r"project-0005\s+42\s", screen(table.stdout))
    shown = cli.run("projects", "show", "42/project-0005", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == project_id(4)
    # With usernames, the id matches too.
    emulator.config.legacy_data = False
    assert len(json.loads(cli.run("projects", "list", "--owner", "42", "--json").stdout)) == 50


def test_relative_links_from_the_emulators_mode(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.config.relative_urls = True
    table = cli.run("projects", "list", "--limit", "1", env={"TERM": "xterm"},
                    stdout_tty=True, stderr_tty=True)  # fmt: skip
    links = re.findall(r"\x1b\]8;id=[^;]*;([^\x1b]*)\x1b\\", table.stdout)
    assert links == [f"{emulator.base_url}/p/demo/project-0001/"]
    as_json = json.loads(cli.run("projects", "list", "--limit", "1", "--json").stdout)
    assert as_json[0]["urls"]["display"] == "/p/demo/project-0001/"


def test_relative_links_are_made_absolute_for_people_only(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator
) -> None:
    relative = {**make_project(0, ""), "id": "aaaaaaaa-0000-0000-0000-000000000001",
                "name": "minihai-style", "url": "/api/v0/projects/x/",
                "urls": {"display": "/p/alice/minihai-style/"}}  # fmt: skip
    empty = {**relative, "id": "aaaaaaaa-0000-0000-0000-000000000002", "name": "no-urls",
             "urls": {}}  # fmt: skip
    emulator.config.projects = 0
    emulator.config.extra_projects = [relative, empty]
    table = cli.run("projects", "list", env={"TERM": "xterm"}, stdout_tty=True, stderr_tty=True)
    links = re.findall(r"\x1b\]8;id=[^;]*;([^\x1b]*)\x1b\\", table.stdout)
    assert set(links) == {f"{emulator.base_url}/p/alice/minihai-style/"}  # none for no-urls
    shown = cli.run(
        "projects", "show", relative["id"], env={"TERM": "dumb"}, stdout_tty=True, stderr_tty=True
    )
    assert f"{emulator.base_url}/p/alice/minihai-style/" in shown.stdout
    as_json = json.loads(cli.run("projects", "list", "--json").stdout)
    assert as_json[0]["urls"]["display"] == "/p/alice/minihai-style/"  # as the server sent it


@pytest.mark.parametrize("status", [400, 401, 403])
@pytest.mark.parametrize(("user", "wording"), [("twofa", "two-factor"), ("sso", "single sign-on")])
def test_two_factor_and_sso_answers_lead_to_the_token_page_on_any_status(
    cli: InProcessCli, emulator: Emulator, status: int, user: str, wording: str
) -> None:
    emulator.config.refusal_status = status
    piped = cli.password_login(emulator.base_url, user, "whatever")
    assert piped.returncode == 4
    assert wording in piped.stderr and f"{emulator.base_url}/auth/tokens/" in piped.stderr
    assert f"vh-lite login --host {emulator.base_url} --with-token" in piped.stderr
    assert "log in again" not in piped.stderr
    # On a terminal the token is asked for, hidden, right away.
    typed = cli.run("login", "--host", emulator.base_url, "--username", user,
                    input=f"whatever\n{TEST_TOKEN}\n", stdin_tty=True)  # fmt: skip
    assert typed.returncode == 0, typed.stderr
    assert "Paste the API token (hidden)" in typed.stderr


@pytest.mark.parametrize("mode", ["bare", "ignore_paging"])
def test_envelopes_other_servers_send_list_everything(
    cli: InProcessCli, env: dict[str, str], emulator: Emulator, mode: str
) -> None:
    if mode == "bare":
        emulator.config.envelope = "bare"  # a test double's {"results": [...]}
    else:
        emulator.config.ignore_paging = True  # the docs' sample: limit and offset ignored
    for args in (["--json"], ["--json", "--max-concurrency", "1"], ["--format", "jsonl"]):
        listing = cli.run("projects", "list", *args)
        assert listing.returncode == 0, listing.stderr
        text = listing.stdout
        ids = [p["id"] for p in json.loads(text)] if "--json" in args else text.splitlines()
        assert len(ids) == 250
    assert len(emulator.requests) == 3  # one request each


def test_expiry_is_named_in_logout_and_401_messages(cli: InProcessCli, emulator: Emulator) -> None:
    assert cli.login(emulator.base_url).returncode == 0
    emulator.config.token = "rotated-or-expired"
    rejected = cli.run("projects", "list")
    assert rejected.returncode == 4
    assert "may have expired or been revoked; log in again: vh-lite login" in rejected.stderr
    env_token = cli.run(
        "projects", "list", env={"VH_API_TOKEN": "old", "VH_HOST": emulator.base_url}
    )
    assert "the token in VH_API_TOKEN may have expired or been revoked" in env_token.stderr
    logout = cli.run("logout")
    assert "stays valid until it expires or you revoke it at" in logout.stderr
    assert "until you revoke it" not in logout.stderr
