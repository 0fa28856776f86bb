"""ValohaiClient: the Valohai API's endpoints, over one Transport.

It knows nothing about terminals or about advice for users: it returns plain dicts and
raises the typed errors in errors.py; hints are added by the caller (hints.py).

    transport.py   sending: connection, deadlines, same-origin redirects, retries
    errors.py      answers and failures -> typed errors (DRF bodies, Retry-After)
    pagination.py  every page of a list, in order: by offset or by `next`
    concurrent_pages.py  pages by offset, several at once (Window), early requests
    pages.py       what both work with: Fetch, Page, PagingGuess, a page's items
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from ..errors import ApiError, check_token, register_secret
from .errors import decode_json, raise_for_status
from .hosts import api_url
from .paging import DEFAULT_PAGE_SIZE, Page, PagingGuess, iter_pages
from .transport import DEFAULT_TIMEOUT, ClientSettings, Transport, with_query

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_TIMEOUT",
    "ClientSettings",
    "Page",
    "PagingGuess",
    "ValohaiClient",
    "with_query",
]


class ValohaiClient:
    def __init__(
        self, host: str, token: str | None = None, *, settings: ClientSettings | None = None
    ) -> None:
        self.host = host
        self._transport = Transport(host, settings or ClientSettings())
        if token is not None:
            self.use_token(token)

    def __repr__(self) -> str:  # never the token
        return f"ValohaiClient(host={self.host!r})"

    def use_token(self, token: str) -> None:
        register_secret(token)
        self._transport.token = token

    def __enter__(self) -> ValohaiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    def check_plain_http(self) -> None:
        """UsageError now, before anything is asked, if plain http is not allowed here."""
        self._transport.check_plain_http()

    # -- requests --------------------------------------------------------------------------

    def send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        json_body: Any = None,
        authenticated: bool = True,
        retry_throttled: bool = True,
    ) -> httpx.Response:
        """One request (retried and redirected as transport.py explains), any status."""
        return self._transport.send(
            method, url, params=params, form=form, json_body=json_body,
            authenticated=authenticated, retry_throttled=retry_throttled,
        )  # fmt: skip

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        authenticated: bool = True,
        retry_throttled: bool = True,
    ) -> Any:
        """Send one request and return its decoded JSON body, or raise a typed error."""
        response = self.send(
            method, url, params=params, form=form, authenticated=authenticated,
            retry_throttled=retry_throttled,
        )  # fmt: skip
        raise_for_status(response)
        return decode_json(response)

    def _get(self, url: str, params: dict[str, Any] | None, *, retry_throttled: bool = True) -> Any:
        return self.request("GET", url, params=params, retry_throttled=retry_throttled)

    # -- endpoints -------------------------------------------------------------------------

    def get_token(self, username: str, password: str) -> str:
        """Exchange a username and password for an API token (POST get-token, form-encoded)."""
        body = self.request(
            "POST",
            api_url(self.host, "get-token/"),
            form={"username": username, "password": password},
            authenticated=False,
        )
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ApiError("the server's get-token answer holds no token")
        register_secret(token)
        return check_token(token, "the server's get-token answer")

    def me(self) -> dict[str, Any]:
        body = self.request("GET", api_url(self.host, "users/me/"))
        if not isinstance(body, dict) or "username" not in body:
            raise ApiError("the server's users/me answer is not a user object")
        return body

    def iter_pages(
        self,
        url: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_concurrency: int = 1,
        stop_after: int | None = None,
        guess: PagingGuess | None = None,
        learned: Callable[[PagingGuess], None] | None = None,
    ) -> Generator[Page, None, None]:
        """Every page of the list at `url` (pagination.iter_pages)."""
        # The first page's round trip tells a near server from a far one: time the network,
        # not the set-up.
        self._transport.open()
        return iter_pages(
            self._get, url, page_size=page_size, max_concurrency=max_concurrency,
            stop_after=stop_after, guess=guess, learned=learned,
        )  # fmt: skip

    def get_object(self, path: str) -> dict[str, Any]:
        """One object at `path` below /api/v0/ (`projects/<id>/`)."""
        body = self.request("GET", api_url(self.host, path))
        if not isinstance(body, dict):
            raise ApiError(f"the server's answer to {path} is not an object")
        return body
