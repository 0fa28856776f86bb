"""Lists served the way Django REST Framework's LimitOffsetPagination serves them, or not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from valohai_cli_lite.client.hosts import is_loopback_host
from valohai_cli_lite.emulator.config import EmulatorConfig


def _query_int(
    query: dict[str, list[str]], key: str, default: int, *, strict: bool, cutoff: int | None = None
) -> int:
    # DRF's positive_int: negative (or, when strict, zero) and non-numbers mean "use default".
    if key not in query:
        return default
    try:
        value = int(query[key][-1])
    except ValueError:
        return default
    if value < 0 or (value == 0 and strict):
        return default
    return min(value, cutoff) if cutoff is not None else value


def _with_query_param(url: str, key: str, value: int | None) -> str:
    """`url` with `key` set to `value` (None: removed); the rest kept and sorted, as in DRF."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    if value is None:
        params.pop(key, None)
    else:
        params[key] = [str(value)]
    query = urlencode(sorted(params.items()), doseq=True)
    return urlunsplit((scheme, netloc, path, query, fragment))


def other_origin(base_url: str, loopback_address: str) -> str:
    """Another name for the server at `base_url`: same scheme and port, other host.

    `localhost` becomes `loopback_address` (the address listened on, `127.0.0.1` when that is
    not a loopback address); any address becomes `localhost`.
    """
    parts = urlsplit(base_url)
    if parts.hostname == "localhost":
        named = is_loopback_host(loopback_address) and loopback_address != "localhost"
        host = loopback_address if named else "127.0.0.1"
    else:
        host = "localhost"
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def paginate(
    config: EmulatorConfig,
    count: int,
    item: Callable[[int], Any],
    link_base: str,
    path: str,
    query: dict[str, list[str]],
) -> dict[str, Any]:
    """The answer to `path?query` for a list of `count` items, item(i) being the i-th one.

    Like DRF, a `limit` or `offset` that is not a usable number falls back to the default
    instead of failing, and `limit` is silently capped. `next`/`previous` are built on
    `link_base` (scheme and host, no trailing slash).
    """
    if config.envelope == "bare":
        return {"results": [item(index) for index in range(count)]}
    if config.ignore_paging:
        results = [item(index) for index in range(count)]
        return {"count": count, "next": None, "previous": None, "results": results}

    limit = _query_int(query, "limit", config.page_size, strict=True, cutoff=config.limit_cap)
    offset = _query_int(query, "offset", 0, strict=False)
    results = [item(index) for index in range(offset, min(offset + limit, count))]

    this_url = link_base + path
    if query:
        this_url += "?" + urlencode(query, doseq=True)
    next_url: str | None = None
    if offset + limit < count:
        next_url = _with_query_param(this_url, "limit", limit)
        next_url = _with_query_param(next_url, "offset", offset + limit)
    previous_url: str | None = None
    if offset > 0:
        previous_url = _with_query_param(this_url, "limit", limit)
        # DRF drops `offset` rather than sending offset=0 when going back to the start.
        previous_offset = offset - limit if offset - limit > 0 else None
        previous_url = _with_query_param(previous_url, "offset", previous_offset)
    if next_url is not None and config.foreign_next:
        next_url = (
            config.foreign_next.rstrip("/")
            + urlsplit(next_url)._replace(scheme="", netloc="").geturl()
        )
    return {"count": count, "next": next_url, "previous": previous_url, "results": results}
