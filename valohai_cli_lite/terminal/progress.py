"""A progress bar on stderr while several pages are fetched, only when a person is watching."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING

from ..client import Page
from ..kinds.kind import Record

if TYPE_CHECKING:
    from .iostreams import IOStreams


def pages_with_progress(
    io: IOStreams,
    pages: Generator[Page, None, None],
    noun: str,
    *,
    streams_to_stdout: bool = False,
    wanted: int | None = None,
) -> Generator[list[Record], None, None]:
    """A transient bar once more than one page is coming. `wanted` caps the expected total
    for a caller that stops there. Closing this generator closes `pages`: fetching stops."""
    try:
        first = next(pages, None)
        if first is None:
            return
        total = first.total if first.total is None or wanted is None else min(first.total, wanted)
        done = len(first.results)
        allowed = io.progress_allowed(streams_to_stdout=streams_to_stdout)
        show = allowed and total is not None and total > done
        ignore = contextlib.nullcontext(lambda _count: None)
        with _bar(io, noun, total or 0, done) if show else ignore as update:
            yield first.results
            for page in pages:
                done += len(page.results)
                update(done)
                yield page.results
    finally:
        pages.close()


@contextlib.contextmanager
def _bar(io: IOStreams, noun: str, total: int, done: int) -> Iterator[Callable[[int], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    # One line at any width (a wrapped line is left behind when the bar goes): the text and
    # the bar give way, not the count, which rich's own shrinking would cut first.
    width = io.width(stderr=True) or 80
    count = 2 * len(str(total)) + 1  # "done/total", done padded to the total's width
    text = f"Fetching {noun}s"[: max(0, width - count - 5)]  # spinner, bar and gaps: 5
    bar = max(1, min(40, width - count - 3 - (len(text) + 1 if text else 0)))
    columns = (SpinnerColumn(), *([TextColumn(text)] if text else []),
               BarColumn(bar_width=bar), MofNCompleteColumn())  # fmt: skip
    # rich redirects stdout into its live display by default: data meant for a file or a
    # pipe would land on the terminal. The bar owns stderr and nothing else.
    progress = Progress(*columns, console=io.console(stderr=True), transient=True,
                        redirect_stdout=False, redirect_stderr=False)  # fmt: skip
    task = progress.add_task(noun, total=total, completed=min(done, total))
    with progress:
        yield lambda count: progress.update(task, completed=min(count, total))
