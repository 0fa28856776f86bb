"""A progress bar on stderr while several pages are fetched, only when a person is watching."""

from __future__ import annotations

import sys
from collections.abc import Generator
from typing import Any

from .client import Page
from .output import color_enabled, is_terminal


def progress_allowed(streams_to_stdout: bool) -> bool:
    """On a terminal stderr only, and not while streamed output shares that terminal."""
    return is_terminal(sys.stderr) and not (streams_to_stdout and is_terminal(sys.stdout))


def pages_with_progress(
    pages: Generator[Page, None, None],
    noun: str,
    *,
    enabled: bool,
    wanted: int | None = None,
) -> Generator[list[dict[str, Any]], None, None]:
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
        try:
            yield first.results
            for page in pages:
                yield page.results
        finally:
            pages.close()
        return

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    console = Console(stderr=True, no_color=not color_enabled(sys.stderr))
    columns = (SpinnerColumn(), TextColumn(f"Fetching {noun}s"), BarColumn(), MofNCompleteColumn())
    # rich redirects stdout into its live display by default: data meant for a file or a
    # pipe would land on the terminal. The bar owns stderr and nothing else.
    progress = Progress(*columns, console=console, transient=True,
                        redirect_stdout=False, redirect_stderr=False)  # fmt: skip
    done = len(first.results)
    try:
        with progress:
            task = progress.add_task(noun, total=total, completed=min(done, total))
            yield first.results
            for page in pages:
                done += len(page.results)
                progress.update(task, completed=min(done, total))
                yield page.results
    finally:
        pages.close()  # stopped early (a limit): stop the fetching too
