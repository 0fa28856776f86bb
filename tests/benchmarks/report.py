"""The bench's results as Markdown, and the block of docs/performance.md they replace."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness import ROOT

DOCS = ROOT / "docs" / "performance.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


@dataclass
class Row:
    """One line of the main table: vh-lite's figure, what it is compared with, the target."""

    name: str
    value: float
    other_label: str = ""
    other: float | None = None
    target: str = "(no target)"
    passed: bool | None = None
    note: str = ""
    unit: str = "s"  # "s", "MiB" or "" (a count)

    @property
    def ratio(self) -> float | None:
        return None if not self.other else self.value / self.other


@dataclass
class FormatRow:
    """One format of the 100,000-project listing."""

    label: str
    seconds: float
    rss_mib: float
    first_byte: float
    first_row: float | None = None


@dataclass
class MechanismRow:
    """One speed mechanism: its lines, and its figure with it and without it."""

    name: str
    lines: int
    measure: str
    with_it: float
    without_it: float
    unit: str  # "s" or "MiB"

    @property
    def saving(self) -> float:
        return 1 - self.with_it / self.without_it if self.without_it else float("nan")


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    formats: list[FormatRow] = field(default_factory=list)
    execution_formats: list[FormatRow] = field(default_factory=list)
    mechanisms: list[MechanismRow] = field(default_factory=list)
    floors: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)  # how many runs each part took
    method: list[str] = field(default_factory=list)  # how the figures were taken

    @property
    def all_met(self) -> bool:
        return all(row.passed is not False for row in self.rows)


def _figure(value: float, unit: str) -> str:
    if value != value:  # NaN: not measured
        return "-"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    if unit == "s":
        return f"{value:.3f} s"
    return f"{value:.0f}"


def render(report: Report) -> str:
    lines = [f"- {line}" for line in report.method]
    lines += [
        "",
        "| scenario | vh-lite | other | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for r in report.rows:
        other = "" if r.other is None else f"{r.other_label} {_figure(r.other, r.unit)}".strip()
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        met = {True: "yes", False: "**NO**", None: ""}[r.passed]
        note = f" ({r.note})" if r.note and met else r.note
        lines.append(
            f"| {r.name} | {_figure(r.value, r.unit)} | {other} | {ratio} | {r.target} | "
            f"{met}{note} |"
        )
    for what, formats in (("projects", report.formats),
                          ("executions of one project", report.execution_formats)):  # fmt: skip
        if not formats:
            continue
        lines += [
            "",
            f"100,000 {what}, page cap 100, no latency, by format (medians; the table on a "
            "pty, the others into a pipe):",
            "",
            "| format | wall | peak RSS | first byte | first row |",
            "|---|---|---|---|---|",
        ]
        for f in formats:
            first_row = "" if f.first_row is None else f"{f.first_row:.3f} s"
            lines.append(
                f"| {f.label} | {f.seconds:.3f} s | {f.rss_mib:.1f} MiB | "
                f"{f.first_byte:.3f} s | {first_row} |"
            )
    if report.mechanisms:
        lines += [
            "",
            "Speed mechanisms, each with and without it on the figure it targets (medians; "
            "peak RSS as the worst run), interleaved (tests/benchmarks/mechanisms.py):",
            "",
            "| mechanism | lines | measure | with | without | saving | earns its place (>= 5%) |",
            "|---|---|---|---|---|---|---|",
        ]
        for m in report.mechanisms:
            earns = "yes" if m.saving >= 0.05 else "**NO**"
            code = str(m.lines) if m.lines else "spread out"
            lines.append(
                f"| {m.name} | {code} | {m.measure} | {_figure(m.with_it, m.unit)} | "
                f"{_figure(m.without_it, m.unit)} | {m.saving:.0%} | {earns} |"
            )
    if report.floors:
        lines += ["", "Floors measured in the same run:", ""]
        lines += [f"- {floor}" for floor in report.floors]
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


def stamp(report: Report, total_seconds: float) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    return (
        f"Measured {now:%Y-%m-%d %H:%M} UTC on {machine()}; {'; '.join(report.runs)}. "
        f"The whole bench took {total_seconds / 60:.1f} min."
    )


def write_docs(text: str) -> None:
    """Replace the block between the bench markers in docs/performance.md with `text`."""
    doc = DOCS.read_text() if DOCS.exists() else ""
    block = f"{START}\n{text}\n{END}"
    if START in doc and END in doc:
        doc = doc[: doc.index(START)] + block + doc[doc.index(END) + len(END) :]
    else:
        doc = doc + "\n" + block + "\n"
    DOCS.write_text(doc)
