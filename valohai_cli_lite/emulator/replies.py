"""Answers as the emulator sends them, in the shapes the real API and its proxies use."""

from __future__ import annotations

import http
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def encode_json(data: Any) -> bytes:
    """JSON as DRF renders it: compact separators, non-ASCII left as UTF-8."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_reply(status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, encode_json(data), "application/json", dict(headers or {}))


def not_found() -> Reply:
    return json_reply(404, {"detail": "Not found."})


def method_not_allowed(method: str, allowed: str) -> Reply:
    return json_reply(405, {"detail": f'Method "{method}" not allowed.'}, {"Allow": allowed})


def failure_reply(status: int) -> Reply:
    """An injected failure, shaped like whatever sends that status in front of a real API."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Injected failure"
    if status == 429:
        return json_reply(
            429,
            {"detail": "Request was throttled. Expected available in 1 second."},
            {"Retry-After": "1"},
        )
    if status >= 500:
        # Load balancers and proxies answer with HTML, not the API's JSON.
        html = f"<html><head><title>{status} {phrase}</title></head><body>"
        html += f"<center><h1>{status} {phrase}</h1></center></body></html>\n"
        return Reply(status, html.encode("utf-8"), "text/html")
    return json_reply(status, {"detail": phrase})
