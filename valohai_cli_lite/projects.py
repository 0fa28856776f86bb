"""What vh-lite knows about a Valohai project: its fields, columns, sort keys, links, times.

Fields come from Valohai's docs and real responses (shared/valohai-api.md). This is the one
place that names them; render, fields and listing work on any RecordKind.
"""

from __future__ import annotations

from .records import RecordKind

PROJECT = RecordKind(
    noun="project",
    known_fields=(
        "id", "name", "description", "owner", "owner.id", "owner.username", "ctime", "mtime",
        "url", "urls", "urls.display", "urls.display_repository", "execution_count",
        "running_execution_count", "queued_execution_count", "last_execution_ctime",
        "enabled_endpoint_count", "read_only", "tags", "repository", "environment_variables",
        "yaml_path",
    ),
    delimited_columns=(
        "id", "name", "owner.username", "description", "execution_count",
        "last_execution_ctime", "ctime", "mtime",
    ),
    table_columns=(
        ("name", "NAME"), ("owner.username", "OWNER"), ("execution_count", "EXECUTIONS"),
        ("last_execution_ctime", "LAST RUN"), ("description", "DESCRIPTION"),
    ),
    detail_rows=(
        ("name", "Name"), ("id", "ID"), ("owner.username", "Owner"),
        ("description", "Description"), ("execution_count", "Executions"),
        ("running_execution_count", "Running"), ("queued_execution_count", "Queued"),
        ("last_execution_ctime", "Last run"), ("ctime", "Created"), ("mtime", "Modified"),
        ("urls.display", "URL"),
    ),
    sort_keys={
        "name": "text", "ctime": "time", "mtime": "time", "execution_count": "number",
        "last_execution_ctime": "time",
    },
    time_fields=frozenset({"ctime", "mtime", "last_execution_ctime"}),
    title_path="name",
    link_path="urls.display",
    link_column="name",
    flexible_column="description",
    owner_path="owner.username",
    search_paths=("name", "description"),
)  # fmt: skip
