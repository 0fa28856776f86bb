"""A Valohai project (shared/valohai-api.md), in every shape the API is known to send: the
detail object's null counters, an owner that is a bare id in older data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .fields import get_path
from .kind import Column, Record, RecordKind


def owner_ids(project: Record) -> tuple[str, ...]:
    """From `{"id": 42, "username": "acme"}` or a bare 42."""
    owner = project.get("owner")
    found = [owner.get("username"), owner.get("id")] if isinstance(owner, dict) else [owner]
    return tuple(str(v) for v in found if isinstance(v, str | int) and not isinstance(v, bool))


def owner_name(project: Record) -> str | None:
    """The username, or the id where there is none (older data)."""
    ids = owner_ids(project)
    return ids[0] if ids else None


def _counter(field: str, summary_key: str) -> Callable[[Record], Any]:
    """Falls back to `execution_summary` where it is null, as the detail endpoint sends it."""

    def value(project: Record) -> Any:
        direct = get_path(project, field)
        return get_path(project, f"execution_summary.{summary_key}") if direct is None else direct

    return value


def repository(project: Record) -> str | None:
    url, ref = (get_path(project, f"repository.{key}") for key in ("url", "ref"))
    url, ref = (text if isinstance(text, str) and text else None for text in (url, ref))
    return f"{url} ({ref})" if url and ref else url or ref


def environment_variables(project: Record) -> str | None:
    """Names, secret ones marked; never a value (others may still be private)."""
    variables = project.get("environment_variables")
    if not isinstance(variables, dict) or not variables:
        return None
    return ", ".join(
        f"{name} (secret)" if isinstance(spec, dict) and spec.get("secret") is True else str(name)
        for name, spec in variables.items()
    )


executions = _counter("execution_count", "count")

PROJECT = RecordKind(
    noun="project",
    endpoint="projects/",
    known_fields=(
        "id", "name", "description", "owner", "owner.id", "owner.username", "ctime", "mtime",
        "url", "urls", "urls.display", "urls.display_repository", "execution_count",
        "running_execution_count", "queued_execution_count", "last_execution_ctime",
        "enabled_endpoint_count", "read_only", "tags", "repository", "repository.url",
        "repository.ref", "environment_variables", "execution_summary",
        "execution_summary.count", "default_environment", "default_store", "upload_store_id",
        "yaml_path",
    ),
    delimited_columns=(
        Column("id", "id"), Column("name", "name"),
        Column("owner.username", "owner.username", owner_name),
        Column("description", "description"),
        Column("execution_count", "execution_count", executions),
        Column("last_execution_ctime", "last_execution_ctime"),
        Column("ctime", "ctime"), Column("mtime", "mtime"),
    ),
    table_columns=(
        Column("NAME", "name"), Column("OWNER", "owner.username", owner_name),
        Column("EXECUTIONS", "execution_count", executions),
        Column("LAST RUN", "last_execution_ctime"), Column("DESCRIPTION", "description"),
    ),
    detail_rows=(
        Column("Name", "name"), Column("ID", "id"),
        Column("Owner", "owner.username", owner_name),
        Column("Description", "description"),
        Column("Executions", "execution_count", executions),
        Column("Running", "running_execution_count",
               _counter("running_execution_count", "started_count")),
        Column("Queued", "queued_execution_count",
               _counter("queued_execution_count", "queued_count")),
        Column("Last run", "last_execution_ctime", optional=True),
        Column("Created", "ctime"), Column("Modified", "mtime"),
        Column("Repository", "repository", repository, optional=True),
        Column("Environment", "environment_variables", environment_variables, optional=True),
        Column("URL", "urls.display", optional=True),
    ),
    sort_keys={
        "name": "text", "owner": "text", "ctime": "time", "mtime": "time",
        "execution_count": "number", "last_execution_ctime": "time",
    },
    sort_values={"owner": owner_name, "execution_count": executions},
    time_fields=frozenset({"ctime", "mtime", "last_execution_ctime"}),
    title=Column("", "name"),
    link_column="name",
    flexible_column="description",
    owner_ids=owner_ids,
    search_paths=("name", "description"),
    list_page="/",  # the web app's start page lists your projects
)  # fmt: skip
