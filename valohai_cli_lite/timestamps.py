"""The API's timestamps (ISO 8601, usually with a Z), read one way for sorting and display."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime


def parse_timestamp(value: Any) -> datetime | None:
    """An aware datetime (UTC when the text names no zone), or None if `value` is not one."""
    from datetime import datetime, timezone

    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
