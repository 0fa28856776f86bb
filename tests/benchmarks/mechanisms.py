"""Does every speed mechanism earn its place? Each is measured on the user-visible figure it
targets, with it and without it, interleaved in one run.

"Without" is the same vh-lite with that one mechanism turned off before it starts (a line of
Python patched in by the launching command; nothing in the package knows about it). A
mechanism saving under 5% of its figure does not earn its lines (docs/performance.md).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Sequence
from functools import partial
from typing import NamedTuple

from benchmarks.checks import projects_as
from benchmarks.executions import PROJECT, counters_all
from benchmarks.harness import (
    ROOT,
    TOKEN,
    Bench,
    Check,
    Sample,
    interleaved,
    median,
    run_once,
    run_streamed,
    setup,
    terminal_env,
)
from benchmarks.report import MechanismRow, Report
from benchmarks.servers import emulator, private_ca, secret_service

MIB = 1024
# vh-lite as the console script starts it, with one mechanism patched out first.
LAUNCH = (
    "import sys\nsys.argv[0] = 'vh-lite'\n{patch}\nimport valohai_cli_lite.launcher\n"
    "valohai_cli_lite.launcher.main()"
)


class Mechanism(NamedTuple):
    name: str
    code: Sequence[str]  # "path" (the whole module) or "path:name" (a function, class, constant)
    patch: str  # Python that turns it off; "" when "without" is measured another way


def lines(code: Sequence[str]) -> int:
    """How many lines the mechanism's code takes: whole modules, or top-level definitions."""
    total = 0
    for spec in code:
        path, _, name = spec.partition(":")
        source = (ROOT / "valohai_cli_lite" / path).read_text()
        if not name:
            total += len(source.splitlines())
            continue
        for node in ast.parse(source).body:
            names = [getattr(node, "name", None)]
            if isinstance(node, ast.Assign):
                names = [getattr(t, "id", None) for t in node.targets]
            if name in names:
                total += (node.end_lineno or node.lineno) - node.lineno + 1
                break
        else:
            raise LookupError(f"{spec}: no such definition")
    return total


def off(module: str, name: str, value: str) -> str:
    """Python that replaces `name` in valohai_cli_lite.`module` before vh-lite starts."""
    return f"import valohai_cli_lite.{module} as m\nm.{name} = {value}"


VERSION = Mechanism(
    "--version answered before Typer loads",
    ["launcher.py:main"],
    (
        "from valohai_cli_lite.cli import run\n"
        "from valohai_cli_lite.terminal.iostreams import IOStreams\n"
        + off("launcher", "main", "lambda: m.exit_now(run(sys.argv[1:], IOStreams.system()))")
    ),
)
PER_COMMAND = Mechanism(
    "only the command that runs is built",
    ["cli.py:command_word", "cli.py:OPTIONS_WITH_VALUES"],
    off("cli", "command_word", "lambda *a: None"),
)
GC = Mechanism(
    "the cycle collector runs every 100,000 allocations",
    ["launcher.py:collect_garbage_less_often"],
    off("launcher", "collect_garbage_less_often", "lambda: None"),
)
NO_TEARDOWN = Mechanism(
    "exit without the interpreter's teardown",
    ["launcher.py:exit_now", "launcher.py:_save_coverage"],
    "def leave(code, last_output=''):\n"
    "    sys.stdout.write(last_output); sys.stdout.flush(); sys.exit(code)\n"
    + off("launcher", "exit_now", "leave"),
)
LAZY = Mechanism(
    "nothing loaded or built that the run does not use (heavy libraries, a trust store for a "
    "plain-http host, character sets nothing prints)",
    [],
    "import httpx, httpcore, rich.console, rich.progress, rich.table, keyring, secretstorage, "
    "platformdirs, certifi, re\ncertifi.where()\nimport valohai_cli_lite.text as t\n"
    "[re.compile(p) for p in (t._CONTROL_CHARS, t._UNSAFE_IN_CELLS, t._TERMINAL_UNSAFE)]",
)
TRUST = Mechanism(
    "the trust store as a hashed directory",
    ["client/trust.py"],
    off("client.trust", "hashed_directory", "lambda *a: None"),
)
KEYRING = Mechanism(
    "the Secret Service read without keyring",
    ["auth/credentials.py:_read_secret_service"],
    off("auth.credentials", "_read_secret_service", "lambda *a: None"),
)
EARLY = Mechanism(
    "early page requests from last time's list (paging cache)",
    ["client/paging_cache.py", "client/paging.py:_OffsetRequests"],
    off("client.paging_cache", "PagingCache.get", "lambda self, key: None"),
)
WINDOW = Mechanism(
    "pages fetched several at once (Window)",
    ["client/paging.py:Window", "client/paging.py:pages_by_offset"],
    "",
)
STREAMED = Mechanism("the table streams (widths from the first page)", ["output/table.py"], "")
SPOOL = Mechanism(
    "rendered text spooled, not records",
    ["output/render.py:_spooled"],
    "import valohai_cli_lite.output.render as r\nwhole = r.write_records\n"
    + off(
        "output.render",
        "write_records",
        "lambda io, pages, *a, **k: whole(io, [[x for p in pages for x in p]], *a, **k)",
    ),
)
MEMORY = Mechanism(
    "freed memory given back to the system (glibc's thresholds fixed)",
    ["client/paging.py:give_back_freed_memory"],
    off("client.paging", "give_back_freed_memory", "lambda: None"),
)
ASCII = Mechanism(
    "ASCII cells measured with len()",
    ["output/table.py:_cell_len"],
    "import rich.cells\n" + off("output.table", "_cell_len", "rich.cells.cell_len"),
)
TSV = Mechanism(
    "TSV escaped with str.replace",
    ["text.py:tsv_escape"],
    "table = str.maketrans({'\\\\': '\\\\\\\\', '\\t': '\\\\t', "
    "'\\n': '\\\\n', '\\r': '\\\\r'})\n"
    + off("text", "tsv_escape", "lambda text: text.translate(table)"),
)


def _launch(patch: str, args: Sequence[str]) -> list[str]:
    return [sys.executable, "-c", LAUNCH.format(patch=patch or "pass"), *args]


def _compare(
    report: Report,
    mechanism: Mechanism,
    measure: str,
    args: Sequence[str],
    env: dict[str, str],
    runs: int,
    *,
    rss: bool = False,
    terminal: bool = False,
    check: Check | None = None,
    without_args: Sequence[str] = (),
) -> None:
    """With and without `mechanism`, interleaved; its saving on `measure` (the median wall
    time, or with `rss` the peak RSS) goes in the report. Output is checked when `check` is
    given (or watched on a pty with `terminal`)."""

    def side(patch: str, more: Sequence[str]) -> partial[Sample]:
        cmd = _launch(patch, [*args, *more])
        if check is not None or terminal:
            return partial(run_streamed, cmd, env, terminal=terminal, check=check)
        return partial(run_once, cmd, env)

    with_it, without_it = interleaved([side("", ()), side(mechanism.patch, without_args)], runs)

    def figure(samples: list[Sample]) -> float:
        return max(s.max_rss_kib for s in samples) / MIB if rss else median(samples)

    row = MechanismRow(mechanism.name, lines(mechanism.code), measure, figure(with_it),
                       figure(without_it), "MiB" if rss else "s")  # fmt: skip
    report.mechanisms.append(row)


def mechanisms(bench: Bench, report: Report) -> None:
    env, runs, work = bench.env, bench.runs, bench.work
    with emulator("--projects", "100", "--page-size", "100") as emu:
        listing = ["projects", "list", "--json"]
        token_env = {**env, "VH_API_TOKEN": TOKEN, "VH_HOST": emu.url}
        _compare(report, VERSION, "vh-lite --version", ["--version"], env, runs)
        for mechanism in (PER_COMMAND, GC, NO_TEARDOWN, LAZY):
            _compare(report, mechanism, "list 100 --json, env token", listing, token_env, runs)
        with secret_service(env, work) as keyring_env:
            if keyring_env is not None:
                kr_env = {**keyring_env, "VH_LITE_CONFIG_DIR": str(work / "mech-kr")}
                setup([str(bench.lite), "login", "--host", emu.url, "--with-token"], kr_env,
                      stdin=TOKEN)  # fmt: skip
                _compare(report, KEYRING, "list 100 --json, token in gnome-keyring", listing,
                         kr_env, runs)  # fmt: skip
    tls = private_ca(work / "mech-tls")
    with emulator("--projects", "100", "--page-size", "100", "--tls-cert", str(tls.cert),
                  "--tls-key", str(tls.key)) as emu:  # fmt: skip
        https_env = {**env, "SSL_CERT_FILE": str(tls.bundle), "VH_API_TOKEN": TOKEN,
                     "VH_HOST": emu.url}  # fmt: skip
        _compare(report, TRUST, "list 100 --json over https", listing, https_env, runs)
    for count, latency, mechanism, without_args in (
        (1_000, 50, EARLY, ()),
        (10_000, 50, WINDOW, ("--max-concurrency", "1")),
    ):
        flags = ["--projects", str(count), "--page-size", "100", "--latency-ms", str(latency)]
        with emulator(*flags) as emu:
            jsonl_env = {**env, "VH_API_TOKEN": TOKEN, "VH_HOST": emu.url}
            _compare(report, mechanism, f"{count:,} projects @ {latency} ms, jsonl",
                     ["projects", "list", "--format", "jsonl"], jsonl_env, bench.big_runs,
                     check=projects_as("jsonl", count), without_args=without_args)  # fmt: skip
    _at_scale(bench, report)


def _at_scale(bench: Bench, report: Report) -> None:
    count, runs = 100_000, bench.format_runs
    with emulator("--projects", str(count), "--page-size", "100") as emu:
        env = {**bench.env, "VH_API_TOKEN": TOKEN, "VH_HOST": emu.url}
        lite = ["projects", "list"]
        _compare(report, SPOOL, "peak RSS, 100,000 as --json", [*lite, "--json"], env, runs,
                 rss=True, check=projects_as("json", count))  # fmt: skip
        _compare(report, TSV, "100,000 as TSV", [*lite, "--format", "tsv"], env, runs,
                 check=projects_as("tsv", count))  # fmt: skip
        _compare(report, ASCII, "100,000 as a table on a pty", lite, terminal_env(env), runs,
                 terminal=True)  # fmt: skip
    with emulator("--projects", "1", "--executions", str(count), "--page-size", "100") as emu:
        env = {**bench.env, "VH_API_TOKEN": TOKEN, "VH_HOST": emu.url, "VH_PROJECT": PROJECT}
        _compare(report, MEMORY, "peak RSS, 100,000 executions as jsonl",
                 ["executions", "list", "--format", "jsonl"], env, runs, rss=True,
                 check=counters_all("jsonl", count))  # fmt: skip
    # The table cannot be turned off: without streaming, its first row would wait for the
    # whole listing, as the formats that are not streamed do (their first byte).
    table = next((f for f in report.formats if f.label.startswith("table")), None)
    whole = next((f for f in report.formats if f.label == "--format json"), None)
    if table is not None and whole is not None and table.first_row is not None:
        report.mechanisms.append(MechanismRow(STREAMED.name, lines(STREAMED.code),
                                              "100,000 as a table: first row on screen",
                                              table.first_row, whole.first_byte, "s"))  # fmt: skip
