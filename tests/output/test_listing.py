"""kinds/query.py, unit: sort keys, filters, sort and limit over pages, and how few pages a
limit reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from valohai_cli_lite.errors import UsageError
from valohai_cli_lite.kinds.projects import PROJECT
from valohai_cli_lite.kinds.query import ListQuery, SortKey, apply_query, owned_by, sort_records

P: list[dict[str, Any]] = [
    {"name": "beta", "owner": {"username": "Acme"}, "description": "NLP things",
     "execution_count": 5, "ctime": "2026-01-02T00:00:00Z", "last_execution_ctime": None},
    {"name": "Alpha", "owner": {"username": "me"}, "description": "",
     "execution_count": 10, "ctime": "2026-01-01T00:00:00.5+00:00",
     "last_execution_ctime": "2026-02-01T00:00:00Z"},
    {"name": "gamma", "owner": None, "description": None, "execution_count": None,
     "ctime": "2025-12-31T23:59:59Z", "last_execution_ctime": "2026-03-01T00:00:00Z"},
]  # fmt: skip


def names(pages: Iterator[list[dict[str, Any]]]) -> list[str]:
    return [p["name"] for page in pages for p in page]


def test_sort_key_parse() -> None:
    assert SortKey.parse("-ctime", PROJECT) == SortKey("ctime", True)
    with pytest.raises(UsageError, match="sortable fields"):
        SortKey.parse("bogus", PROJECT)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("name", ["Alpha", "beta", "gamma"]),
        ("-name", ["gamma", "beta", "Alpha"]),
        ("ctime", ["gamma", "Alpha", "beta"]),
        ("-execution_count", ["Alpha", "beta", "gamma"]),  # missing values last
        ("execution_count", ["beta", "Alpha", "gamma"]),
        ("last_execution_ctime", ["Alpha", "gamma", "beta"]),
    ],
)
def test_sort(key: str, expected: list[str]) -> None:
    assert [p["name"] for p in sort_records(P, SortKey.parse(key, PROJECT), PROJECT)] == expected


def test_filters_compose_with_sort_and_limit() -> None:
    assert names(
        apply_query([P], ListQuery((lambda p: owned_by(PROJECT, p, {"acme"}),)), PROJECT)
    ) == ["beta"]
    assert names(apply_query([P], ListQuery(search="nlp"), PROJECT)) == ["beta"]
    assert names(
        apply_query(
            [P], ListQuery(search="A", sort=SortKey.parse("name", PROJECT), limit=2), PROJECT
        )
    ) == [
        "Alpha",
        "beta",
    ]
    assert names(apply_query([P], ListQuery(search="zzz"), PROJECT)) == []


def test_limit_stops_consuming_pages() -> None:
    consumed = []

    def pages() -> Iterator[list[dict[str, Any]]]:
        for i in range(100):
            consumed.append(i)
            yield [{"name": f"p{i}", "description": ""}]

    assert names(apply_query(pages(), ListQuery(limit=3), PROJECT)) == ["p0", "p1", "p2"]
    assert consumed == [0, 1, 2]
    consumed.clear()
    assert names(apply_query(pages(), ListQuery(search="p1", limit=2), PROJECT)) == ["p1", "p10"]
    assert consumed == list(range(11))
