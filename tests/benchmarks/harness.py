"""Running whole processes for `make bench`: one helper per way of watching them.

- `run_once`: output to /dev/null; wall time and peak RSS (the original measurements).
- `run_streamed`: stdout read to EOF from a pipe or a pseudo-terminal, with the time of its
  first byte (and of a marker, e.g. the first table row), the output checked for correctness.
- `interleaved`: several such runs, A B C A B C ..., so machine noise hits every side alike.

Every command is started by the spawner (spawner.py), so its peak RSS is its own.
"""

from __future__ import annotations

import errno
import fcntl
import os
import selectors
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.spawner import spawner

ROOT = Path(__file__).resolve().parents[2]
VH_VENV = ROOT / ".bench" / "vh-venv"
VH_LITE = Path(sys.executable).parent / "vh-lite"
TOKEN = "bench-token-0123456789abcdef"
# The pseudo-terminal's size: a roomy terminal window, wide enough that no name is cut.
PTY_ROWS, PTY_COLUMNS = 48, 160
# No run may take longer than this; a stuck one (a pager waiting for a key) fails the bench.
RUN_TIMEOUT = 300.0


class BenchError(RuntimeError):
    """A command failed, hung or printed something other than the data it should have."""


@dataclass
class Sample:
    seconds: float
    max_rss_kib: int
    # Seconds from start to the first byte on stdout (a pipe) or on the terminal (a pty),
    # and to the first occurrence of the marker asked for; None when not watched.
    first_byte: float | None = None
    first_marker: float | None = None


Check = Callable[[bytes], None]
Side = Callable[[], Sample]  # one run of one side of a comparison


def median(samples: Sequence[Sample], what: str = "seconds") -> float:
    values = [getattr(sample, what) for sample in samples]
    if any(value is None for value in values):
        raise BenchError(f"{what} was not measured in every run")
    return float(statistics.median(values))


def ensure_vh() -> Path:
    vh = VH_VENV / "bin" / "vh"
    if not vh.exists():
        print("installing valohai-cli==0.37.0 into .bench/vh-venv ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VH_VENV)], check=True)
        pip = [str(VH_VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "valohai-cli==0.37.0"], check=True)
    return vh


def isolated_env(home: Path) -> dict[str, str]:
    """The caller's environment without anything that would change what either client does."""
    # PYTHONDONTWRITEBYTECODE would make every run recompile vh-lite's sources, a cost no
    # installed copy pays (pip compiles at install time).
    drop = (
        "VH_API_TOKEN", "VALOHAI_TOKEN", "VH_HOST", "VALOHAI_HOST", "VH_PROFILE", "VH_FORMAT",
        "VH_LITE_CONFIG_DIR", "VALOHAI_CONFIG_DIR", "DBUS_SESSION_BUS_ADDRESS",
        "PYTHONDONTWRITEBYTECODE", "VH_CA_FILE", "SSL_CERT_FILE", "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR",
        "TERM", "VH_TIMEOUT", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy",
        "https_proxy", "all_proxy",
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        # Output goes straight to the (pseudo-)terminal: a pager would wait for a key press.
        VH_PAGER="cat",
        PAGER="cat",
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def terminal_env(env: dict[str, str]) -> dict[str, str]:
    """`env` as a colour terminal emulator sets it."""
    return {**env, "TERM": "xterm-256color"}


def setup(
    cmd: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a preparation step (a login, a sanity listing); raises if it fails."""
    try:
        return subprocess.run(
            cmd, input=stdin, env=env, capture_output=True, text=True, check=True, timeout=120
        )
    except subprocess.CalledProcessError as exc:
        raise BenchError(f"{' '.join(cmd)} failed ({exc.returncode}): {exc.stderr}") from None


def _finish(cmd: list[str], pid: int, started: float, err: bytes) -> tuple[float, int]:
    status, max_rss_kib = spawner().wait(pid)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        message = err.decode(errors="replace").strip()[-2000:]
        raise BenchError(f"{' '.join(cmd)} failed ({code}): {message}")
    return elapsed, max_rss_kib


def run_once(cmd: list[str], env: dict[str, str]) -> Sample:
    """Wall time and peak RSS of one whole process, its stdout thrown away."""
    null = os.open(os.devnull, os.O_RDWR)
    err_read, err_write = os.pipe()
    try:
        started = time.perf_counter()
        pid = spawner().spawn(cmd, env, (null, null, err_write), terminal=False)
    finally:
        os.close(null)
        os.close(err_write)
    with open(err_read, "rb") as err:
        message = err.read()
    elapsed, rss = _finish(cmd, pid, started, message)
    return Sample(elapsed, rss)


def run_streamed(
    cmd: list[str],
    env: dict[str, str],
    *,
    terminal: bool = False,
    check: Check | None = None,
    marker: bytes | None = None,
    stop_at_marker: bool = False,
) -> Sample:
    """Run `cmd` with stdout on a pipe (or everything on a pty) read to EOF as it comes.

    Wall time runs until both the output's EOF and the process's exit. `check` gets the whole
    stdout (on a pty: everything the terminal showed) and raises if it is wrong; `marker`'s
    first appearance there is timed too. With `stop_at_marker`, the process is killed once
    the marker is seen (only the time to it counts; nothing is checked, no RSS).
    """
    if terminal:
        out_fd, slave = os.openpty()
        size = struct.pack("HHHH", PTY_ROWS, PTY_COLUMNS, 0, 0)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, size)
        stdio, ours, fds = (slave, slave, slave), [slave], [out_fd]
    else:
        out_fd, out_write = os.pipe()
        err_fd, err_write = os.pipe()
        null = os.open(os.devnull, os.O_RDONLY)
        stdio, ours, fds = (
            (null, out_write, err_write),
            [null, out_write, err_write],
            [out_fd, err_fd],
        )
    try:
        started = time.perf_counter()
        pid = spawner().spawn(cmd, env, stdio, terminal=terminal)
    finally:
        for fd in ours:  # the child has its copies; EOF comes when it closes them
            os.close(fd)
    out: list[bytes] = []
    err: list[bytes] = []
    first_byte = first_marker = None
    tail = b""
    deadline = started + RUN_TIMEOUT
    selector = selectors.DefaultSelector()
    for fd in fds:
        selector.register(fd, selectors.EVENT_READ)
    try:
        while selector.get_map():
            if time.perf_counter() > deadline:
                os.kill(pid, signal.SIGKILL)
                spawner().wait(pid)
                raise BenchError(f"{' '.join(cmd)} took over {RUN_TIMEOUT:.0f} s")
            for key, _ in selector.select(timeout=1.0):
                try:
                    data = os.read(key.fd, 1 << 16)
                except OSError as exc:  # a pty's master reads EIO once the terminal is gone
                    if exc.errno != errno.EIO:
                        raise
                    data = b""
                if not data:
                    selector.unregister(key.fd)
                    continue
                if key.fd != out_fd:
                    err.append(data)
                    continue
                now = time.perf_counter() - started
                if first_byte is None:
                    first_byte = now
                if marker is not None and first_marker is None:
                    window = tail + data
                    if marker in window:
                        first_marker = now
                    tail = window[-len(marker) :]
                out.append(data)
                if stop_at_marker and first_marker is not None:
                    os.kill(pid, signal.SIGKILL)
                    spawner().wait(pid)
                    return Sample(first_marker, 0, first_byte, first_marker)
        elapsed, rss = _finish(cmd, pid, started, b"".join(out if terminal else err))
    finally:
        selector.close()
        for fd in fds:
            os.close(fd)
    if check is not None:
        check(b"".join(out))
    return Sample(elapsed, rss, first_byte, first_marker)


def interleaved(sides: Sequence[Side], runs: int, *, warm: bool = True) -> list[list[Sample]]:
    """`runs` samples of each side, taken A B C A B C ...; first one untimed run each."""
    if warm:  # the page cache, the emulator's caches, Python's bytecode
        for side in sides:
            side()
    samples: list[list[Sample]] = [[] for _ in sides]
    for _ in range(runs):
        for side, taken in zip(sides, samples, strict=True):
            taken.append(side())
    return samples


@dataclass
class Bench:
    """What every part of the bench needs: the two clients, a scratch directory, the run counts."""

    vh: Path
    lite: Path
    work: Path  # scratch: config directories, certificates, the keyring's runtime directory
    env: dict[str, str]  # isolated_env(work)
    runs: int  # timed runs per side for the quick comparisons
    big_runs: int  # for 10,000 @ 50 ms and its --max-concurrency 1 reference
    format_runs: int  # per format at 100,000 projects
    gateway_runs: int  # each against a fresh emulator, to count its 429s
