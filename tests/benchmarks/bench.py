"""`make bench`: vh-lite against the official client `vh` (valohai-cli 0.37.0), side by side.

Every comparison runs the commands interleaved (A B A B ...) against the same loopback
emulator, run as its own process, and reports medians and their ratio, so machine noise hits
both sides alike. Every timed run's output is checked (all the projects, each once). The exit
status is 0 only when every target is met; nothing here is part of the test suite.

    python tests/benchmarks/bench.py [--runs N] [--only PART,...] [--write-docs]

The parts, in order: startup (--version, --help), http (100 projects: --json with the token in
the environment, a file or gnome-keyring; the table on a pty; the floors), https (--json with a
private CA), big (1,000-100,000 projects at 0/50/150 ms), gateway (4 requests in flight allowed),
formats (100,000 projects in every format: wall, peak RSS, first byte), first-row (the
100,000-project table's first row against a 100-project table's, at 0 and 50 ms),
executions (100 of a project's executions: --json and the table on a pty, against vh),
executions-100k (a project with 100,000 executions in every format), mechanisms (every speed
mechanism with and without it, on the figure it targets; after formats, whose figures the
streamed table's row uses).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks.*` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import executions, large, mechanisms, small
from benchmarks.harness import ROOT, VH_LITE, Bench, ensure_vh, isolated_env
from benchmarks.report import Report, render, stamp, write_docs
from benchmarks.spawner import spawner

METHOD = [
    "Whole processes, started by a small launcher forked from the bench at its start (so the "
    "peak RSS wait4 reports is the process's own), against the emulator running as its own "
    "process on 127.0.0.1. Every timed run's output is checked: all N projects, each once "
    "(JSON, JSONL and CSV parsed too). Each measurement starts with an untimed run, so the "
    "figures are for a repeat run (warm caches, vh-lite's remembered page size and total).",
    "On a pty: a 160x48 pseudo-terminal is the process's controlling terminal, stdin, stdout "
    "and stderr, read to EOF; TERM=xterm-256color, VH_PAGER=PAGER=cat. First row: until "
    "project-0001's name is on the terminal (the 100,000-project table is stopped there when "
    "only its first row is timed). Into a pipe: stdout read to EOF as it comes; first "
    "byte: its first byte.",
    "https: a private CA and a server certificate for 127.0.0.1 made with openssl; both clients "
    "trust one bundle, certifi's cacert.pem from vh's virtualenv plus that CA, through "
    "SSL_CERT_FILE (vh-lite) and REQUESTS_CA_BUNDLE + SSL_CERT_FILE (vh); without it both refuse "
    "the server.",
    "Gateway: the emulator with --max-in-flight 4, restarted on the same port for each run so "
    "that its --stats line counts that run's 429s.",
]

PARTS: dict[str, Callable[[Bench, Report], None]] = {
    "startup": small.startup,
    "http": small.lists_over_http,
    "https": small.lists_over_https,
    "big": large.big_accounts,
    "gateway": large.gateway,
    "formats": large.formats,
    "first-row": large.first_rows,
    "executions": executions.executions_vs_vh,
    "executions-100k": executions.executions_at_scale,
    "mechanisms": mechanisms.mechanisms,
}


def _parts(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in PARTS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown part(s) {unknown}; choose from {list(PARTS)}")
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs per side (default 21)")
    parser.add_argument("--big-runs", type=int, default=3, help="runs of 10,000 @ 50 ms")
    parser.add_argument("--format-runs", type=int, default=3, help="runs per format at 100,000")
    parser.add_argument("--gateway-runs", type=int, default=3, help="runs behind the gateway")
    parser.add_argument("--only", type=_parts, default=list(PARTS), metavar="PART,...",
                        help=f"run only these parts: {', '.join(PARTS)}")  # fmt: skip
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    if args.write_docs and args.only != list(PARTS):
        parser.error("--write-docs needs every part (no --only)")

    started = time.perf_counter()
    launcher = spawner()  # forked now, while the bench is small: see spawner.py
    vh = ensure_vh()
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "valohai_cli_lite")], check=True
    )
    work = Path(tempfile.mkdtemp(prefix="vh-bench-"))
    for name in ("vh-env", "vh-file"):  # vh refuses a config dir that does not exist
        (work / name).mkdir()
    bench = Bench(vh, VH_LITE, work, isolated_env(work), args.runs, args.big_runs,
                  args.format_runs, args.gateway_runs)  # fmt: skip
    report = Report(method=METHOD)
    report.floors.append(
        f"every peak RSS includes the launching process's own {launcher.rss_floor_kib / 1024:.1f} "
        "MiB (tests/benchmarks/spawner.py)"
    )
    try:
        for part in args.only:
            print(f"bench: {part} ...", file=sys.stderr, flush=True)
            PARTS[part](bench, report)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    report.runs = [
        f"medians of {args.runs} interleaved runs per side (start-up, 100 projects, floors)",
        f"{args.big_runs} for 10,000 @ 50 ms and its reference",
        f"1-5 for the other big accounts (as shown; about {large.CELL_BUDGET_S:.0f} s each)",
        f"{args.gateway_runs} gateway runs, each against a fresh emulator",
        f"{args.format_runs} per format at 100,000, formats interleaved",
        f"{max(args.runs, 25)} of the first table row, 100,000 against 100 projects, at 0 and "
        "50 ms a request",
    ]
    text = f"{stamp(report, time.perf_counter() - started)}\n\n{render(report)}"
    print(text)
    if args.write_docs:
        write_docs(text)
    return 0 if report.all_met else 1


if __name__ == "__main__":
    sys.exit(main())
