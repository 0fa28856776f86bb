"""A project's executions, vh-lite against vh: 100 of them as --json and as the table on a
pty; and a project with 100,000 executions in every format (vh-lite alone: vh lists one page).
"""

from __future__ import annotations

import csv
import io
import json
import re
from functools import partial

from benchmarks.harness import (
    TOKEN,
    Bench,
    BenchError,
    Check,
    interleaved,
    median,
    run_once,
    run_streamed,
    setup,
    terminal_env,
)
from benchmarks.report import FormatRow, Report, Row
from benchmarks.servers import emulator

from valohai_cli_lite.emulator.data import project_id

PROJECT = project_id(0)  # the emulator's first project: its id is the same on every run
MIB = 1024
# A row starts with its counter, then a tab (plain lines) or two spaces (a table's gap; the
# count under the table has one).
_ROW = re.compile(rb"^[^\S\n]*(\d+)(?:\t|  )", re.MULTILINE)
# vh shows a table wider than the terminal as one "Header | value" block per execution.
_VERTICAL = re.compile(rb"^\s*# \| (\d+)", re.MULTILINE)
_ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\]8;[^\x1b]*\x1b\\")


def counters_all(fmt: str, count: int) -> Check:
    """Executions 1..count, each once: parsed where the format is machine-readable, else
    the counter that starts each table row (vh-lite's and vh's)."""

    def check(output: bytes) -> None:
        if fmt == "json":
            counters = [e["counter"] for e in json.loads(output)]
        elif fmt == "jsonl":
            counters = [json.loads(line)["counter"] for line in output.splitlines()]
        elif fmt == "csv":
            counters = [int(r["counter"]) for r in csv.DictReader(io.StringIO(output.decode()))]
        elif fmt == "tsv":
            counters = [int(line.split(b"\t")[0]) for line in output.splitlines()[1:]]
        else:  # a table (links and colours taken out) or plain lines
            text = _ESCAPES.sub(b"", output)
            counters = [int(n) for n in _VERTICAL.findall(text) or _ROW.findall(text)]
        if sorted(counters) != list(range(1, count + 1)):
            raise BenchError(f"expected executions 1..{count} once each, got {len(counters)}")

    return check


def executions_vs_vh(bench: Bench, report: Report) -> None:
    """100 executions of one project (page cap 100): --json, and the table on a pty."""
    lite, vh = str(bench.lite), str(bench.vh)
    with emulator("--projects", "1", "--executions", "100", "--page-size", "100") as emu:
        lite_env = {**bench.env, "VH_API_TOKEN": TOKEN, "VH_HOST": emu.url, "VH_PROJECT": PROJECT}
        vh_env = {**bench.env, "VALOHAI_TOKEN": TOKEN, "VALOHAI_HOST": emu.url,
                  "VALOHAI_PROJECT": PROJECT,
                  "VALOHAI_CONFIG_DIR": str(bench.work / "vh-env")}  # fmt: skip
        lite_json = [lite, "executions", "list", "--json"]
        vh_json = [vh, "--output-format", "json", "execution", "list"]
        counters_all("json", 100)(setup(lite_json, lite_env).stdout.encode())
        counters_all("json", 100)(setup(vh_json, vh_env).stdout.encode())
        a, b = interleaved(
            [partial(run_once, lite_json, lite_env), partial(run_once, vh_json, vh_env)],
            bench.runs,
        )
        met = median(a) <= 0.55 * median(b)
        report.rows.append(Row("executions: list 100 --json, env token", median(a), "vh",
                               median(b), "<= 0.55 x vh", met))  # fmt: skip
        on_pty = partial(run_streamed, terminal=True)
        a, b = interleaved(
            [partial(on_pty, [lite, "executions", "list"], terminal_env(lite_env),
                     check=counters_all("table", 100)),
             partial(on_pty, [vh, "execution", "list"], terminal_env(vh_env),
                     check=counters_all("table", 100))],
            bench.runs,
        )  # fmt: skip
        report.rows.append(Row("executions: list 100 as a table on a pty", median(a), "vh",
                               median(b), "<= 0.6 x vh", median(a) <= 0.6 * median(b)))  # fmt: skip


FORMATS = ("jsonl", "json", "csv", "tsv")


def executions_at_scale(bench: Bench, report: Report) -> None:
    """One project with 100,000 executions, page cap 100: every format's wall time and peak
    RSS; the table (on a pty) against JSONL."""
    count = 100_000
    with emulator("--projects", "1", "--executions", str(count), "--page-size", "100") as emu:
        env = {**bench.env, "VH_API_TOKEN": TOKEN, "VH_HOST": emu.url,
               "VH_PROJECT": PROJECT}  # fmt: skip
        lite = [str(bench.lite), "executions", "list"]
        sides = [
            partial(run_streamed, [*lite, "--format", fmt], env, check=counters_all(fmt, count))
            for fmt in FORMATS
        ]
        sides.append(partial(run_streamed, lite, env, check=counters_all("plain", count)))
        sides.append(partial(run_streamed, lite, terminal_env(env), terminal=True,
                             check=counters_all("table", count)))  # fmt: skip
        sides[0]()  # the emulator makes each page once, then serves it from memory
        results = interleaved(sides, bench.format_runs, warm=False)
    labels = [*(f"--format {fmt}" for fmt in FORMATS), "plain (default in a pipe)",
              "table (default on a pty)"]  # fmt: skip
    rows = [
        FormatRow(label, median(samples), max(s.max_rss_kib for s in samples) / MIB,
                  median(samples, "first_byte"))
        for label, samples in zip(labels, results, strict=True)
    ]  # fmt: skip
    worst = max(rows, key=lambda f: f.rss_mib)
    report.rows.append(Row(f"executions: peak RSS, 100,000 in any format (worst: {worst.label})",
                           worst.rss_mib, target="<= 120 MiB", passed=worst.rss_mib <= 120,
                           unit="MiB"))  # fmt: skip
    jsonl, table = rows[0], rows[-1]
    report.rows.append(Row("executions: 100,000 as a table on a pty, against jsonl",
                           table.seconds, "jsonl", jsonl.seconds, "<= 2 x jsonl",
                           table.seconds <= 2 * jsonl.seconds))  # fmt: skip
    report.execution_formats = rows
