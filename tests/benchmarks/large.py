"""Big accounts, vh-lite alone (vh lists one page and stops): sizes x latencies, a gateway
that allows 4 requests in flight, and every output format at 100,000 projects."""

from __future__ import annotations

import statistics
from functools import partial

from benchmarks.checks import names_all, projects_as
from benchmarks.harness import TOKEN, Bench, Sample, interleaved, median, run_streamed, terminal_env
from benchmarks.report import FormatRow, Report, Row
from benchmarks.servers import emulator, free_port, round_trip

SIZES = (1_000, 10_000, 100_000)
LATENCIES_MS = (0, 50, 150)
# Each size x latency gets as many runs (1 to 5) as fit in about this many seconds.
CELL_BUDGET_S = 20.0
MIB = 1024  # ru_maxrss is in KiB


def _estimate(size: int, latency_ms: int) -> float:
    """A rough wall time: start-up, pages 8 at a time, ~20 us of CPU per project."""
    return 0.3 + size / 100 / 8 * latency_ms / 1000 + size * 20e-6


def cell_runs(size: int, latency_ms: int) -> int:
    return max(1, min(5, int(CELL_BUDGET_S / _estimate(size, latency_ms))))


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


def _jsonl(bench: Bench, url: str, size: int, *extra: str) -> partial[Sample]:
    env = {**bench.env, "VH_API_TOKEN": TOKEN, "VH_HOST": url}
    cmd = [str(bench.lite), "projects", "list", "--format", "jsonl", *extra]
    return partial(run_streamed, cmd, env, check=projects_as("jsonl", size))


def big_accounts(bench: Bench, report: Report) -> None:
    """--format jsonl from accounts of 1,000 to 100,000 projects, page cap 100, 0-150 ms."""
    for size in SIZES:
        for latency in LATENCIES_MS:
            flags = ["--projects", str(size), "--page-size", "100", "--latency-ms", str(latency)]
            name = f"{size:,} projects @ {latency} ms, jsonl"
            with emulator(*flags) as emu:
                if (size, latency) == (10_000, 50):
                    _ten_thousand_at_50(bench, report, emu.url, name)
                    continue
                runs = cell_runs(size, latency)
                # One untimed run first: the emulator makes each page once, and vh-lite
                # remembers the last listing's page size and total, as on a user's repeat run.
                (samples,) = interleaved([_jsonl(bench, emu.url, size)], runs)
            target, met = "(no target)", None
            if (size, latency) == (10_000, 150):
                target, met = "<= 1.2 s", median(samples) <= 1.2
            report.rows.append(Row(f"{name} ({_runs(runs)})", median(samples), target=target,
                                   passed=met))  # fmt: skip


def _ten_thousand_at_50(bench: Bench, report: Report, url: str, name: str) -> None:
    """The cell bench.py has always measured, against one request at a time."""
    concurrent = _jsonl(bench, url, 10_000)
    sequential = _jsonl(bench, url, 10_000, "--max-concurrency", "1")
    fast, slow = interleaved([concurrent, sequential], bench.big_runs)
    floor = 100 * 0.050
    report.rows.append(Row(f"{name} ({_runs(bench.big_runs)})", median(fast), "100 x 50 ms",
                           floor, "<= 0.25 x 5.0 s", median(fast) <= 0.25 * floor))  # fmt: skip
    report.rows.append(Row("10,000 @ 50 ms, --max-concurrency 1 (reference)", median(slow),
                           "100 x 50 ms", floor, "(reference)"))  # fmt: skip
    peak = max(sample.max_rss_kib for sample in fast) / MIB
    report.rows.append(Row("peak RSS, 10,000 as jsonl", peak, target="<= 60 MiB",
                           passed=peak <= 60, unit="MiB"))  # fmt: skip


def gateway(bench: Bench, report: Report) -> None:
    """10,000 projects at 100 ms behind a gateway that allows 4 requests in flight per client.

    Each run gets a fresh emulator, whose --stats line on stopping says how many 429s it sent,
    on the same port: to vh-lite it is the same server, as on a user's repeat run (one untimed
    run first, like everywhere else).
    """
    flags = ["--projects", "10000", "--page-size", "100", "--latency-ms", "100",
             "--max-in-flight", "4", "--port", str(free_port())]  # fmt: skip
    samples: list[Sample] = []
    stats: list[dict[str, int]] = []
    for run in range(bench.gateway_runs + 1):
        with emulator(*flags, stats=True) as emu:
            sample = _jsonl(bench, emu.url, 10_000)()
        if run > 0:
            samples.append(sample)
            stats.append(emu.stats)
    floor = 100 / 4 * 0.100
    throttled = statistics.median(s["throttled"] for s in stats)
    every = "/".join(str(s["throttled"]) for s in stats)
    requests = "/".join(str(s["requests"]) for s in stats)
    peaks = "/".join(str(s["peak_in_flight"]) for s in stats)
    report.rows.append(Row(f"10,000 @ 100 ms behind a 4-in-flight gateway ({_runs(len(samples))})",
                           median(samples), "100 pages / 4 x 100 ms", floor, "<= 3.5 s",
                           median(samples) <= 3.5))  # fmt: skip
    report.rows.append(Row("429s that gateway sent (median)", throttled, target="<= 10",
                           passed=throttled <= 10, unit="",
                           note=f"per run: {every}; requests {requests}; "
                           f"peak in flight {peaks}"))  # fmt: skip


FORMATS = ("jsonl", "json", "csv", "tsv")
FIRST_ROW = b"project-0001"  # project 0's name: the table's first row is on screen
# The table in a pseudo-terminal, its first row timed.
ON_PTY = partial(run_streamed, terminal=True, marker=FIRST_ROW)


def _one_page(url: str, runs: int) -> float:
    """One page of 100 projects from the middle of the list (warm, in-process)."""
    return round_trip(url, "/api/v0/projects/?limit=100&offset=500", runs)


def formats(bench: Bench, report: Report) -> None:
    """100,000 projects, no latency: each format's wall time, peak RSS and first byte."""
    count = 100_000
    flags = ["--page-size", "100"]
    with emulator("--projects", str(count), *flags) as big:
        env = {**bench.env, "VH_API_TOKEN": TOKEN, "VH_HOST": big.url}
        lite = [str(bench.lite), "projects", "list"]
        sides = [
            partial(run_streamed, [*lite, "--format", fmt], env, check=projects_as(fmt, count))
            for fmt in FORMATS
        ]
        sides.append(partial(run_streamed, lite, env, check=names_all(count)))
        sides.append(partial(ON_PTY, lite, terminal_env(env), check=names_all(count)))
        sides[0]()  # the emulator makes each page once, then serves it from memory
        cpu_before = big.cpu_seconds()
        results = interleaved(sides, bench.format_runs, warm=False)
        emulator_cpu = (big.cpu_seconds() - cpu_before) / (len(results) * bench.format_runs)
        page = _one_page(big.url, bench.runs)

    labels = [*(f"--format {fmt}" for fmt in FORMATS), "plain (default in a pipe)",
              "table (default on a pty)"]  # fmt: skip
    for label, samples in zip(labels, results, strict=True):
        first_row = median(samples, "first_marker") if label.startswith("table") else None
        report.formats.append(
            FormatRow(label, median(samples), max(s.max_rss_kib for s in samples) / MIB,
                      median(samples, "first_byte"), first_row)
        )  # fmt: skip
    jsonl, table = report.formats[0], report.formats[-1]
    worst = max(report.formats, key=lambda f: f.rss_mib)
    report.rows.append(Row(f"peak RSS, 100,000 in any format (worst: {worst.label})",
                           worst.rss_mib, target="<= 120 MiB", passed=worst.rss_mib <= 120,
                           unit="MiB"))  # fmt: skip
    report.rows.append(Row("100,000 as a table on a pty, against jsonl", table.seconds,
                           "jsonl", jsonl.seconds, "<= 2 x jsonl",
                           table.seconds <= 2 * jsonl.seconds))  # fmt: skip
    report.floors += [
        f"one page of 100 projects from the 100,000-project emulator (warm, in-process): "
        f"{page * 1000:.2f} ms",
        f"the emulator's own CPU per 100,000-project listing (pages already made): "
        f"{emulator_cpu:.3f} s",
    ]


def first_rows(bench: Bench, report: Report) -> None:
    """When the first rows of a 100,000-project table are on screen, against a 100-project
    table's first row (start-up, one page, the table's set-up), interleaved; the big table
    is stopped once its first row is there.

    At 50 ms a request, one page's round trip is long enough to see: a table that waited
    for anything after the first page would miss the target by a round trip or more. On
    loopback a round trip (~0.5 ms) is below the noise of a ~90 ms process, so that row is
    shown without a target.
    """
    runs = max(bench.runs, 25)
    lite = [str(bench.lite), "projects", "list"]
    for latency in (0, 50):
        flags = ["--page-size", "100", "--latency-ms", str(latency)]
        with (
            emulator("--projects", "100000", *flags) as big,
            emulator("--projects", "100", *flags) as small,
        ):
            big_env = terminal_env({**bench.env, "VH_API_TOKEN": TOKEN, "VH_HOST": big.url})
            small_env = {**big_env, "VH_HOST": small.url}
            big_first, small_first = interleaved(
                [partial(ON_PTY, lite, big_env, stop_at_marker=True),
                 partial(ON_PTY, lite, small_env, check=names_all(100))],
                runs,
            )  # fmt: skip
            page = _one_page(big.url, bench.runs)
        first, reference = median(big_first, "first_marker"), median(small_first, "first_marker")
        name = f"100,000 as a table @ {latency} ms: first row on screen ({runs} runs)"
        if latency == 0:
            report.rows.append(Row(name, first, "100-project table's first row", reference,
                                   "(no target)"))  # fmt: skip
        else:
            bound = reference + page
            report.rows.append(Row(name, first, "100-project table's first row + 1 page",
                                   bound, "<= that", first <= bound))  # fmt: skip
