"""Shared fixtures: an isolated user environment, the emulator, and two ways to run vh-lite.

- `cli` runs a command line in this process through `cli.run()` with fake_streams(): fast,
  measured by coverage, terminals simulated with flags, retries' sleeps recorded, not slept.
- `installed` runs the installed `vh-lite` script as a subprocess: the end-to-end layer
  (entry point, exit codes, real keyring, pty, signals, closed pipes).

Both use the same isolated HOME/XDG directories and scrubbed environment.

Also the helpers that tests in several directories share: `App` (an AppContext for calling
run_* directly), the emulators `served` and `served_app`, `ok`, `screen`, `emulator_env`,
`serving_body` (a server of canned bytes), and the sample `PROJECTS` of the output tests.
Tests import them from here (`from conftest import ...`); the emulator's own helpers are in
emulator_support.py, the proxy's in proxy_support.py.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from emulator_support import Certificate, make_certificate
from keyring.backend import KeyringBackend

from valohai_cli_lite.auth.credentials import KeyringUnavailable
from valohai_cli_lite.cli import run
from valohai_cli_lite.context import AppContext, GlobalOptions, Services
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig
from valohai_cli_lite.terminal.iostreams import IOStreams

TEST_TOKEN = "tok-5ecret-0f-the-test-suite-4f2a9c"


class TestStream(io.StringIO):
    __test__ = False  # not a pytest test class
    encoding = "utf-8"  # settable, unlike StringIO's

    def reconfigure(self, *, encoding: str | None = None, errors: str | None = None) -> None:
        self.encoding = encoding or self.encoding


def fake_streams(
    *,
    stdin: str = "",
    stdin_tty: bool = False,
    stdout_tty: bool = False,
    stderr_tty: bool = False,
    environ: Mapping[str, str] | None = None,
    width: int | None = 100,
    encoding: str = "utf-8",
) -> tuple[IOStreams, TestStream, TestStream, TestStream]:
    """(io, stdin, stdout, stderr): IOStreams in memory, with the terminal flags a test wants."""
    stdin_stream, out, err = TestStream(stdin), TestStream(), TestStream()
    out.encoding = err.encoding = encoding

    def read_secret(prompt: str) -> str:
        err.write(prompt)
        line = stdin_stream.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    streams = IOStreams(
        stdin=stdin_stream, stdout=out, stderr=err, stdin_tty=stdin_tty,
        stdout_tty=stdout_tty, stderr_tty=stderr_tty,
        environ=dict(environ) if environ is not None else {},
        read_secret=read_secret, terminal_width=lambda _stderr: width,
    )  # fmt: skip
    return streams, stdin_stream, out, err


VH_LITE = Path(sys.executable).parent / "vh-lite"

# Variables that would leak the developer's own setup into a test run.
_SCRUBBED_ENV = (
    "VH_API_TOKEN", "VALOHAI_TOKEN", "VH_HOST", "VALOHAI_HOST", "VH_PROFILE", "VH_DEBUG",
    "VH_LITE_CONFIG_DIR", "VH_FORMAT", "VH_TIMEOUT", "VH_CA_FILE", "VH_KEYRING_TIMEOUT",
    "NO_COLOR", "COLUMNS", "TERM", "PAGER", "VH_PAGER", "LESS", "DBUS_SESSION_BUS_ADDRESS",
    "PYTHON_KEYRING_BACKEND",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
    "NO_PROXY", "no_proxy",
    # The trust store: many machines (and CI images) name their own bundle in these.
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "VH_SYSTEM_CERTS",
    # vh's own settings, which vh-lite reads below its own.
    "VALOHAI_OUTPUT_FORMAT", "VALOHAI_TABLE_FORMAT", "VALOHAI_DEBUG", "VALOHAI_CONFIG_DIR",
    "VALOHAI_PROJECT", "VH_PROJECT", "VH_LITE_CACHE_DIR",
)  # fmt: skip

# Everything every vh-lite run in this session printed (stdout, stderr, pty transcripts),
# for the final leak check in pytest_sessionfinish.
SESSION_OUTPUTS: list[str] = []


# Two projects for the output layer's tests: one with every field and text hostile to every
# format, one of nulls.
TRICKY = 'commas, "quotes"\ttabs\nnewlines\r\nand ünïcødé [bold]markup[/bold] \x1b[31mred'
PROJECTS: list[dict[str, Any]] = [
    {"id": "p1", "name": "one", "description": TRICKY, "owner": {"id": 1, "username": "me"},
     "execution_count": 3, "last_execution_ctime": "2026-11-24T12:00:00Z",
     "ctime": "2026-01-01T00:00:00Z", "mtime": "2026-01-02T00:00:00Z",
     "urls": {"display": "https://app.example/p/me/one/"}, "extra": {"kept": True}},
    {"id": "p2", "name": "two", "description": None, "owner": None, "execution_count": 0,
     "last_execution_ctime": None, "ctime": None, "mtime": None},
]  # fmt: skip


def project_pages(client: Any, **kwargs: Any) -> Any:
    """Every page of the project list, as `projects list` asks for them."""
    return client.iter_pages(client.host + "/api/v0/projects/", **kwargs)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def read_tsv(text: str) -> list[list[str]]:
    """vh-lite's TSV as a reader splitting on newlines and tabs sees it, escapes undone."""
    unescape = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}
    rows = [line.split("\t") for line in text.split("\n")[:-1]]
    return [
        [re.sub(r"\\(.)", lambda m: unescape[m.group(1)], cell) for cell in row] for row in rows
    ]


def read_tsv_records(text: str) -> list[dict[str, str]]:
    header, *rows = read_tsv(text)
    return [dict(zip(header, row, strict=True)) for row in rows]


class SessionRecordingList(list[str]):
    """A test's outputs, each also kept in SESSION_OUTPUTS."""

    def append(self, text: str) -> None:
        SESSION_OUTPUTS.append(text)
        super().append(text)


class MemoryKeyring(KeyringBackend):
    """An in-process keyring for tests that exercise the keyring path without D-Bus."""

    priority = 1

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def tokens(self) -> list[str]:
        """The tokens stored (each secret holds its host and its token)."""
        return [json.loads(secret)["token"] for secret in self.items.values()]

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if (service, username) not in self.items:
            raise PasswordDeleteError("missing")
        del self.items[(service, username)]


def no_keyring(_recorded: str | None) -> KeyringBackend:
    """What a machine without any keyring gives (keyring's `fail` backend)."""
    raise KeyringUnavailable("no usable system keyring was found")


class _Runner:
    """What both runners share: a home directory, an environment, recorded outputs."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.config_dir = home / ".config" / "vh-lite"
        self.env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        self.env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            XDG_CACHE_HOME=str(home / ".cache"),
            # No keyring unless a test asks for one.
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
            VH_KEYRING_TIMEOUT="10",
        )
        self.outputs: list[str] = SessionRecordingList()

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None,
            **kwargs: Any) -> Result:  # fmt: skip
        raise NotImplementedError

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


class InProcessCli(_Runner):
    """Runs a command line through cli.run() in this process, as the launcher would."""

    def __init__(self, home: Path) -> None:
        super().__init__(home)
        self.keyring: Any = no_keyring  # a KeyringLoader; MemoryKeyring tests replace it
        self.slept: list[float] = []  # every wait between retries, in seconds
        self.opened: list[str] = []  # every URL a command opened in "the browser"
        self.browser_works = True  # False: as where no browser can be started

    def run(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        stdin_tty: bool = False,
        stdout_tty: bool = False,
        stderr_tty: bool = False,
        width: int | None = 100,
        encoding: str = "utf-8",
        **_ignored: Any,
    ) -> Result:
        merged = {**self.env, **(env or {})}
        io, _, out, err = fake_streams(
            stdin=input or "", stdin_tty=stdin_tty, stdout_tty=stdout_tty,
            stderr_tty=stderr_tty, environ=merged, width=width, encoding=encoding,
        )  # fmt: skip
        with pytest.MonkeyPatch.context() as mp:
            # Typer reads its envvar options (VH_PROFILE, VH_FORMAT...) from os.environ, and
            # platformdirs reads XDG_*: the process environment is this run's.
            for name in list(os.environ):
                if name not in merged:
                    mp.delenv(name)
            for name, value in merged.items():
                mp.setenv(name, value)
            services = Services(
                environ=os.environ, keyring=self.keyring, sleep=self.slept.append,
                open_browser=self._open,
            )  # fmt: skip
            code = run(list(args), io, services)
        result = Result(code, out.getvalue(), err.getvalue())
        self.outputs.append(result.output)
        return result

    def _open(self, url: str) -> bool:
        self.opened.append(url)
        return self.browser_works


class InstalledCli(_Runner):
    """Runs the installed `vh-lite` as a subprocess."""

    def run(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
        umask: int = -1,  # -1: this process's
        **_ignored: Any,
    ) -> Result:
        proc = subprocess.run(
            [str(VH_LITE), *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=timeout,
            umask=umask,
        )
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        self.outputs.append(result.output)
        return result


# Under pytest-xdist: what each worker found, summed up by the controller.
_FROM_WORKERS = {"leaks": 0, "recorded": 0}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist, controller side: a worker's leak count (see pytest_sessionfinish)."""
    found = getattr(node, "workeroutput", {})
    _FROM_WORKERS["leaks"] += found.get("token_leaks", 0)
    _FROM_WORKERS["recorded"] += found.get("recorded_outputs", 0)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The token must appear in no output of any run of the whole suite (auth token aside,
    whose tests do not record its output). Fails the session if it does. Under pytest-xdist
    each worker counts its own runs and the controller adds them up."""
    leaks = sum(TEST_TOKEN in text for text in SESSION_OUTPUTS)
    worker_output = getattr(session.config, "workeroutput", None)
    if worker_output is not None:
        worker_output.update(token_leaks=leaks, recorded_outputs=len(SESSION_OUTPUTS))
        return
    leaks += _FROM_WORKERS["leaks"]
    recorded = len(SESSION_OUTPUTS) + _FROM_WORKERS["recorded"]
    if leaks:
        print(f"\nTOKEN LEAK: the test token appeared in {leaks} of {recorded} recorded outputs")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif recorded:
        print(f"\nno token in any of {recorded} recorded CLI outputs")


def _runner(kind: type[_Runner], tmp_path: Path) -> Iterator[Any]:
    runner = kind(tmp_path / "home")
    runner.home.mkdir(exist_ok=True)  # `cli` and `installed` in one test share it
    yield runner
    # The token must never show up in anything the CLI printed.
    for text in runner.outputs:
        assert TEST_TOKEN not in text


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[InProcessCli]:
    yield from _runner(InProcessCli, tmp_path)


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[InstalledCli]:
    yield from _runner(InstalledCli, tmp_path)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 (openssl; skipped with a reason without it)."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A Valohai-compatible server on loopback: 250 projects, pages capped at 100."""
    with Emulator(EmulatorConfig(token=TEST_TOKEN, projects=250, page_size=100)) as emu:
        yield emu


@pytest.fixture
def env(cli: InProcessCli, emulator: Emulator) -> dict[str, str]:
    """`cli` with the test token and the emulator in the environment, as in CI."""
    cli.env.update(VH_API_TOKEN=TEST_TOKEN, VH_HOST=emulator.base_url)
    return cli.env


def emulator_env(emulator: Emulator, var: str = "VH_API_TOKEN") -> dict[str, str]:
    """What `env` puts in the environment, for one run: the test token and the emulator."""
    return {var: TEST_TOKEN, "VH_HOST": emulator.base_url}


def ok(cli: InProcessCli | InstalledCli, *args: str, **kwargs: Any) -> str:
    """The stdout of a command line that must succeed."""
    result = cli.run(*args, **kwargs)
    assert result.returncode == 0, result.stderr
    return result.stdout


def screen(text: str) -> str:
    """What a person reads: SGR codes and OSC 8 link wrappers removed."""
    return re.sub(r"\x1b\]8;[^\x1b]*\x1b\\|\x1b\[[0-9;]*m", "", text)


TOTAL = 7  # executions in every project of `served`: counters 1..7, four pages of 2


@pytest.fixture
def served(cli: InProcessCli) -> Iterator[Emulator]:
    """Three projects of seven executions each, two records a page, both shapes mixed."""
    config = EmulatorConfig(token=TEST_TOKEN, projects=3, executions=TOTAL, page_size=2)
    with Emulator(config) as emu:
        cli.env.update(VH_API_TOKEN=TEST_TOKEN, VH_HOST=emu.base_url)
        yield emu


class App:
    """An AppContext over test streams, plus the streams to read back: for calling a
    command's run_<verb>(opts, app) directly, without Typer or a process."""

    def __init__(
        self, tmp_path: Path, environ: dict[str, str], stdin: str = "", **services: Any
    ) -> None:
        self.keyring = MemoryKeyring()
        self.home = tmp_path / "home"  # caches go here, not to the real ~/.cache
        environ = {"HOME": str(self.home), "XDG_CACHE_HOME": str(self.home / ".cache"), **environ}
        self.io, _, self.out, self.err = fake_streams(environ=environ, stdin=stdin)
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
def served_app(tmp_path: Path, emulator: Emulator) -> App:
    """An App with the test token and the emulator in its environment."""
    return App(tmp_path, {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url})


@dataclass
class CannedServer:
    """What `serving_body` started: its base URL and the path of every request it got."""

    url: str
    paths: list[str] = field(default_factory=list)


@contextmanager
def serving_body(
    body: bytes, *, repeat: int = 1, content_type: str = "application/json", status: int = 200
) -> Iterator[CannedServer]:
    """A plain-http server on 127.0.0.1 answering every GET with `body` repeated `repeat`
    times (written a repeat at a time, so a large answer costs no memory here): for answers
    the emulator does not give (any bytes, a huge body, NaN)."""
    import http.server
    import threading

    served = CannedServer("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.paths.append(self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body) * repeat))
            self.end_headers()
            for _ in range(repeat):
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()  # fmt: skip
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def secret_service(installed: InstalledCli, tmp_path: Path) -> Iterator[InstalledCli]:
    """A real, unlocked gnome-keyring Secret Service on a private D-Bus session bus.

    Points `installed` at it (and away from the forced `fail` backend) for the rest of the
    test.
    """
    if not (shutil.which("dbus-daemon") and shutil.which("gnome-keyring-daemon")):
        pytest.skip(
            "gnome-keyring-daemon and dbus-daemon are not installed "
            "(apt-get install gnome-keyring dbus)"
        )
    cli = installed
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


def keyring_python(cli: InstalledCli, code: str, *args: str, stdin: str | None = None) -> str:
    """Run `code` in a Python of its own against `cli`'s Secret Service, as another program
    would; its stdout (it must succeed)."""
    proc = subprocess.run([sys.executable, "-c", code, *args], input=stdin,
                          capture_output=True, text=True, env=cli.env, timeout=30)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def keyring_entry(cli: InstalledCli, expected: str, profile: str = "default") -> str:
    """'match', 'missing' or 'different': vh-lite's entry read straight from the Secret
    Service, as another program would; the secret itself never reaches test output."""
    read = (  # the secret is {"host", "token"}: compared by its token
        "import json, sys, keyring\n"
        "v = keyring.get_password('vh-lite', sys.argv[1])\n"
        "t = v and json.loads(v)['token']\n"
        "print('missing' if v is None else 'match' if t == sys.stdin.read() else 'different')"
    )
    return keyring_python(cli, read, f"{profile} ({cli.config_dir})", stdin=expected).strip()
