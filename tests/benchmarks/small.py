"""The everyday commands, vh-lite against vh: start-up, 100 projects over http and https, with
the token in the environment, a file or gnome-keyring, the table on a terminal; and the floors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from functools import partial

from benchmarks.checks import names_all, projects_as
from benchmarks.harness import (
    TOKEN,
    Bench,
    BenchError,
    Check,
    Side,
    interleaved,
    median,
    run_once,
    run_streamed,
    setup,
    terminal_env,
)
from benchmarks.report import Report, Row
from benchmarks.servers import emulator, private_ca, round_trip, secret_service

# What a process that only loads the libraries the table path needs costs (httpcore is what
# httpx loads when its first client is made); it leaves as vh-lite does, with os._exit.
IMPORTS = "import typer, httpx, httpcore"
RICH = "import rich.console, rich.table, rich.text"
EXIT = "import os; os._exit(0)"
GC = "import gc; gc.set_threshold(100_000)"  # as launcher.collect_garbage_less_often does


def versus(name: str, lite: Side, vh: Side, runs: int, at_most: float | None) -> Row:
    """vh-lite against vh, interleaved; met when vh-lite's median <= at_most x vh's."""
    a, b = interleaved([lite, vh], runs)
    target = "(no target)" if at_most is None else f"<= {at_most:g} x vh"
    met = None if at_most is None else median(a) <= at_most * median(b)
    return Row(name, median(a), "vh", median(b), target, met)


def startup(bench: Bench, report: Report) -> None:
    lite, vh, env = str(bench.lite), str(bench.vh), bench.env
    for flag, at_most in (("--version", 0.15), ("--help", None)):
        lite_side = partial(run_once, [lite, flag], env)
        vh_side = partial(run_once, [vh, flag], env)
        report.rows.append(versus(flag, lite_side, vh_side, bench.runs, at_most))


def _json_lists(
    bench: Bench, lite_env: dict[str, str], vh_env: dict[str, str]
) -> tuple[Side, Side]:
    """`--json` listings of 100 projects by both clients, each checked once before timing."""
    lite_cmd = [str(bench.lite), "projects", "list", "--json"]
    vh_cmd = [str(bench.vh), "--output-format", "json", "project", "list"]
    projects_as("json", 100)(setup(lite_cmd, lite_env).stdout.encode())
    projects_as("json", 100)(setup(vh_cmd, vh_env).stdout.encode())
    return partial(run_once, lite_cmd, lite_env), partial(run_once, vh_cmd, vh_env)


def lists_over_http(bench: Bench, report: Report) -> None:
    """100 projects, page cap 100: --json three ways, the table on a pty, and the floors."""
    lite, vh, env, work = str(bench.lite), str(bench.vh), bench.env, bench.work
    with emulator("--projects", "100", "--page-size", "100") as emu:
        url = emu.url
        lite_env = {**env, "VH_API_TOKEN": TOKEN, "VH_HOST": url}
        vh_env = {**env, "VALOHAI_TOKEN": TOKEN, "VALOHAI_HOST": url,
                  "VALOHAI_CONFIG_DIR": str(work / "vh-env")}  # fmt: skip
        sides = _json_lists(bench, lite_env, vh_env)
        report.rows.append(versus("list 100 --json, env token", *sides, bench.runs, 0.55))

        # Tokens stored on disk: vh's plain config.json against vh-lite's 0600 file.
        file_env = {**env, "VH_LITE_CONFIG_DIR": str(work / "lite-file")}
        setup([lite, "login", "--host", url, "--with-token", "--insecure-storage"],
              file_env, stdin=TOKEN)  # fmt: skip
        vh_file_env = {**env, "VALOHAI_CONFIG_DIR": str(work / "vh-file")}
        setup([vh, "login", "--host", url, "--token", TOKEN], vh_file_env)
        sides = _json_lists(bench, file_env, vh_file_env)
        report.rows.append(versus("list 100 --json, stored token (file)", *sides, bench.runs,
                                  None))  # fmt: skip

        with secret_service(env, work) as keyring_env:
            name = "list 100 --json, token in gnome-keyring (vh: file)"
            if keyring_env is None:
                report.rows.append(Row(name, float("nan"), target="<= 0.7 x vh",
                                       note="skipped: gnome-keyring not installed"))  # fmt: skip
            else:
                kr_env = {**keyring_env, "VH_LITE_CONFIG_DIR": str(work / "lite-kr")}
                login = setup([lite, "login", "--host", url, "--with-token"], kr_env, stdin=TOKEN)
                if "system keyring" not in login.stderr:
                    raise BenchError(f"the token did not go to the keyring: {login.stderr}")
                sides = _json_lists(bench, kr_env, vh_file_env)
                report.rows.append(versus(name, *sides, bench.runs, 0.7))

        floors(bench, report, url)
        table_on_a_terminal(bench, report, terminal_env(file_env), terminal_env(vh_file_env))


def table_on_a_terminal(
    bench: Bench, report: Report, lite_env: dict[str, str], vh_env: dict[str, str]
) -> None:
    """The default command in a pseudo-terminal, both logged in; the import floors the same way."""

    def on_pty(cmd: list[str], env: dict[str, str], check: Check | None = None) -> Side:
        return partial(run_streamed, cmd, env, terminal=True, check=check)

    lite = on_pty([str(bench.lite), "projects", "list"], lite_env, check=names_all(100))
    vh = on_pty([str(bench.vh), "project", "list"], vh_env, check=names_all(100))
    floor_rich = on_pty([sys.executable, "-c", f"{IMPORTS}; {RICH}; {EXIT}"], lite_env)
    floor_bare = on_pty([sys.executable, "-c", f"{IMPORTS}; {EXIT}"], lite_env)
    a, b, rich, bare = interleaved([lite, vh, floor_rich, floor_bare], bench.runs)
    report.rows.append(Row("list 100 as a table on a pty, stored token", median(a), "vh",
                           median(b), "<= 0.6 x vh", median(a) <= 0.6 * median(b)))  # fmt: skip
    report.rows.append(Row("floor: only imports typer, httpx, rich (pty)", median(rich), "vh",
                           median(b), "(floor of the row above)"))  # fmt: skip
    report.floors.append(
        f"a process that only imports typer, httpx, httpcore and rich.console/table/text, on a "
        f"pty: {median(rich):.3f} s = {median(rich) / median(b):.2f} x vh's table; without rich "
        f"{median(bare):.3f} s = {median(bare) / median(b):.2f} x vh's table"
    )


def lists_over_https(bench: Bench, report: Report) -> None:
    """--json from an emulator with a certificate from a private CA; both clients trust one
    bundle, certifi's roots plus that CA, given through the environment."""
    tls = private_ca(bench.work / "tls")
    flags = ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key)]
    vh_config = bench.work / "vh-tls"
    vh_config.mkdir()
    with emulator("--projects", "100", "--page-size", "100", *flags) as emu:
        base = {**bench.env, "SSL_CERT_FILE": str(tls.bundle)}
        lite_env = {**base, "VH_API_TOKEN": TOKEN, "VH_HOST": emu.url}
        vh_env = {**base, "REQUESTS_CA_BUNDLE": str(tls.bundle), "VALOHAI_TOKEN": TOKEN,
                  "VALOHAI_HOST": emu.url, "VALOHAI_CONFIG_DIR": str(vh_config)}  # fmt: skip
        # Both really verify: without the bundle the same command fails.
        for cmd, env in (
            ([str(bench.lite), "projects", "list", "--json"], lite_env),
            ([str(bench.vh), "project", "list"], vh_env),
        ):
            trust = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
            untrusting = {k: v for k, v in env.items() if k not in trust}
            done = subprocess.run(cmd, env=untrusting, capture_output=True, timeout=60)
            if done.returncode == 0:
                raise BenchError(f"{cmd[0]} trusted the private CA without being told to")
        sides = _json_lists(bench, lite_env, vh_env)
        report.rows.append(versus("list 100 --json over https, same CA bundle", *sides,
                                  bench.runs, 0.55))  # fmt: skip


def floors(bench: Bench, report: Report, url: str) -> None:
    """What no client can beat: interpreter start, the imports, a round trip, the CPU."""
    env = bench.env
    python = median([run_once([sys.executable, "-c", "pass"], env) for _ in range(bench.runs)])
    deps, deps_gc = map(
        median,
        interleaved(
            [
                partial(run_once, [sys.executable, "-c", f"{IMPORTS}; {EXIT}"], env),
                partial(run_once, [sys.executable, "-c", f"{GC}; {IMPORTS}; {EXIT}"], env),
            ],
            bench.runs,
        ),
    )
    me = round_trip(url, "/api/v0/users/me/", bench.runs)
    page = round_trip(url, "/api/v0/projects/?limit=100", bench.runs)
    report.floors += [
        f"`python -c pass`: {python:.3f} s",
        f"a process that only imports typer and httpx (+httpcore): {deps:.3f} s; with "
        f"vh-lite's garbage-collector threshold (`{GC}`): {deps_gc:.3f} s",
        f"one HTTP round trip to the emulator (warm, in-process, new connection): "
        f"{me * 1000:.2f} ms; one page of 100 projects: {page * 1000:.2f} ms",
        f"CPU to parse 100 pages and print 10,000 projects as JSONL (in-process): "
        f"{_cpu_for_10k(url):.3f} s",
    ]


def _cpu_for_10k(url: str) -> float:
    from valohai_cli_lite.emulator.data import make_project

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
    return time.perf_counter() - started
