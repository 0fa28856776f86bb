"""`make bench`: vh-lite against the official client `vh` (valohai-cli 0.37.0), side by side.

Every comparison runs the two commands interleaved (A B A B ...) against the same loopback
emulator and reports medians and their ratio, so machine noise hits both sides alike.
Nothing here is a pass/fail test of the suite; the targets are printed next to the numbers.

    python tests/benchmarks/bench.py [--runs N] [--write-docs]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VH_VENV = ROOT / ".bench" / "vh-venv"
VH_LITE = Path(sys.executable).parent / "vh-lite"
TOKEN = "bench-token-0123456789abcdef"
DOCS = ROOT / "docs" / "performance.md"


@dataclass
class Sample:
    seconds: float
    max_rss_kib: int


@dataclass
class Row:
    name: str
    a_label: str
    a_median: float
    b_label: str
    b_median: float | None
    target: str
    passed: bool | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return None if self.b_median is None else self.a_median / self.b_median


def ensure_vh() -> Path:
    vh = VH_VENV / "bin" / "vh"
    if not vh.exists():
        print("installing valohai-cli==0.37.0 into .bench/vh-venv ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VH_VENV)], check=True)
        subprocess.run(
            [
                str(VH_VENV / "bin" / "pip"),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "valohai-cli==0.37.0",
            ],
            check=True,
        )
    return vh


def run_once(cmd: list[str], env: dict[str, str], stdin: str | None = None) -> Sample:
    """Wall time and peak RSS of one whole process (wait4 gives that process's own rusage)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if stdin:
        assert proc.stdin is not None
        proc.stdin.write(stdin.encode())
        proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err.strip()}")
    return Sample(elapsed, usage.ru_maxrss)


def interleaved(
    a: tuple[list[str], dict[str, str]], b: tuple[list[str], dict[str, str]], runs: int
) -> tuple[list[Sample], list[Sample]]:
    run_once(*a)  # warm the page cache for both before timing
    run_once(*b)
    a_samples, b_samples = [], []
    for _ in range(runs):
        a_samples.append(run_once(*a))
        b_samples.append(run_once(*b))
    return a_samples, b_samples


def median(samples: list[Sample]) -> float:
    return statistics.median(s.seconds for s in samples)


@contextlib.contextmanager
def emulator(*args: str) -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "valohai_cli_lite.emulator", "--port", "0", "--token", TOKEN, *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def secret_service(base_env: dict[str, str], home: Path) -> Iterator[dict[str, str] | None]:
    """A private D-Bus session with an unlocked gnome-keyring, or None when not installed."""
    if not (shutil.which("dbus-daemon") and shutil.which("gnome-keyring-daemon")):
        yield None
        return
    runtime = home / "run"
    runtime.mkdir(mode=0o700)
    env = {**base_env, "XDG_RUNTIME_DIR": str(runtime)}
    env.pop("PYTHON_KEYRING_BACKEND", None)
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert bus.stdout is not None
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
        subprocess.run(
            ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--daemonize"],
            input="bench",
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        yield env
    finally:
        bus.terminate()
        bus.wait(timeout=10)


def isolated_env(home: Path) -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE would make every run recompile vh-lite's sources, a cost no
    # installed copy pays (pip compiles at install time).
    drop = (
        "VH_API_TOKEN",
        "VALOHAI_TOKEN",
        "VH_HOST",
        "VALOHAI_HOST",
        "VH_PROFILE",
        "VH_FORMAT",
        "VH_LITE_CONFIG_DIR",
        "VALOHAI_CONFIG_DIR",
        "DBUS_SESSION_BUS_ADDRESS",
        "PYTHONDONTWRITEBYTECODE",
    )
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    return env


def floors(url: str, runs: int) -> dict[str, float]:
    """What no client can beat: interpreter start, one round trip, CPU for 10,000 projects."""
    python = statistics.median(
        run_once([sys.executable, "-c", "pass"], dict(os.environ)).seconds for _ in range(runs)
    )
    # The two runtime dependencies every API command needs, imported and nothing else done
    # (httpcore is what httpx loads when its first Client is made).
    deps = statistics.median(
        run_once(
            [sys.executable, "-c", "import typer, httpx, httpcore, os; os._exit(0)"],
            dict(os.environ),
        ).seconds
        for _ in range(runs)
    )
    import urllib.request

    from valohai_cli_lite.emulator.data import make_project

    request = urllib.request.Request(
        f"{url}/api/v0/users/me/", headers={"Authorization": f"Token {TOKEN}"}
    )
    trips = []
    for _ in range(runs):
        started = time.perf_counter()
        with urllib.request.urlopen(request) as response:
            response.read()
        trips.append(time.perf_counter() - started)
    pages = [
        json.dumps(
            {
                "count": 10_000,
                "results": [make_project(i, url) for i in range(p * 100, p * 100 + 100)],
            }
        )
        for p in range(100)
    ]
    started = time.perf_counter()
    with open(os.devnull, "w") as sink:
        for page in pages:
            for project in json.loads(page)["results"]:
                sink.write(json.dumps(project, separators=(",", ":")) + "\n")
    cpu = time.perf_counter() - started
    return {"python": python, "deps": deps, "round_trip": statistics.median(trips), "cpu_10k": cpu}


Side = tuple[list[str], dict[str, str]]  # a command and its environment


def versus(name: str, lite: Side, vh: Side, runs: int, at_most: float | None) -> Row:
    """vh-lite against vh, interleaved; met when vh-lite's median <= at_most x vh's."""
    a, b = interleaved(lite, vh, runs)
    target = "(no target)" if at_most is None else f"<= {at_most:g} x vh"
    met = None if at_most is None else median(a) <= at_most * median(b)
    return Row(name, "vh-lite", median(a), "vh", median(b), target, met)


def setup(
    cmd: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a preparation step (a login, a sanity listing); raises if it fails."""
    return subprocess.run(cmd, input=stdin, env=env, capture_output=True, text=True, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="timed runs per side (default 11)")
    parser.add_argument("--big-runs", type=int, default=3, help="runs of the 10,000 listing")
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()

    vh = ensure_vh()
    lite = str(VH_LITE)
    lite_list = [lite, "projects", "list", "--json"]
    vh_list = [str(vh), "--output-format", "json", "project", "list"]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "valohai_cli_lite")], check=True
    )
    rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="vh-bench-"))
    for name in ("vh-env", "vh-file"):  # vh refuses a config dir that does not exist
        (work / name).mkdir()
    try:
        env = isolated_env(work)
        rows.append(versus("--version", ([lite, "--version"], env),
                           ([str(vh), "--version"], env), args.runs, 0.15))  # fmt: skip
        rows.append(versus("--help", ([lite, "--help"], env),
                           ([str(vh), "--help"], env), args.runs, None))  # fmt: skip

        with emulator("--projects", "100", "--page-size", "100") as url:
            lite_env = {**env, "VH_API_TOKEN": TOKEN, "VH_HOST": url}
            vh_env = {**env, "VALOHAI_TOKEN": TOKEN, "VALOHAI_HOST": url,
                      "VALOHAI_CONFIG_DIR": str(work / "vh-env")}  # fmt: skip
            assert len(json.loads(setup(lite_list, lite_env).stdout)) == 100
            rows.append(versus("list 100, env token", (lite_list, lite_env), (vh_list, vh_env),
                               args.runs, 0.5))  # fmt: skip

            # Tokens stored on disk: vh's plain config.json against vh-lite's 0600 file.
            file_env = {**env, "VH_LITE_CONFIG_DIR": str(work / "lite-file")}
            setup([lite, "login", "--host", url, "--with-token", "--insecure-storage"],
                  file_env, stdin=TOKEN)  # fmt: skip
            vh_file_env = {**env, "VALOHAI_CONFIG_DIR": str(work / "vh-file")}
            setup([str(vh), "login", "--host", url, "--token", TOKEN], vh_file_env)
            rows.append(versus("list 100, stored token (file)", (lite_list, file_env),
                               (vh_list, vh_file_env), args.runs, None))  # fmt: skip

            with secret_service(env, work) as keyring_env:
                if keyring_env is None:
                    rows.append(Row("list 100, token in gnome-keyring", "vh-lite", float("nan"),
                                    "vh", None, "<= 0.8 x vh", None,
                                    "skipped: gnome-keyring not installed"))  # fmt: skip
                else:
                    kr_env = {**keyring_env, "VH_LITE_CONFIG_DIR": str(work / "lite-kr")}
                    login = setup([lite, "login", "--host", url, "--with-token"], kr_env,
                                  stdin=TOKEN)  # fmt: skip
                    assert "system keyring" in login.stderr, login.stderr
                    rows.append(versus("list 100, token in gnome-keyring (vh: file)",
                                       (lite_list, kr_env), (vh_list, vh_file_env), args.runs,
                                       0.8))  # fmt: skip
            measured_floors = floors(url, args.runs)

        with emulator("--projects", "10000", "--page-size", "100", "--latency-ms", "50") as url:
            big_env = {**env, "VH_API_TOKEN": TOKEN, "VH_HOST": url}
            command = [lite, "projects", "list", "--format", "jsonl"]
            ids = [json.loads(line)["id"] for line in setup(command, big_env).stdout.splitlines()]
            assert len(ids) == 10_000 and len(set(ids)) == 10_000, len(ids)
            latency_floor = 100 * 0.050
            sequential, concurrent = interleaved(
                ([*command, "--max-concurrency", "1"], big_env), (command, big_env), args.big_runs
            )
            rows.append(Row("list 10,000 @ 50 ms, --max-concurrency 1", "vh-lite",
                            median(sequential), "100 x 50 ms", latency_floor, "(reference)",
                            None))  # fmt: skip
            rows.append(Row("list 10,000 @ 50 ms, default concurrency", "vh-lite",
                            median(concurrent), "100 x 50 ms", latency_floor, "<= 0.25 x 5.0 s",
                            median(concurrent) <= 0.25 * latency_floor))  # fmt: skip
            peak = max(s.max_rss_kib for s in concurrent) / 1024
            rows.append(Row("peak RSS, 10,000 as jsonl (MiB)", "vh-lite", peak, "", None,
                            "<= 60 MiB", peak <= 60))  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = render(rows, measured_floors)
    print(table)
    if args.write_docs:
        write_docs(table, args)
    return 0 if all(r.passed is not False for r in rows) else 1


def render(rows: list[Row], measured_floors: dict[str, float]) -> str:
    lines = ["| scenario | vh-lite | other | ratio | target | met |", "|---|---|---|---|---|---|"]
    for r in rows:
        is_rss = "RSS" in r.name
        a = f"{r.a_median:.1f} MiB" if is_rss else f"{r.a_median:.3f} s"
        b = "" if r.b_median is None else f"{r.b_label} {r.b_median:.3f} s"
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        met = {True: "yes", False: "**NO**", None: ""}[r.passed]
        lines.append(f"| {r.name} | {a} | {b} | {ratio} | {r.target} | {met or r.note} |")
    lines += [
        "",
        "Floors measured in the same run:",
        "",
        f"- `python -c pass`: {measured_floors['python']:.3f} s",
        f"- a process that only imports typer and httpx (+httpcore): "
        f"{measured_floors['deps']:.3f} s",
        f"- one HTTP round trip to the emulator (warm, in-process): "
        f"{measured_floors['round_trip'] * 1000:.2f} ms",
        f"- CPU to parse 100 pages and print 10,000 projects as JSONL (in-process): "
        f"{measured_floors['cpu_10k']:.3f} s",
    ]
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def write_docs(table: str, args: argparse.Namespace) -> None:
    text = DOCS.read_text() if DOCS.exists() else ""
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    stamp = (
        f"Measured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}; "
        f"medians of {args.runs} interleaved runs per side ({args.big_runs} for the "
        "10,000 listing)."
    )
    block = f"{start}\n{stamp}\n\n{table}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text + "\n" + block + "\n"
    DOCS.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
