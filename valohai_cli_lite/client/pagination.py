"""Every page of a Django REST Framework limit/offset list: by offset, by `next`, concurrently.

The functions here take `fetch(url, params)`, which returns a page's decoded JSON body (or
raises), so paging knows nothing about HTTP and can be tested with a dict of pages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from ..errors import ApiError
from ..hosts import same_origin
from .errors import origin_text
from .pages import DEFAULT_PAGE_SIZE, FAR, Fetch, Page, PagingGuess, page_count, page_results


def iter_pages(
    fetch: Fetch,
    url: str,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_concurrency: int = 1,
    stop_after: int | None = None,
    guess: PagingGuess | None = None,
    learned: Callable[[PagingGuess], None] | None = None,
) -> Generator[Page, None, None]:
    """Yield every page of a DRF limit/offset list at `url`, in order, lazily.

    The first page tells how many items there are (`count`) and how many the server really
    hands out per page (it may cap `limit`). With `max_concurrency` > 1 the other pages are
    then fetched by offset, several at a time (Window), and still yielded in order; `next`
    links are not needed then. Otherwise `next` is followed (same origin only), falling
    back to offsets when a server omits it. A caller that stops iterating stops the
    fetching; `stop_after` says in advance that no more items than that are wanted.

    With a `guess` from last time, the first pages after the first are asked for while the
    first is still on its way, hiding a round trip; they are used only if the first page
    confirms the page size, otherwise dropped. `learned` hears what this list looks like,
    including whether the first page took long enough (pages.FAR) for that to matter; so
    `fetch` should have its connection pool set up before the first call.
    """
    query = parse_qs(urlsplit(url).query)
    base_url = url.split("?", 1)[0]
    first_params: dict[str, Any] = {} if "limit" in query else {"limit": page_size}
    if "offset" not in query:
        first_params["offset"] = 0
    start = _offset_in(query)  # a path may ask to begin later than the first item
    rest = {k: v for k, v in query.items() if k not in ("offset", "limit")}
    early = None
    if (
        guess is not None and guess.far and guess.total > guess.step and max_concurrency > 1
        and "limit" not in query and "offset" not in query
    ):  # fmt: skip
        # Imported only here and below: a list of one page never needs the machinery.
        from .concurrent_pages import EarlyPages

        early = EarlyPages.ask(fetch, base_url, rest, guess, max_concurrency, stop_after)
    sent = time.monotonic()
    try:
        body = fetch(url, first_params)
    except BaseException:
        if early:
            early.drop()
        raise
    far = time.monotonic() - sent >= FAR
    first = page_results(body, url)
    total = page_count(body)
    natural = stop_after is None and "limit" not in query and not start
    if learned is not None and natural and total is not None and total > len(first):
        learned(PagingGuess(len(first), total, far))
    yield Page(first, total)
    if not first or (stop_after is not None and len(first) >= stop_after):
        if early:
            early.drop()
        return
    if max_concurrency > 1 and total is not None and total > len(first):
        from .concurrent_pages import pages_by_offset

        end = total if stop_after is None else min(total, start + stop_after)
        offsets = range(start + len(first), end, len(first))
        later = pages_by_offset(
            fetch, base_url, rest, len(first), offsets, max_concurrency, total,
            early=early.confirmed(len(first), offsets) if early else None,
        )  # fmt: skip
    else:
        if early:
            early.drop()
        later = _pages_by_next(fetch, url, body, base_url, query, page_size, start)
    try:
        for page in later:
            if page.results and page.results[0] == first[0]:
                # A server that ignores limit/offset answers the first page again: going on
                # would list it over and over.
                raise ApiError(
                    f"the server answered the first page of {urlsplit(url).path} again for a "
                    "later one: it does not page by limit and offset"
                )
            yield page
    finally:
        later.close()


def _pages_by_next(
    fetch: Fetch,
    url: str,
    body: Any,
    base_url: str,
    query: dict[str, list[str]],
    page_size: int,
    start: int,
) -> Generator[Page, None, None]:
    """The pages after `body`, following `next` links (or offsets when `next` is absent)."""
    current = url
    seen = start + len(body["results"])
    visited: set[str] = set()
    while True:
        total = page_count(body)
        next_url = body.get("next")
        params: dict[str, Any] | None = None
        if isinstance(next_url, str) and next_url:
            # DRF sends absolute links; a relative one is resolved against this page.
            next_url = urljoin(current, next_url)
        if isinstance(next_url, str) and next_url and not same_origin(next_url, base_url):
            # A server behind a proxy may build links with the wrong scheme or host. The
            # token goes nowhere else; while the total is known, offsets on the host itself
            # reach the same pages.
            if total is None:
                raise ApiError(
                    f"the server's next page is on {origin_text(next_url)}, not "
                    f"{origin_text(base_url)}; refusing to send the token there",
                    reason="foreign-next",
                )
            next_url = None
        if isinstance(next_url, str) and next_url:
            if next_url in visited:
                raise ApiError(f"the server's pagination loops back to {next_url}")
            visited.add(next_url)
            current = next_url
        elif total is not None and seen < total:
            current = base_url
            params = {**{k: v for k, v in query.items() if k != "offset"}, "offset": seen}
            params.setdefault("limit", page_size)
        else:
            return
        body = fetch(current, params)
        results = page_results(body, current)
        seen += len(results)
        yield Page(results, page_count(body))
        if not results:
            return


def _offset_in(query: dict[str, list[str]]) -> int:
    values = query.get("offset") or ["0"]
    text = values[0]
    return int(text) if text.isascii() and text.isdecimal() else 0
