"""The host a user types at login: typos caught with human messages, and a check that it
answers (name, connection, TLS, plain-http policy) before any password is asked for."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import NetworkError, UsageError
from ..hints import explain
from ..hosts import api_url, normalize_host

if TYPE_CHECKING:
    from ..client import ClientSettings
    from ..context import AppContext

# "http//host", "https:/host", "http:host": a scheme with its punctuation mistyped.
_MISTYPED_SCHEME = re.compile(r"^(https?)(?::/?|//|:?/{3,})(?!/)(.+)$", re.IGNORECASE)
PROBE_TIMEOUT = 10.0


def parse_host(raw: str) -> str:
    """The normalised host, or a UsageError that says what looks wrong and what was meant."""
    text = raw.strip()
    if any(ch.isspace() for ch in text):
        raise UsageError(f"{raw.strip()!r} has a space in it; a host URL has none")
    mistyped = _MISTYPED_SCHEME.match(text)
    if mistyped and "://" not in text:
        meant = f"{mistyped.group(1).lower()}://{mistyped.group(2)}"
        raise UsageError(f"{text!r} is not a valid URL; did you mean {meant}?")
    return normalize_host(text)


def check_host(app: AppContext, host: str, settings: ClientSettings) -> None:
    """One quick request to the API root, no token, no retries: UsageError or NetworkError
    (with advice) when the host is not somewhere a login could work."""
    probe = settings._replace(max_attempts=1, timeout=min(settings.timeout, PROBE_TIMEOUT))
    with app.new_client(host, probe) as client:
        try:
            client.check_plain_http()
            response = client.send("GET", api_url(host, ""), authenticated=False)
        except (UsageError, NetworkError) as exc:
            raise explain(exc) from None
    if response.status_code == 400 and "plain HTTP request was sent to HTTPS port" in response.text:
        https = "https://" + host.removeprefix("http://")
        raise UsageError(f"{host} expects TLS on that port; did you mean {https}?")
