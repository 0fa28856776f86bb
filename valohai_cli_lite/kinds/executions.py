"""A Valohai execution (shared/valohai-api.md): the older shape (a `commit`, no creator), the
2025 one (`creator_name`, `title`, `end_time`...), minihai's (bare ids)."""

from __future__ import annotations

from ..text import duration_text
from .kind import Column, Record, RecordKind, first_of
from .projects import PROJECT

UNFINISHED = ("created", "queued", "started", "stopping")
STATUSES = (*UNFINISHED, "complete", "error", "crashed", "stopped")
COLORS = {"started": "cyan", "stopping": "yellow", "complete": "green", "error": "red",
          "crashed": "red", "stopped": "yellow"}  # fmt: skip
creator = first_of("creator_name", "creator.username")


def _duration(execution: Record) -> str:
    return "" if execution.get("status") in UNFINISHED else duration_text(execution.get("duration"))


def _title(execution: Record) -> str:
    return f"#{execution.get('counter')} {execution.get('title') or execution.get('step') or ''}"


EXECUTION = RecordKind(
    noun="execution",
    endpoint="executions/",
    known_fields=(
        "id", "counter", "status", "status_detail", "step", "title", "duration", "ctime",
        "mtime", "end_time", "creator_id", "creator_name", "creator", "creator.id",
        "creator.username", "project", "project.id", "project.name", "environment",
        "environment.id", "environment.name", "environment.slug", "commit", "commit.ref",
        "commit.identifier", "parameters", "inputs", "outputs", "tags", "n_outputs", "price",
        "image", "command", "task", "pipeline", "deleted", "url", "urls", "urls.display",
    ),
    delimited_columns=tuple(Column(path, path) for path in (
        "counter", "id", "status", "step", "duration", "ctime", "end_time", "creator_name",
    )),
    table_columns=(
        Column("#", "counter"),
        Column("STATUS", "status", color=COLORS, width=max(map(len, STATUSES))),
        Column("STEP", "step"), Column("DURATION", "duration", _duration),
        Column("CREATED", "ctime"), Column("CREATOR", "creator_name", creator, optional=True),
    ),
    detail_rows=(
        Column("Status", "status", color=COLORS),
        Column("Detail", "status_detail", optional=True), Column("Step", "step"),
        Column("Title", "title", optional=True), Column("ID", "id"),
        Column("Duration", "duration", _duration, optional=True),
        Column("Created", "ctime"), Column("Ended", "end_time", optional=True),
        Column("Creator", "creator_name", creator, optional=True),
        Column("Project", "project", first_of("project.name", "project")),
        Column("Environment", "environment", first_of("environment.name", "environment"),
               optional=True),
        Column("Commit", "commit", first_of("commit.ref", "commit"), optional=True),
        Column("Parameters", "parameters", optional=True),
        Column("URL", "urls.display", optional=True),
    ),
    sort_keys={"counter": "number", "status": "text", "step": "text", "duration": "number",
               "ctime": "time", "creator": "text"},
    sort_values={"creator": creator},
    time_fields=frozenset({"ctime", "mtime", "end_time"}),
    title=Column("", "counter", _title),
    link_column="counter",
    flexible_column="step",
    search_paths=("step", "title"),
    name_paths=(),
    by_counter=True,
    parent=PROJECT,
    creator_id=first_of("creator_id", "creator.id"),
)  # fmt: skip
