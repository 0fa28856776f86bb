"""Every page of a DRF limit/offset list, in order. Paging only calls `fetch(url, params)` for
a page's decoded JSON body: it knows nothing about HTTP, and can be tested with a dict."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qs, urljoin, urlsplit

from ..errors import ApiError
from .errors import MAX_RETRY_AFTER, origin_text
from .hosts import same_origin

if TYPE_CHECKING:
    from concurrent.futures import Future

# The first request's `limit`; a server capping lower (DRF's default is 100) sets the step.
# 1000 lists most accounts in one round trip without the multi-megabyte first answer of
# 9000-10000 that other clients ask for (docs/performance.md has the measurements).
DEFAULT_PAGE_SIZE = 1000

# Seconds: a page that took less than this did not keep anyone waiting on a slow link. A far
# server gets early requests (PagingGuess) and a growing window (Window).
FAR = 0.01

# fetch(url, params, retry_throttled=True) -> the decoded JSON body, or a typed error; with
# retry_throttled=False a 429 is raised at once, for the caller to schedule the retry.
Fetch = Callable[..., Any]


class Page(NamedTuple):
    results: list[dict[str, Any]]
    total: int | None  # the server's `count` of all items, when it sent one


class PagingGuess(NamedTuple):
    """A list last time: only for a `far` one do early requests pay; with a near server the
    first page is back before they are sent, and their threads slow the first rows down."""

    step: int
    total: int
    far: bool


# A `count` taking more pages than this is not believed: a hostile or broken server could
# otherwise keep a listing going for ever (100 million items a thousand at a time).
MAX_PAGES = 100_000


def _ids(items: list[dict[str, Any]]) -> list[int]:  # every Valohai record has an id
    return [hash(item["id"]) for item in items if isinstance(item.get("id"), str | int)]


def page_count(body: dict[str, Any]) -> int | None:
    count = body.get("count")
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def page_results(body: Any, url: str) -> list[dict[str, Any]]:
    path = urlsplit(url).path
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise ApiError(f"the server's answer to {path} is not a paginated list")
    results: list[dict[str, Any]] = body["results"]
    if not all(isinstance(item, dict) for item in results):
        raise ApiError(f"the server's answer to {path} lists something that is not an object")
    return results


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
    """After the first page, with `max_concurrency` > 1 pages go by offset several at a time
    (Window); otherwise by `next` (same origin only), or offsets where it is missing. A `guess`
    sends the next requests with the first, used only if its page size is confirmed; `learned`
    hears if the first page was FAR, so `fetch` should have its pool set up before it."""
    query = parse_qs(urlsplit(url).query)
    base_url = url.split("?", 1)[0]
    first_params = {k: v for k, v in (("limit", page_size), ("offset", 0)) if k not in query}
    asked_offset = (query.get("offset") or ["0"])[0]  # a path may begin later than the first
    start = int(asked_offset) if asked_offset.isascii() and asked_offset.isdecimal() else 0
    rest = {k: v for k, v in query.items() if k not in ("offset", "limit")}
    by_offset = None  # the requests for pages by offset, once there are any
    plain = max_concurrency > 1 and "limit" not in query and "offset" not in query
    if plain and guess is not None and guess.far and guess.total > guess.step:
        by_offset = _OffsetRequests(fetch, base_url, rest, guess.step, max_concurrency)
        end = guess.total if stop_after is None else min(guess.total, stop_after)
        # With the first, four requests out: as many as a cautious gateway allows; then Window.
        for offset in range(guess.step, end, guess.step)[: min(EARLY, max_concurrency - 1)]:
            by_offset.early.append(_Slot(offset, by_offset.ask(offset)))
    try:
        sent = time.monotonic()
        body = fetch(url, first_params)
        far = time.monotonic() - sent >= FAR
        first = page_results(body, url)
        total = page_count(body)
        natural = stop_after is None and "limit" not in query and not start
        if learned is not None and natural and total is not None and total > len(first):
            learned(PagingGuess(len(first), total, far))
        yield Page(first, total)
        if not first or (stop_after is not None and len(first) >= stop_after):
            return
        if total is not None and (total - start) / len(first) > MAX_PAGES:
            raise ApiError(
                f"the server says {urlsplit(url).path} holds {total:,} items, "
                f"{len(first)} a page: over {MAX_PAGES:,} pages, more than any real list; "
                "not paging through it"
            )
        if by_offset is not None and by_offset.step != len(first):
            by_offset.close()
            by_offset = None
        if max_concurrency > 1 and total is not None and total > len(first):
            end = total if stop_after is None else min(total, start + stop_after)
            offsets = range(start + len(first), end, len(first))
            if by_offset is None:  # no guess, or a wrong one
                by_offset = _OffsetRequests(fetch, base_url, rest, len(first), max_concurrency)
            later = pages_by_offset(by_offset, offsets, max_concurrency, total)
        else:
            later = _pages_by_next(fetch, url, body, query, page_size, start)
        # What every item listed so far was (the hash of its id): a server that ignores
        # limit/offset, or cycles through its pages, would otherwise be listed for ever.
        seen = set(_ids(first))
        with contextlib.closing(later):
            for page in later:
                keys = _ids(page.results)
                known = len(seen)
                seen.update(keys)
                if len(seen) - known < len(keys):
                    raise ApiError(
                        f"the server listed items of {urlsplit(url).path} again on a later "
                        "page: it does not page by limit and offset, or the list changed "
                        "while it was read",
                        reason="list-changed",
                    )
                yield page
    finally:
        if by_offset is not None:
            by_offset.close()


def _pages_by_next(
    fetch: Fetch, url: str, body: Any, query: dict[str, list[str]], page_size: int, start: int
) -> Generator[Page, None, None]:
    """The pages after `body`, by `next` links (or offsets when `next` is absent)."""
    current, base_url = url, url.split("?", 1)[0]
    seen = start + len(body["results"])
    visited: set[str] = set()
    while True:
        total = page_count(body)
        link = body.get("next")
        # DRF sends absolute links; a relative one is resolved against this page.
        next_url = urljoin(current, link) if isinstance(link, str) and link else None
        params: dict[str, Any] | None = None
        if next_url is not None and not same_origin(next_url, base_url):
            # A server behind a proxy may link to the wrong scheme or host: the token goes
            # nowhere else, but while the total is known, offsets on the host reach the pages.
            if total is None:
                raise ApiError(
                    f"the server's next page is on {origin_text(next_url)}, not "
                    f"{origin_text(base_url)}; refusing to send the token there",
                    reason="foreign-next",
                )
            next_url = None
        if next_url is not None:
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


class _OffsetRequests:
    """Requests for pages by offset on a pool of threads. A 429 comes back as _Throttled,
    with how many requests were out when it came (the gateway's limit is below that)."""

    def __init__(
        self, fetch: Fetch, base_url: str, query: dict[str, Any], step: int, threads: int
    ) -> None:
        import threading
        from concurrent.futures import ThreadPoolExecutor

        self.fetch, self.base_url, self.query, self.step = fetch, base_url, query, step
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vh-lite-page")
        self.early: list[_Slot] = []  # the pages asked for with the first one
        self.in_flight = 0
        self._lock = threading.Lock()

    def ask(self, offset: int) -> Future[Any]:
        return self.pool.submit(self._fetch, offset)

    def _fetch(self, offset: int) -> Any:
        params = {**self.query, "limit": self.step, "offset": offset}
        with self._lock:
            self.in_flight += 1
        try:
            return self.fetch(self.base_url, params, retry_throttled=False)
        except ApiError as exc:
            if exc.status == 429:
                return _Throttled(exc, self.in_flight)
            raise
        finally:
            with self._lock:
                self.in_flight -= 1

    def close(self) -> None:
        """Drop the requests that have not started (a stop, a limit, an error, Ctrl-C)."""
        self.pool.shutdown(wait=False, cancel_futures=True)


class Window:
    """Requests in flight, found out (docs/performance.md): +2 a page while the reader waits,
    about tripling per round trip (faster than TCP's slow start: a listing lasts a few round
    trips); on a fast link no threads that buy nothing. Each 429 lowers the ceiling below what
    was in flight, for good: a gateway allowing N costs a few 429s."""

    START = 8

    def __init__(self, ceiling: int) -> None:
        self.ceiling = max(1, ceiling)
        self.size = min(self.START, self.ceiling)
        self._read = 0
        self._last_wait = -(10**9)

    def read(self, waited: float) -> None:
        self._read += 1
        if waited >= FAR:
            self._last_wait = self._read
        if self._read - self._last_wait < self.size:
            self.size = min(self.ceiling, self.size + 2)

    def throttled(self, in_flight: int) -> None:
        """A 429 came back while `in_flight` requests (itself included) were out."""
        self.ceiling = max(1, min(self.ceiling, in_flight - 1))
        self.size = min(self.size, self.ceiling)


class _Throttled(NamedTuple):
    error: ApiError  # the 429, raised if the server keeps asking for too long
    in_flight: int  # requests out when it came, itself included


class _Slot:
    """One page, in order: its request (None while it waits to be retried)."""

    __slots__ = ("future", "not_before", "offset", "ready", "throttled")

    def __init__(self, offset: int, future: Future[Any] | None) -> None:
        self.offset, self.future = offset, future
        self.not_before, self.throttled = 0.0, 0
        self.ready = False  # in and good: the scheduler, which looks at every slot, skips it


EARLY = 3  # pages asked for with the first one, when last time's listing says how
MAX_THROTTLED = 8  # times one page may be answered 429 before the listing gives up
# Pages read ahead of the one being yielded, beyond those in flight: enough items to go on
# while a throttled page waits out its Retry-After, not so many that memory grows.
BUFFERED_ITEMS = 4000
MIN_BUFFERED = 8


def give_back_freed_memory() -> None:
    """glibc raises its mmap and trim thresholds to the size of the page bodies freed, then
    keeps what is freed: peak RSS grew with a listing. Fixed at glibc's defaults, it is flat."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # ~3 ms, paid only by listings of more than one page

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        for parameter in (-1, -3):  # M_TRIM_THRESHOLD, M_MMAP_THRESHOLD: glibc's defaults
            libc.mallopt(parameter, 128 * 1024)


def pages_by_offset(
    requests: _OffsetRequests, offsets: range, max_concurrency: int, total: int
) -> Generator[Page, None, None]:
    """The pages at `offsets`, fetched concurrently, in order. A throttled page waits out its
    Retry-After holding no place in the Window. Offsets are only right while the list holds
    still: a page with another `count` than the first means items were lost or doubled."""
    give_back_freed_memory()
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, wait

    # Pages already on their way (those still wanted) come first; the rest follow them.
    slots = deque(slot for slot in requests.early if slot.offset in offsets)
    asked = {slot.offset for slot in slots}
    fresh = (offset for offset in offsets if offset not in asked)
    window = Window(max_concurrency)
    buffered = max(MIN_BUFFERED, BUFFERED_ITEMS // max(requests.step, 1))

    def schedule() -> list[Future[Any]]:
        """Free places go to throttled pages, then new ones. Returns the requests out: waiting
        on exactly those, a page coming in meanwhile ends the wait and its place is refilled.
        A failed page is raised in its turn: none after it is wanted."""
        now = time.monotonic()
        failed = None
        out: list[Future[Any]] = []
        for i, slot in enumerate(slots):
            future = slot.future
            if slot.ready or future is None:
                continue
            if not future.done():
                out.append(future)
                continue
            if future.exception() is not None:
                failed = i
                break
            refused = future.result()
            if not isinstance(refused, _Throttled):
                slot.ready = True
                continue
            slot.throttled += 1
            asked = refused.error.retry_after or 1.0
            if asked > MAX_RETRY_AFTER or slot.throttled > MAX_THROTTLED:
                raise refused.error
            window.throttled(refused.in_flight)
            slot.future, slot.not_before = None, now + asked
        if failed is not None:
            while len(slots) > failed + 1:
                dropped = slots.pop()
                if dropped.future is not None:
                    dropped.future.cancel()
        for slot in slots:
            if len(out) >= window.size:
                return out
            if slot.future is None and slot.not_before <= now:
                slot.future = requests.ask(slot.offset)
                out.append(slot.future)
        while failed is None and len(out) < window.size and len(slots) < window.size + buffered:
            offset = next(fresh, None)
            if offset is None:
                break
            submitted = requests.ask(offset)
            slots.append(_Slot(offset, submitted))
            out.append(submitted)
        return out

    schedule()
    while slots:
        head = slots[0]
        started = time.monotonic()
        while True:
            outstanding = schedule()
            future = head.future  # failed, ready, throttled (None) or still out
            if future is not None and (head.ready or (future.done() and future.exception())):
                break
            delays = [s.not_before for s in slots if s.future is None]
            timeout = max(0.0, min(delays) - time.monotonic()) if delays else None
            if outstanding:
                wait(outstanding, timeout=timeout, return_when=FIRST_COMPLETED)
            elif timeout is not None:
                time.sleep(timeout)
        window.read(time.monotonic() - started)
        slots.popleft()
        body = future.result()
        results = page_results(body, requests.base_url)
        if page_count(body) != total:
            raise ApiError(
                f"the list changed while it was being read ({total} items, then "
                f"{page_count(body)})",
                reason="list-changed",
            )
        yield Page(results, total)
        if not results:
            return
