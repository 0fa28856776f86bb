"""The end-to-end layer: the installed `vh-lite` script as a subprocess, against the emulator.

What only a real process shows: the console-script and `python -m` entry points, exit
codes through the launcher, output that cannot be written, closed pipes, signals, narrow
encodings, shell completion, and several processes sharing one config directory.
(Real keyring: auth/test_keyring_secret_service.py; terminals:
terminal/test_interactive_login.py and terminal/test_terminal_table.py.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TEST_TOKEN, VH_LITE, InstalledCli

from valohai_cli_lite import __version__
from valohai_cli_lite.emulator.server import Emulator


@pytest.fixture
def served(installed: InstalledCli, emulator: Emulator) -> InstalledCli:
    """`installed` with the test token and the emulator in the environment."""
    installed.env.update(VH_API_TOKEN=TEST_TOKEN, VH_HOST=emulator.base_url)
    return installed


def test_a_day_in_the_life_through_the_installed_script(
    installed: InstalledCli, emulator: Emulator
) -> None:
    assert installed.run("projects", "list").returncode == 4  # not logged in
    login = installed.login(emulator.base_url)
    assert login.returncode == 0, login.stderr
    assert login.stdout == ""
    listing = installed.run("projects", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    assert len(json.loads(listing.stdout)) == 250
    assert installed.run("projects", "list", "--format", "yaml").returncode == 2
    emulator.config.token = "rotated-on-the-server"
    assert installed.run("auth", "status").returncode == 1
    assert installed.run("projects", "list").returncode == 4
    assert installed.run("logout").returncode == 0
    assert installed.run("logout").returncode == 1


# Loaded into the installed script through PYTHONPATH: every connection and name lookup
# the process makes goes to a log, whatever library makes it.
_RECORD_CONNECTIONS = """
import os, socket, sys
def _hook(event, args):
    if event == "socket.connect" and args[0].family in (socket.AF_INET, socket.AF_INET6):
        where = args[1][:2]
    elif event == "socket.getaddrinfo":
        where = args[:2]
    else:
        return
    with open(os.environ["CONNECTIONS_LOG"], "a") as log:
        log.write(f"{event} {where[0]} {where[1]}\\n")
sys.addaudithook(_hook)
"""


def test_no_telemetry_every_connection_goes_to_the_host(
    installed: InstalledCli, emulator: Emulator, tmp_path: Path
) -> None:
    """A user's day (version, help, login, every listing, show, status, logout) opens no
    connection and looks up no name but the configured host: no telemetry, no update check."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_RECORD_CONNECTIONS)
    log = tmp_path / "connections.log"
    installed.env.update(PYTHONPATH=str(hook), CONNECTIONS_LOG=str(log))
    project = "project-0001"
    days = [
        ["--version"], ["--help"], ["projects", "list"], ["projects", "list", "--json"],
        ["projects", "show", project], ["executions", "list", "--project", project],
        ["executions", "show", "1", "--project", project], ["environments", "list"],
        ["auth", "status"], ["auth", "list", "--check"], ["logout"],
    ]  # fmt: skip
    assert installed.login(emulator.base_url).returncode == 0
    for args in days:
        result = installed.run(*args)
        assert result.returncode == 0, (args, result.stderr)
    port = str(emulator.port)
    seen = log.read_text().splitlines()
    assert any(line.startswith("socket.connect 127.0.0.1 ") for line in seen)  # it records
    for line in seen:
        _event, host, where = line.split(" ")
        assert host == "127.0.0.1" and where == port, line


def test_version_on_both_paths(installed: InstalledCli) -> None:
    # The launcher answers a lone --version before Typer loads; with other options first,
    # the root command's eager option answers. Both say the same.
    for args in (["--version"], ["--no-color", "--version"]):
        result = installed.run(*args)
        assert (result.returncode, result.stdout) == (0, f"vh-lite {__version__}\n")


def test_python_dash_m_entry_point(installed: InstalledCli) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "valohai_cli_lite", "--version"],
        capture_output=True, text=True, env=installed.env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0
    assert proc.stdout == f"vh-lite {__version__}\n"


def test_auth_token_prints_the_token_for_scripts(
    installed: InstalledCli, emulator: Emulator
) -> None:
    assert installed.run("auth", "token").returncode == 4
    assert installed.login(emulator.base_url).returncode == 0
    result = subprocess.run(
        [str(VH_LITE), "auth", "token"], capture_output=True, text=True, env=installed.env,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0
    assert result.stdout == TEST_TOKEN + "\n"  # not recorded in outputs: printing is its job


def test_values_complete_in_the_shell(installed: InstalledCli, emulator: Emulator) -> None:
    assert installed.login(emulator.base_url, profile="staging").returncode == 0
    for words, expected in (
        ("vh-lite --profile st", ["staging"]),
        ("vh-lite projects list -p st", ["staging"]),
        ("vh-lite projects list --format j", ["json", "jsonl"]),
        ("vh-lite projects list --sort exe", ["execution_count"]),
        ("vh-lite projects list --fields id,na", ["id,name"]),
    ):
        result = installed.run(env={"_VH_LITE_COMPLETE": "complete_bash", "COMP_WORDS": words,
                                    "COMP_CWORD": str(len(words.split()) - 1)})  # fmt: skip
        assert result.stdout.split() == expected, words


def _bash(cli: InstalledCli, command: str, *, pipefail: bool = False) -> tuple[int, str, str]:
    options = ["-o", "pipefail"] if pipefail else []
    proc = subprocess.run(
        ["bash", *options, "-c", command], capture_output=True, text=True, env=cli.env,
        timeout=60,
    )  # fmt: skip
    cli.outputs.append(proc.stdout + proc.stderr)
    return proc.returncode, proc.stdout, proc.stderr


def test_output_that_cannot_be_written_is_one_error_line(served: InstalledCli) -> None:
    for command in ("--version", "projects list", "projects list --json", "auth status",
                    "--help"):  # fmt: skip
        for redirect, reason in (("> /dev/full", "No space left on device"),
                                 (">&-", "standard output is closed")):  # fmt: skip
            code, _, stderr = _bash(served, f"'{VH_LITE}' {command} {redirect}")
            assert code == 1, (command, redirect, stderr)
            assert stderr.strip() == f"vh-lite: error: cannot write the output: {reason}"


@pytest.mark.parametrize("fmt", ["", "--format jsonl", "--json"])
def test_head_closes_the_pipe_quietly(served: InstalledCli, fmt: str) -> None:
    code, stdout, stderr = _bash(served, f"'{VH_LITE}' projects list {fmt} | head -1",
                                 pipefail=True)  # fmt: skip
    assert (code, stderr) == (0, "")
    assert len(stdout.splitlines()) == 1


def test_closed_pipes_end_quietly_whatever_the_encoding(served: InstalledCli) -> None:
    served.env["PYTHONIOENCODING"] = "ascii"
    for command in ("--version", "auth status", "projects list --json"):
        code, _, stderr = _bash(served, f"'{VH_LITE}' {command} | true", pipefail=True)
        assert (code, stderr) == (0, ""), command


def test_stdout_with_a_narrow_encoding_does_not_crash(served: InstalledCli) -> None:
    for env, formats in (({"PYTHONIOENCODING": "ascii"}, [[], ["--json"], ["--format", "csv"]]),
                         ({"LANG": "C", "LC_ALL": "C"}, [["--format", "tsv"]])):  # fmt: skip
        for fmt in formats:
            result = served.run("projects", "list", *fmt, env=env)
            assert result.returncode == 0, result.stderr
            assert "Traceback" not in result.output
            # Data is UTF-8 whatever the locale: the text, not escapes of it.
            assert "日本語" in result.stdout, (env, fmt)


def test_login_web_uses_the_browser_variable(installed: InstalledCli, emulator: Emulator) -> None:
    """`BROWSER` picks the program, as Python's webbrowser (and gh) honour it; in a pty."""
    import pexpect

    opened = installed.home / "opened.txt"
    browser = installed.home / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    child = pexpect.spawn(str(VH_LITE), ["login", "--web", "--host", emulator.base_url],
                          env={**installed.env, "BROWSER": str(browser)}, encoding="utf-8",
                          timeout=30)  # fmt: skip
    child.expect(r"API token \(hidden\)")
    child.sendline(TEST_TOKEN)
    child.expect(pexpect.EOF)
    child.close()
    installed.outputs.append(child.before or "")
    assert child.exitstatus == 0, child.before
    assert opened.read_text().strip() == f"{emulator.base_url}/auth/tokens/"


def test_ctrl_c_during_a_listing_exits_130_quietly(
    served: InstalledCli, emulator: Emulator
) -> None:
    emulator.config.latency_ms = 3000
    proc = subprocess.Popen(
        [str(VH_LITE), "projects", "list", "--json"],
        env=served.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not emulator.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert emulator.requests, "the listing never reached the server"
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    served.outputs.append((out + err).decode())
    assert proc.returncode == 130
    assert out == b""
    assert b"Traceback" not in err


def test_eight_concurrent_logins_lose_nothing(installed: InstalledCli, emulator: Emulator) -> None:
    def login(i: int) -> subprocess.Popen[bytes]:
        command = [str(VH_LITE), "--profile", f"p{i}", "login", "--host", emulator.base_url,
                   "--with-token", "--insecure-storage"]  # fmt: skip
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=installed.env)  # fmt: skip

    procs = [login(i) for i in range(8)]  # all started before any is waited for
    for proc in procs:
        out, err = proc.communicate(TEST_TOKEN.encode(), timeout=60)
        installed.outputs.append((out + err).decode())
        assert proc.returncode == 0, err
    config = json.loads((installed.config_dir / "config.json").read_text())
    tokens = json.loads((installed.config_dir / "credentials.json").read_text())
    assert sorted(config["profiles"]) == [f"p{i}" for i in range(8)]
    assert sorted(tokens["profiles"]) == [f"p{i}" for i in range(8)]
    assert all(tokens["profiles"][f"p{i}"]["token"] == TEST_TOKEN for i in range(8))


def test_make_demo_runs_from_start_to_finish(installed: InstalledCli) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "valohai_cli_lite.emulator.demo"],
        capture_output=True, text=True, env=installed.env, timeout=120,
    )  # fmt: skip
    installed.outputs.append(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stderr
    assert "250 projects (the official client shows 100)" in proc.stdout
    assert "#  STATUS    STEP" in proc.stdout and "─ #30 " in proc.stdout  # executions too
    assert "Logged out of http://127.0.0.1:" in proc.stderr
    assert not (installed.config_dir).exists()  # the demo used a directory of its own


def test_make_demo_ignores_the_users_settings_and_writes_nothing_of_theirs(
    installed: InstalledCli,
) -> None:
    """A vh-lite user's own variables (another host and token, a format, a profile, vh's
    host) have no say in the demo, and it leaves nothing in their config or cache. Should the
    demo ever send anything to those hosts, the proxy on a closed loopback port stops it:
    this test never reaches the internet."""
    mine = {
        "VH_HOST": "https://app.valohai.com",
        "VH_API_TOKEN": "x",
        "VALOHAI_HOST": "https://valohai.example.com",
        "VALOHAI_TOKEN": "y",
        "VH_FORMAT": "csv",
        "VH_PROFILE": "other",
        "VALOHAI_OUTPUT_FORMAT": "json",
    }
    nowhere = "http://127.0.0.1:9"
    proxies = {
        "HTTPS_PROXY": nowhere,
        "https_proxy": nowhere,
        "ALL_PROXY": nowhere,
        "all_proxy": nowhere,
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
    }
    env = {k: v for k, v in installed.env.items() if k != "VH_LITE_CACHE_DIR"}
    proc = subprocess.run(
        [sys.executable, "-m", "valohai_cli_lite.emulator.demo"],
        capture_output=True, text=True, env={**env, **mine, **proxies}, timeout=120,
    )  # fmt: skip
    installed.outputs.append(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stderr
    assert "250 projects (the official client shows 100)" in proc.stdout
    assert "NAME" in proc.stdout and "OWNER" in proc.stdout  # tables, not VH_FORMAT's CSV
    assert "(profile 'demo')" in proc.stderr and "'other'" not in proc.stderr
    for variable in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        directory = Path(installed.env[variable])
        assert not directory.exists() or list(directory.rglob("*")) == [], variable
    assert list(installed.home.rglob("*vh-lite*")) == []


def test_vh_lite_cache_dir_moves_the_cache(installed: InstalledCli, emulator: Emulator) -> None:
    elsewhere = installed.home / "elsewhere"
    env = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url,
           "VH_LITE_CACHE_DIR": str(elsewhere)}  # fmt: skip
    listing = installed.run("projects", "list", "--json", env=env)
    assert listing.returncode == 0, listing.stderr
    assert len(json.loads(listing.stdout)) == 250
    paging = json.loads((elsewhere / "paging.json").read_text())
    assert emulator.base_url in json.dumps(paging)
    assert not (Path(installed.env["XDG_CACHE_HOME"]) / "vh-lite").exists()
    # Without it, the platform's cache directory.
    del env["VH_LITE_CACHE_DIR"]
    assert installed.run("projects", "list", "--json", env=env).returncode == 0
    assert (Path(installed.env["XDG_CACHE_HOME"]) / "vh-lite" / "paging.json").exists()


def test_a_numeric_name_matches_as_text(installed: InstalledCli, emulator: Emulator) -> None:
    """A server may send a name like 2024 as a JSON number; typed on the command line it is
    text, and it names that project."""
    year = {"id": "01890000-2024-7000-8000-000000002024", "name": 2024, "description": "",
            "owner": {"id": 1337, "username": "demo"}, "urls": {}}  # fmt: skip
    emulator.config.extra_projects.append(year)
    installed.env.update(VH_API_TOKEN=TEST_TOKEN, VH_HOST=emulator.base_url)
    for ref in ("2024", "demo/2024"):
        shown = installed.run("projects", "show", ref, "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout) == year
    emulator.requests.clear()
    executions = installed.run("executions", "list", "--project", "2024", "--json")
    assert executions.returncode == 0, executions.stderr
    asked = [r.query for r in emulator.requests if r.path == "/api/v0/executions/"]
    assert asked and all(query["project"] == [year["id"]] for query in asked)


def test_real_shapes_from_the_emulators_command_line(installed: InstalledCli) -> None:
    """A new user's check: the emulator started with the flags docs/emulator.md documents."""
    emulator = subprocess.Popen(
        [sys.executable, "-m", "valohai_cli_lite.emulator", "--token", TEST_TOKEN,
         "--projects", "250", "--legacy-data", "--next-alias", "--refusal-status", "403"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert emulator.stdout is not None
        url = emulator.stdout.readline().strip()
        installed.env.update(VH_API_TOKEN=TEST_TOKEN, VH_HOST=url)
        listing = installed.run("projects", "list", "--max-concurrency", "1", "--owner", "42")
        assert listing.returncode == 0, listing.stderr
        lines = listing.stdout.splitlines()
        assert len(lines) == 50 and all(line.split("\t")[1] == "42" for line in lines)
        shown = installed.run("projects", "show", "42/project-0005")
        assert shown.returncode == 0, shown.stderr
        assert "environment_variables\t" in shown.stdout
        del installed.env["VH_API_TOKEN"]
        refused = installed.password_login(url, "twofa", "whatever")
        assert refused.returncode == 4 and f"{url}/auth/tokens/" in refused.stderr
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
