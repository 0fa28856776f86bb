"""Pages fetched by offset, several at a time: how many is found out (Window), early requests
sent with the first page for a far server (EarlyPages), 429s waited out without holding a
place, and every page still yielded in order.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import ApiError
from .errors import MAX_RETRY_AFTER
from .pages import FAR, Fetch, Page, PagingGuess, page_count, page_results

if TYPE_CHECKING:
    from concurrent.futures import Future


class EarlyPages:
    """Pages asked for while the first one is still on its way (see pagination.iter_pages)."""

    def __init__(self, pool: Any, slots: list[_Slot], step: int, fetcher: _OffsetFetcher) -> None:
        self.pool, self.slots, self.step, self.fetcher = pool, slots, step, fetcher

    @classmethod
    def ask(
        cls,
        fetch: Fetch,
        base_url: str,
        query: dict[str, Any],
        guess: PagingGuess,
        max_concurrency: int,
        stop_after: int | None,
    ) -> EarlyPages:
        """The pages after the first, as `guess` says they will be (the caller has decided
        that asking early pays: a far server, more than one page, no limit/offset asked)."""
        from concurrent.futures import ThreadPoolExecutor

        end = guess.total if stop_after is None else min(guess.total, stop_after)
        # Modestly: with the first page, four requests are out, as many as a cautious
        # gateway allows; the Window takes over from there.
        offsets = list(range(guess.step, end, guess.step))[: min(EARLY, max_concurrency - 1)]
        pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="vh-lite-page")
        fetcher = _OffsetFetcher(fetch, base_url, query, guess.step)
        slots = [_Slot(o, pool.submit(fetcher, o)) for o in offsets]
        return cls(pool, slots, guess.step, fetcher)

    def confirmed(self, step: int, offsets: range) -> EarlyPages | None:
        """These pages, if the first page confirmed the guess; otherwise none (dropped)."""
        if self.pool is None or step != self.step:
            self.drop()
            return None
        wanted = set(offsets)
        self.slots = [slot for slot in self.slots if slot.offset in wanted]
        return self

    def drop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None


class _OffsetFetcher:
    """Fetches the page at an offset; a 429 comes back as _Throttled for the scheduler, with
    how many requests were out when it came (the gateway's limit is below that)."""

    def __init__(self, fetch: Fetch, base_url: str, query: dict[str, Any], step: int) -> None:
        import threading

        self.fetch, self.base_url, self.query, self.step = fetch, base_url, query, step
        self.in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, offset: int) -> Any:
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


class Window:
    """How many page requests may be in flight at once, found out rather than fixed.

    It starts modestly and, while the reader keeps waiting on the network, grows by two for
    each page read: about tripling per round trip, a faster slow start than TCP's, since a
    listing is over in a few round trips. On a fast link the reader does not wait, so it
    stays put instead of burning CPU on threads that buy nothing. Each 429 lowers the
    ceiling below what was in flight when it came, for good: a gateway that allows N
    requests in flight costs a handful of 429s, once.
    """

    START = 8
    WAITED = FAR  # less than this is not waiting on a slow link

    def __init__(self, ceiling: int) -> None:
        self.ceiling = max(1, ceiling)
        self.size = min(self.START, self.ceiling)
        self._read = 0
        self._last_wait = -(10**9)

    def read(self, waited: float) -> None:
        """A page was read after waiting `waited` seconds for it."""
        self._read += 1
        if waited >= self.WAITED:
            self._last_wait = self._read
        if self._read - self._last_wait < self.size:
            self.size = min(self.ceiling, self.size + 2)

    def throttled(self, in_flight: int) -> None:
        """A 429 came back while `in_flight` requests (itself included) were out."""
        self.ceiling = max(1, min(self.ceiling, in_flight - 1))
        self.size = min(self.size, self.ceiling)


def _failed(slot: _Slot) -> bool:
    future = slot.future
    return future is not None and future.done() and future.exception() is not None


class _Throttled(NamedTuple):
    error: ApiError  # the 429, raised if the server keeps asking for too long
    in_flight: int  # requests out when it came, itself included


class _Slot:
    """One page, in order: its request (None while it waits to be retried) and how often
    the server throttled it."""

    __slots__ = ("future", "not_before", "offset", "ready", "throttled")

    def __init__(self, offset: int, future: Future[Any] | None) -> None:
        self.offset = offset
        self.future = future
        self.not_before = 0.0
        self.throttled = 0
        # Its page is in, neither failed nor throttled: nothing is left to look at until it
        # is yielded (the scheduler looks at every slot each time a page comes in).
        self.ready = False


EARLY = 3  # pages asked for with the first one, when last time's listing says how
MAX_THROTTLED = 8  # times one page may be answered 429 before the listing gives up
# Pages read ahead of the one being yielded, beyond those in flight: enough items to go on
# while a throttled page waits out its Retry-After, not so many that memory grows.
BUFFERED_ITEMS = 4000
MIN_BUFFERED = 8


def pages_by_offset(
    fetch: Fetch,
    base_url: str,
    query: dict[str, Any],
    step: int,
    offsets: range,
    max_concurrency: int,
    total: int,
    early: EarlyPages | None = None,
) -> Generator[Page, None, None]:
    """Fetch the pages at `offsets` concurrently (how many at once: Window, at most
    `max_concurrency`) and yield them in order.

    A page the server throttles (429) is asked for again after its Retry-After, without
    holding a place in the window meanwhile, so the other pages go on. Offsets are only
    right while the list holds still: a page reporting another `count` than the first
    means items moved between pages, so some would be lost or doubled.
    """
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    fetch_at = early.fetcher if early else _OffsetFetcher(fetch, base_url, query, step)
    if early is not None:  # pages already on their way: the rest follow them
        pool = early.pool
        slots: deque[_Slot] = deque(early.slots)
        asked = {slot.offset for slot in early.slots}
        fresh = iter([offset for offset in offsets if offset not in asked])
    else:
        pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="vh-lite-page")
        slots = deque()
        fresh = iter(offsets)
    window = Window(max_concurrency)
    buffered = max(MIN_BUFFERED, BUFFERED_ITEMS // max(step, 1))

    def schedule() -> list[Future[Any]]:
        """Throttled pages wait their turn; free places go to them first, then new pages.
        Returns the requests it left out. Waiting on exactly those (not on what is still out
        a moment later) means a page that comes in meanwhile ends the wait at once, so its
        place is filled again instead of staying empty while, say, a slow head is awaited.

        After a page fails, its error is raised when its turn comes: the pages before it
        are still seen through (throttled ones included), none after it is wanted.
        """
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
                slot.future = pool.submit(fetch_at, slot.offset)
                out.append(slot.future)
        while failed is None and len(out) < window.size and len(slots) < window.size + buffered:
            offset = next(fresh, None)
            if offset is None:
                break
            submitted = pool.submit(fetch_at, offset)
            slots.append(_Slot(offset, submitted))
            out.append(submitted)
        return out

    try:
        schedule()
        while slots:
            head = slots[0]
            started = time.monotonic()
            while True:
                outstanding = schedule()
                if head.future is not None and head.future.done():
                    if _failed(head) or not isinstance(head.future.result(), _Throttled):
                        break
                    continue  # throttled since schedule() looked: it goes back in line
                delays = [s.not_before for s in slots if s.future is None]
                timeout = max(0.0, min(delays) - time.monotonic()) if delays else None
                if outstanding:
                    wait(outstanding, timeout=timeout, return_when=FIRST_COMPLETED)
                elif timeout is not None:
                    time.sleep(timeout)
            window.read(time.monotonic() - started)
            slots.popleft()
            body = head.future.result()
            results = page_results(body, base_url)
            if page_count(body) != total:
                raise ApiError(
                    f"the list changed while it was being read ({total} items, then "
                    f"{page_count(body)})",
                    reason="list-changed",
                )
            yield Page(results, total)
            if not results:
                return
    finally:
        # Stopped early (a limit, an error, Ctrl-C): drop what has not started yet.
        pool.shutdown(wait=False, cancel_futures=True)
