"""Everything that writes to the terminal: data on stdout, messages on stderr.

Commands hand plain dicts to these functions; only this module decides between a rich table,
plain lines and JSON, and only this module asks whether a stream is a terminal.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import IO, Any

# C0 controls, DEL and C1 controls. Data from the server must never move the cursor, clear
# the screen or start an escape sequence in human-readable output.
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def color_enabled(stream: IO[str]) -> bool:
    """Colour only on a terminal, and never with NO_COLOR (any value) or TERM=dumb."""
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def sanitize(text: str) -> str:
    """One printable line: newlines and tabs become spaces, other controls become '?'."""
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    return _CONTROL_CHARS.sub("?", text)


def message(text: str) -> None:
    """A status line for humans, always on stderr so stdout stays pure data."""
    print(text, file=sys.stderr, flush=True)


def warning(text: str) -> None:
    prefix = "\x1b[1;33mwarning:\x1b[0m" if color_enabled(sys.stderr) else "warning:"
    print(f"{prefix} {text}", file=sys.stderr, flush=True)


def error_line(text: str) -> None:
    prefix = "\x1b[1;31mvh-lite: error:\x1b[0m" if color_enabled(sys.stderr) else "vh-lite: error:"
    print(f"{prefix} {text}", file=sys.stderr, flush=True)


def write_json(value: Any) -> None:
    """JSON on stdout: indented for a person at a terminal, compact (and faster) in a pipe."""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    ascii_only = encoding not in ("utf8", "utf16", "utf32")
    if is_terminal(sys.stdout):
        text = json.dumps(value, indent=2, ensure_ascii=ascii_only)
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=ascii_only)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _text(value: Any) -> str:
    return "" if value is None else sanitize(str(value))


def relative_time(iso: str | None, now: datetime | None = None) -> str:
    """'3 days ago' for a timestamp; the raw text when it cannot be parsed; '' for none."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return sanitize(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    seconds = ((now or datetime.now(timezone.utc)) - moment).total_seconds()
    if seconds < 0:
        return "just now" if seconds > -60 else moment.strftime("%Y-%m-%d")
    for unit, size in (
        ("year", 31_536_000),
        ("month", 2_592_000),
        ("day", 86_400),
        ("hour", 3_600),
        ("minute", 60),
    ):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


PROJECT_COLUMNS = ("name", "owner", "executions", "last run", "description")


def _project_row(project: dict[str, Any], *, human_times: bool) -> tuple[str, ...]:
    last = _get(project, "last_execution_ctime")
    return (
        _text(_get(project, "name")),
        _text(_get(project, "owner", "username")),
        _text(_get(project, "execution_count")),
        relative_time(last) if human_times else _text(last),
        _text(_get(project, "description")),
    )


def render_projects(projects: Sequence[dict[str, Any]], *, as_json: bool) -> None:
    """Projects as JSON (exactly as the API sent them), a table, or plain lines in a pipe."""
    if as_json:
        write_json(list(projects))
        return
    if not projects:
        message("No projects found.")
        return
    if not is_terminal(sys.stdout):
        # Not a terminal: one tab-separated line per project, so grep/cut/awk just work.
        for project in projects:
            sys.stdout.write("\t".join(_project_row(project, human_times=False)) + "\n")
        sys.stdout.flush()
        return
    _print_table(projects)


def _print_table(projects: Sequence[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(no_color=not color_enabled(sys.stdout), highlight=False)
    table = Table(header_style="bold", box=None, pad_edge=False)
    table.add_column("NAME", no_wrap=True)
    table.add_column("OWNER", no_wrap=True)
    table.add_column("EXECUTIONS", justify="right", no_wrap=True)
    table.add_column("LAST RUN", no_wrap=True)
    # The one column that may shrink: rich squeezes wrappable columns to fit the width, so
    # the description column stays wrappable while each cell is cut to one line with "…".
    table.add_column("DESCRIPTION", ratio=1)
    for project in projects:
        # Text(), not a str: rich markup in user data ("[bold]") must show literally.
        *cells, description = _project_row(project, human_times=True)
        table.add_row(
            *(Text(cell) for cell in cells), Text(description, no_wrap=True, overflow="ellipsis")
        )
    console.print(table)
    message(f"{len(projects)} project{'s' if len(projects) != 1 else ''}")
