"""A progress bar on stderr while several pages are fetched, only when a person is watching."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from .client import Page
from .output import color_enabled, is_terminal


def progress_allowed(streams_to_stdout: bool) -> bool:
    """On a terminal stderr only, and not while streamed output shares that terminal."""
    return is_terminal(sys.stderr) and not (streams_to_stdout and is_terminal(sys.stdout))


def pages_with_progress(
    pages: Iterator[Page], noun: str, *, enabled: bool, wanted: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Yield each page's results; show a transient bar once more than one page is coming.

    `wanted` caps the expected total when the caller will stop after that many items.
    """
    first = next(pages, None)
    if first is None:
        return
    total = first.total
    if total is not None and wanted is not None:
        total = min(total, wanted)
    if not enabled or total is None or total <= len(first.results):
        yield first.results
        for page in pages:
            yield page.results
        return

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    console = Console(stderr=True, no_color=not color_enabled(sys.stderr))
    columns = (SpinnerColumn(), TextColumn(f"Fetching {noun}s"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(noun, total=total, completed=len(first.results))
        yield first.results
        for page in pages:
            progress.advance(task, len(page.results))
            yield page.results
