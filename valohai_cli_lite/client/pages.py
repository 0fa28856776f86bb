"""What paging works with: the fetch callable, a page, last time's guess, a page's items.

Shared by pagination.py (the order of requests) and concurrent_pages.py (several at once).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

from ..errors import ApiError

# The `limit` of the first request. A server that caps lower answers with fewer items (DRF's
# default is 100) and the rest is then asked for in steps of what it did hand out. 1000 lists
# most accounts in one round trip where the server allows it, without the multi-megabyte
# first answer of 9000-10000 that other clients ask for; docs/performance.md has the
# measurements behind the number.
DEFAULT_PAGE_SIZE = 1000

# Seconds: a page that took less than this did not keep anyone waiting on a slow link. A far
# server gets early requests (PagingGuess) and a growing window (concurrent_pages.Window).
FAR = 0.01


class Fetch(Protocol):
    """GET `url` with `params` and return the decoded JSON body, or raise a typed error.
    With `retry_throttled` off a 429 is raised at once (ApiError with status 429), for the
    caller to schedule the retry."""

    def __call__(
        self, url: str, params: dict[str, Any] | None, *, retry_throttled: bool = True
    ) -> Any: ...


class Page(NamedTuple):
    results: list[dict[str, Any]]
    total: int | None  # the server's `count` of all items, when it sent one


class PagingGuess(NamedTuple):
    """What a list looked like last time: the page size the server handed out, how many
    items there were, and whether the first page kept the reader waiting (`far`). With a far
    server, the second round of requests goes out with the first. With a near one it would
    buy nothing: the first page would be back before they were sent, and their threads would
    only slow the first rows down (~6 ms on a 2-core machine)."""

    step: int
    total: int
    far: bool


def page_count(body: dict[str, Any]) -> int | None:
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
