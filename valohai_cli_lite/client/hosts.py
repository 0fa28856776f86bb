"""Host URLs: normalising what users type and deciding where a token may be sent."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from ..errors import UsageError

DEFAULT_HOST = "https://app.valohai.com"
API_PREFIX = "/api/v0/"


def normalize_host(raw: str) -> str:
    """`scheme://netloc[/prefix]` without a trailing slash; a bare name gets https://. A path
    prefix is kept: self-hosted installations may live below one, and silently dropping it
    would send requests elsewhere."""
    text = raw.strip()
    if not text:
        raise UsageError("the host is empty")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UsageError(f"unsupported host scheme {parts.scheme!r} in {raw!r}; use https://")
    if not parts.hostname:
        raise UsageError(f"{raw!r} is not a valid host URL")
    if parts.query or parts.fragment:
        raise UsageError(f"the host {raw!r} must not contain a query or fragment")
    if parts.username or parts.password:
        raise UsageError("the host must not contain a user name or password")
    try:
        _ = parts.port
    except ValueError:  # a port that is not a number, or out of range
        raise UsageError(f"{raw!r} has an invalid port") from None
    path = parts.path.rstrip("/")
    # Users paste the API root or the token page; both mean the installation itself.
    suffix = next((s for s in ("/api/v0", "/api", "/auth/tokens") if path.endswith(s)), "")
    return urlunsplit((scheme, parts.netloc.lower(), path[: len(path) - len(suffix)], "", ""))


def api_url(host: str, path: str) -> str:
    return host + API_PREFIX + path.lstrip("/")


def origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def same_origin(a: str, b: str) -> bool:
    try:
        return origin(a) == origin(b)
    except ValueError:  # a port that is not a port (`:+8080`, `:99999`) is nobody's origin
        return False


def is_loopback(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname or "")


def is_loopback_host(hostname: str) -> bool:
    """A bare host name or address (no brackets) that can only mean this machine."""
    if hostname == "localhost":  # not *.localhost: that is a DNS answer away from anywhere
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def tokens_page(host: str) -> str:
    return host + "/auth/tokens/"
