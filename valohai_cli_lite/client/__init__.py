"""ValohaiClient: the API's endpoints over the Transport. It knows nothing about terminals
or advice: it returns plain dicts and raises typed errors; hints are added by the caller."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ..errors import ApiError, check_token, register_secret
from .errors import decode_json
from .hosts import api_url
from .paging import DEFAULT_PAGE_SIZE, Page, iter_pages
from .transport import DEFAULT_TIMEOUT, ClientSettings, Transport, with_query

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_TIMEOUT",
    "ClientSettings",
    "Page",
    "ValohaiClient",
    "with_query",
]


class ValohaiClient(Transport):
    def __init__(
        self, host: str, token: str | None = None, *, settings: ClientSettings | None = None
    ) -> None:
        super().__init__(host, settings or ClientSettings())
        if token is not None:
            self.use_token(token)

    def __repr__(self) -> str:  # never the token
        return f"ValohaiClient(host={self.host!r})"

    def use_token(self, token: str) -> None:
        register_secret(token)
        self.token = token

    def __enter__(self) -> ValohaiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get(
        self, url: str, params: dict[str, Any] | None = None, *, retry_throttled: bool = True
    ) -> Any:
        return decode_json(self.send("GET", url, params=params, retry_throttled=retry_throttled))

    def get_token(self, username: str, password: str) -> str:
        form = {"username": username, "password": password}
        body = decode_json(
            self.send("POST", api_url(self.host, "get-token/"), form=form, authenticated=False)
        )
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ApiError("the server's get-token answer holds no token")
        register_secret(token)
        return check_token(token, "the server's get-token answer")

    def me(self) -> dict[str, Any]:
        body = self.get(api_url(self.host, "users/me/"))
        if not isinstance(body, dict) or "username" not in body:
            raise ApiError("the server's users/me answer is not a user object")
        return body

    def iter_pages(self, url: str, **options: Any) -> Generator[Page, None, None]:
        # The first page's round trip tells a near server from a far one: the connection pool
        # (httpx's imports, the TLS context) is set up now, so that only the network is timed.
        self._client()
        return iter_pages(self.get, url, **options)

    def get_object(self, path: str) -> dict[str, Any]:
        body = self.get(api_url(self.host, path))
        if not isinstance(body, dict):
            raise ApiError(f"the server's answer to {path} is not an object")
        return body
