"""Shared fixtures: an isolated user environment, the emulator, and the installed CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig

TEST_TOKEN = "tok-5ecret-0f-the-test-suite-4f2a9c"
VH_LITE = Path(sys.executable).parent / "vh-lite"

# Variables that would leak the developer's own setup into a test run.
_SCRUBBED_ENV = (
    "VH_API_TOKEN",
    "VALOHAI_TOKEN",
    "VH_HOST",
    "VALOHAI_HOST",
    "VH_PROFILE",
    "VH_DEBUG",
    "VH_LITE_CONFIG_DIR",
    "VH_FORMAT",
    "VH_TIMEOUT",
    "VH_CA_FILE",
    "NO_COLOR",
    "DBUS_SESSION_BUS_ADDRESS",
    "PYTHON_KEYRING_BACKEND",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


# Everything every vh-lite run in this session printed (stdout, stderr, pty transcripts),
# for the final leak check in pytest_sessionfinish.
SESSION_OUTPUTS: list[str] = []


class CliRunner:
    """Runs the installed `vh-lite` as a subprocess in an isolated HOME/XDG/config dir."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.config_dir = home / ".config" / "vh-lite"
        self.env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        self.env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            XDG_CACHE_HOME=str(home / ".cache"),
            # No keyring unless a test asks for the real Secret Service.
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
            VH_KEYRING_TIMEOUT="10",
        )
        self.outputs: list[str] = SessionRecordingList()

    def run(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Result:
        merged = {**self.env, **(env or {})}
        proc = subprocess.run(
            [str(VH_LITE), *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=merged,
            timeout=timeout,
        )
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        self.outputs.append(result.output)
        return result

    def login(
        self, host: str, token: str = TEST_TOKEN, *args: str, profile: str | None = None
    ) -> Result:
        """`[--profile P] login --host HOST --with-token [args]` with the token on stdin."""
        chosen = ("--profile", profile) if profile else ()
        return self.run(*chosen, "login", "--host", host, "--with-token", *args,
                        input=token + "\n")  # fmt: skip

    def password_login(self, host: str, username: str, password: str) -> Result:
        """`login --username NAME --password-stdin` with the password on stdin."""
        return self.run("login", "--host", host, "--username", username, "--password-stdin",
                        input=password + "\n")  # fmt: skip


class SessionRecordingList(list[str]):
    """A test's outputs, each also kept in SESSION_OUTPUTS."""

    def append(self, text: str) -> None:
        SESSION_OUTPUTS.append(text)
        super().append(text)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The token must appear in no output of any run of the whole suite (auth token aside,
    whose tests do not record its output). Fails the session if it does."""
    leaks = sum(TEST_TOKEN in text for text in SESSION_OUTPUTS)
    if leaks:
        print(
            f"\nTOKEN LEAK: the test token appeared in {leaks} of "
            f"{len(SESSION_OUTPUTS)} recorded outputs"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif SESSION_OUTPUTS:
        print(f"\nno token in any of {len(SESSION_OUTPUTS)} recorded CLI outputs")


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[CliRunner]:
    runner = CliRunner(tmp_path / "home")
    runner.home.mkdir()
    yield runner
    # The token must never show up in anything the CLI printed.
    for text in runner.outputs:
        assert TEST_TOKEN not in text


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A Valohai-compatible server on loopback: 250 projects, pages capped at 100."""
    with Emulator(EmulatorConfig(token=TEST_TOKEN, projects=250, page_size=100)) as emu:
        yield emu


@pytest.fixture
def secret_service(cli: CliRunner, tmp_path: Path) -> Iterator[CliRunner]:
    """A real, unlocked gnome-keyring Secret Service on a private D-Bus session bus.

    Points `cli` at it (and away from the forced `fail` backend) for the rest of the test.
    """
    if not (shutil.which("dbus-daemon") and shutil.which("gnome-keyring-daemon")):
        pytest.skip(
            "gnome-keyring-daemon and dbus-daemon are not installed "
            "(apt-get install gnome-keyring dbus)"
        )
    runtime_dir = tmp_path / "run"
    runtime_dir.mkdir(mode=0o700)
    cli.env.pop("PYTHON_KEYRING_BACKEND")
    cli.env["XDG_RUNTIME_DIR"] = str(runtime_dir)
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=cli.env,
    )
    try:
        assert bus.stdout is not None
        cli.env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
        daemon = subprocess.run(
            ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--daemonize"],
            input="test-keyring-password",
            capture_output=True,
            text=True,
            env=cli.env,
            timeout=30,
        )
        assert daemon.returncode == 0, daemon.stderr
        yield cli
    finally:
        # gnome-keyring-daemon exits by itself when its session bus goes away.
        bus.terminate()
        bus.wait(timeout=10)


def keyring_entry(cli: CliRunner, expected: str, profile: str = "default") -> str:
    """'match', 'missing' or 'different': vh-lite's entry read straight from the Secret
    Service, as another program would; the secret itself never reaches test output."""
    account = f"{profile} ({cli.config_dir})"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, keyring\n"
            "v = keyring.get_password('vh-lite', sys.argv[1])\n"
            "print('missing' if v is None else 'match' if v == sys.stdin.read() else 'different')",
            account,
        ],
        input=expected,
        capture_output=True,
        text=True,
        env=cli.env,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()
