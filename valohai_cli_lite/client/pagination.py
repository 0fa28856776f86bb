"""Every page of a Django REST Framework limit/offset list: by offset, by `next`, concurrently.

The functions here take `fetch(url, params)`, which returns a page's decoded JSON body (or
raises), so paging knows nothing about HTTP and can be tested with a dict of pages.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urljoin, urlsplit

from ..errors import ApiError
from ..hosts import same_origin
from .errors import origin_text

# The `limit` of the first request. A server that caps lower answers with fewer items (DRF's
# default is 100) and the rest is then asked for in steps of what it did hand out. 1000 lists
# most accounts in one round trip where the server allows it, without the multi-megabyte
# first answer of 9000-10000 that other clients ask for; docs/performance.md has the
# measurements behind the number.
DEFAULT_PAGE_SIZE = 1000

Fetch = Callable[[str, "dict[str, Any] | None"], Any]


class Page(NamedTuple):
    results: list[dict[str, Any]]
    total: int | None  # the server's `count` of all items, when it sent one


def iter_pages(
    fetch: Fetch,
    url: str,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_concurrency: int = 1,
    stop_after: int | None = None,
) -> Generator[Page, None, None]:
    """Yield every page of a DRF limit/offset list at `url`, in order, lazily.

    The first page tells how many items there are (`count`) and how many the server really
    hands out per page (it may cap `limit`). With `max_concurrency` > 1 the other pages are
    then fetched by offset, that many at a time, and still yielded in order; `next` links
    are not needed then. Otherwise `next` is followed (same origin only), falling back to
    offsets when a server omits it. A caller that stops iterating stops the fetching;
    `stop_after` says in advance that no more items than that are wanted.
    """
    query = parse_qs(urlsplit(url).query)
    base_url = url.split("?", 1)[0]
    first_params: dict[str, Any] = {} if "limit" in query else {"limit": page_size}
    if "offset" not in query:
        first_params["offset"] = 0
    start = _offset_in(query)  # a path may ask to begin later than the first item
    body = fetch(url, first_params)
    first = page_results(body, url)
    total = _count(body)
    yield Page(first, total)
    if not first or (stop_after is not None and len(first) >= stop_after):
        return
    if max_concurrency > 1 and total is not None and total > len(first):
        end = total if stop_after is None else min(total, start + stop_after)
        rest = {k: v for k, v in query.items() if k not in ("offset", "limit")}
        offsets = range(start + len(first), end, len(first))
        later = _pages_by_offset(fetch, base_url, rest, len(first), offsets, max_concurrency, total)
    else:
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


def _pages_by_offset(
    fetch: Fetch,
    base_url: str,
    query: dict[str, Any],
    step: int,
    offsets: range,
    max_concurrency: int,
    total: int,
) -> Generator[Page, None, None]:
    """Fetch pages at `offsets` with at most `max_concurrency` requests in flight.

    Offsets are only right while the list holds still: a page reporting another `count`
    than the first means items moved between pages, so some would be lost or doubled.
    """
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    def fetch_at(offset: int) -> Any:
        return fetch(base_url, {**query, "limit": step, "offset": offset})

    pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="vh-lite-page")
    pending = iter(offsets)
    window: deque[Future[Any]] = deque()
    try:
        for offset in pending:
            window.append(pool.submit(fetch_at, offset))
            if len(window) >= max_concurrency:
                break
        while window:
            body = window.popleft().result()
            following = next(pending, None)
            if following is not None:
                window.append(pool.submit(fetch_at, following))
            results = page_results(body, base_url)
            if _count(body) != total:
                raise ApiError(
                    f"the list changed while it was being read ({total} items, then "
                    f"{_count(body)})",
                    reason="list-changed",
                )
            yield Page(results, total)
            if not results:
                return
    finally:
        # Stopped early (a limit, an error, Ctrl-C): drop what has not started yet.
        pool.shutdown(wait=False, cancel_futures=True)


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
        total = _count(body)
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
        yield Page(results, _count(body))
        if not results:
            return


def _count(body: dict[str, Any]) -> int | None:
    count = body.get("count")
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def page_results(body: Any, url: str) -> list[dict[str, Any]]:
    """The page's items; anything but a list of objects is the wrong envelope, an error."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise ApiError(f"the server's answer to {urlsplit(url).path} is not a paginated list")
    results: list[dict[str, Any]] = body["results"]
    if not all(isinstance(item, dict) for item in results):
        raise ApiError(
            f"the server's answer to {urlsplit(url).path} lists something that is not an object"
        )
    return results


def _offset_in(query: dict[str, list[str]]) -> int:
    values = query.get("offset") or ["0"]
    text = values[0]
    return int(text) if text.isascii() and text.isdecimal() else 0
