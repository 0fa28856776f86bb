"""Is what a listing printed really the projects? Every timed run's output goes through one.

The emulator names project number i (1-based) `project-000i`, `image-classifier-000i` or
`nlp_experiments_000i`, so any format, vh's included, can be checked by the set of numbers it
names: exactly 1..N, every one. Machine-readable formats are parsed as well.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable

from benchmarks.harness import BenchError, Check

_NAME = re.compile(rb"(?:project-|image-classifier-|nlp_experiments_)(\d{4,})")


def _numbers_named(output: bytes) -> set[int]:
    return {int(match) for match in _NAME.findall(output)}


def _expect(what: str, got: int, want: int) -> None:
    if got != want:
        raise BenchError(f"expected {want} {what}, got {got}")


def _distinct_ids(records: Iterable[object], count: int) -> None:
    ids = set()
    for record in records:
        if not isinstance(record, dict) or "id" not in record:
            raise BenchError(f"not a project: {str(record)[:200]}")
        ids.add(record["id"])
    _expect("distinct project ids", len(ids), count)


def names_all(count: int) -> Check:
    """Any format: the output names projects 1..count, each of them (a table, plain, vh)."""

    def check(output: bytes) -> None:
        named = _numbers_named(output)
        _expect("projects named", len(named), count)
        if named != set(range(1, count + 1)):
            raise BenchError(f"projects 1..{count} expected, got {min(named)}..{max(named)}")

    return check


def projects_as(fmt: str, count: int) -> Check:
    """`--format fmt` (or "plain"/"table"): parsed where it is machine-readable, then named."""
    by_name = names_all(count)

    def check(output: bytes) -> None:
        if fmt == "jsonl":
            lines = output.splitlines()
            _expect("lines", len(lines), count)
            _distinct_ids((json.loads(line) for line in lines), count)
        elif fmt == "json":
            data = json.loads(output)
            if not isinstance(data, list):
                raise BenchError("--json printed no list")
            _distinct_ids(data, count)
        elif fmt == "csv":
            rows = list(csv.reader(io.StringIO(output.decode("utf-8"), newline="")))
            _expect("CSV rows after the header", len(rows) - 1, count)
        elif fmt == "tsv":  # no raw newline inside a TSV cell: one line per row
            _expect("TSV lines after the header", output.count(b"\n") - 1, count)
        by_name(output)

    return check
