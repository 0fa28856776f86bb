"""A Valohai environment: valohai-cli's 27-key shape, minihai's smaller one."""

from __future__ import annotations

from typing import Any

from .kind import Column, Record, RecordKind


def gpu(environment: Record) -> str:
    return str(environment.get("gpu_spec") or "yes") if environment.get("has_gpu") else "no"


def price(environment: Record) -> Any:
    """A number (the API sends a decimal string: "0.50000")."""
    value = environment.get("per_hour_price_usd")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # null, or text that is not a number: shown as it is
        return value


ENVIRONMENT = RecordKind(
    noun="environment",
    endpoint="environments/",
    known_fields=(
        "id", "name", "slug", "description", "has_gpu", "gpu_spec", "per_hour_price_usd",
        "per_user_queue_quota", "unfinished_job_count", "enabled", "type", "provider",
        "owner", "owner.id", "owner.username", "url", "ctime", "mtime",
    ),
    delimited_columns=tuple(
        Column(path, path) for path in
        ("id", "slug", "name", "has_gpu", "gpu_spec", "per_hour_price_usd", "enabled")
    ),
    table_columns=(
        Column("NAME", "name"), Column("SLUG", "slug"), Column("GPU", "gpu_spec", gpu),
        Column("USD/HOUR", "per_hour_price_usd", price),
    ),
    detail_rows=(),
    sort_keys={"name": "text", "slug": "text", "price": "number"},
    sort_values={"price": price},
    time_fields=frozenset({"ctime", "mtime"}),
    title=Column("", "name"),
    link_path=None,
    flexible_column="slug",
    search_paths=("name", "slug", "description"),
    name_paths=("slug", "name"),
    has_detail=False,
)  # fmt: skip
