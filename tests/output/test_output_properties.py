"""Property-based tests (hypothesis) of the output layer, unit: any Unicode in any field,
every format."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from typing import Any

from conftest import fake_streams, read_tsv
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from valohai_cli_lite.kinds.projects import PROJECT
from valohai_cli_lite.output.render import OutputFormat, write_record, write_records
from valohai_cli_lite.text import sanitize

# Any code point Python can hold in a str, surrogates excluded (they cannot be encoded).
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=60)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

projects = st.lists(
    st.fixed_dictionaries(
        {
            "id": ANY_TEXT,
            "name": ANY_TEXT,
            "description": st.one_of(st.none(), ANY_TEXT),
            "owner": st.one_of(
                st.none(), st.fixed_dictionaries({"id": st.integers(), "username": ANY_TEXT})
            ),
            "execution_count": st.one_of(st.none(), st.integers(min_value=0)),
            "last_execution_ctime": st.one_of(st.none(), ANY_TEXT),
            "urls": st.one_of(st.just({}), st.fixed_dictionaries({"display": ANY_TEXT})),
        },
        optional={"extra": st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3)},
    ),
    max_size=5,
)


def render(
    data: list[dict[str, Any]], fmt: str, *, terminal: bool = False, formulas: str = ""
) -> str:
    # TERM=dumb: no colour and no links, so any escape would be the data's.
    environ = {"TERM": "dumb", "VH_CSV_FORMULAS": formulas}
    io, _, out, _ = fake_streams(stdout_tty=terminal, environ=environ, width=300)
    write_records(io, [data], OutputFormat(fmt), PROJECT)
    return out.getvalue()


# Derandomized, so every run (CI's and yours) tries the same examples and a failure repeats;
# HYPOTHESIS_RANDOM=1 explores new ones, HYPOTHESIS_EXAMPLES=5000 searches deeper.
PROPERTY = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    derandomize=not os.environ.get("HYPOTHESIS_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY
@given(projects)
def test_json_and_jsonl_round_trip_exactly(data: list[dict[str, Any]]) -> None:
    assert json.loads(render(data, "json")) == data
    assert [json.loads(line) for line in render(data, "jsonl").splitlines()] == data


@PROPERTY
@given(projects)
def test_csv_and_tsv_round_trip(data: list[dict[str, Any]]) -> None:
    tsv = render(data, "tsv")
    # TSV: one line per record, every line the same number of fields, whatever the data.
    assert len(tsv.split("\n")) == len(data) + 2
    assert {line.count("\t") for line in tsv.split("\n")[:-1]} == {7}
    exact_csv = render(data, "csv", formulas="keep")
    # Python 3.10's csv reader refuses NUL (vh-lite writes it, quoted: test_render.py).
    assume(sys.version_info >= (3, 11) or "\0" not in exact_csv)
    for rows in (list(csv.reader(io.StringIO(exact_csv, newline=""))), read_tsv(tsv)):
        assert len(rows) == len(data) + 1
        for row, project in zip(rows[1:], data, strict=True):
            assert row[0] == project["id"]
            assert row[1] == project["name"]
            assert row[3] == (project["description"] or "")
    # By default, text a spreadsheet would take for a formula starts with ' instead.
    rows = list(csv.reader(io.StringIO(render(data, "csv"), newline="")))
    for row, project in zip(rows[1:], data, strict=True):
        formula = project["name"].startswith(("=", "+", "-", "@", "\t", "\r"))
        assert row[1] == ("'" if formula else "") + project["name"]


@PROPERTY
@given(projects)
def test_plain_lines_are_one_line_per_record_without_controls(
    data: list[dict[str, Any]],
) -> None:
    text = render(data, "plain")
    lines = text.split("\n")[:-1] if text else []
    assert len(lines) == len(data)
    for line in lines:
        assert not CONTROL.search(line.replace("\t", ""))


@PROPERTY
@given(projects)
def test_table_shows_no_control_characters_from_the_data(data: list[dict[str, Any]]) -> None:
    text = render(data, "table", terminal=True)
    assert "\x1b" not in text
    assert not CONTROL.search(text.replace("\n", ""))


@PROPERTY
@given(projects.filter(bool))
def test_detail_view_shows_no_control_characters(data: list[dict[str, Any]]) -> None:
    io, _, out, _ = fake_streams(stdout_tty=True, environ={"TERM": "dumb"})
    write_record(io, data[0], OutputFormat.table, PROJECT)
    assert not CONTROL.search(out.getvalue().replace("\n", ""))


@PROPERTY
@given(ANY_TEXT)
def test_sanitize_is_idempotent_and_single_line(text: str) -> None:
    cleaned = sanitize(text)
    assert sanitize(cleaned) == cleaned
    assert "\n" not in cleaned and "\r" not in cleaned
    assert not CONTROL.search(cleaned)
