"""Choosing fields of API objects with dotted paths (`owner.username`), for every format."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..errors import UsageError


def parse_fields(text: str) -> list[str]:
    fields = [part.strip() for part in text.split(",")]
    if not all(fields):
        raise UsageError(f"--fields has an empty field name in {text!r}")
    return list(dict.fromkeys(fields))


def get_path(obj: Any, path: str) -> Any:
    if "." not in path:  # most fields: one dict lookup (a table reads 5 per row)
        return obj.get(path) if isinstance(obj, dict) else None
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def validate_fields(fields: Sequence[str], known: Sequence[str]) -> None:
    """Checked before any request: the known fields include those only some servers send,
    and a path below one (`owner.email`) is accepted as it is."""
    import difflib

    unknown = [
        f for f in fields if f not in known and not any(f.startswith(k + ".") for k in known)
    ]
    if not unknown:
        return
    guesses = [m for f in unknown for m in difflib.get_close_matches(f, known, n=1, cutoff=0.6)]
    meant = f"; did you mean {', '.join(guesses)}?" if guesses else ""
    raise UsageError(
        f"unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}{meant}",
        hint=f"valid fields: {', '.join(known)}; --json shows everything the server sends",
    )


def select_fields(obj: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """Nesting kept: owner.username -> {"owner": {...}}."""
    chosen = set(fields)
    result: dict[str, Any] = {}
    for path in fields:
        keys = path.split(".")
        if any(".".join(keys[:i]) in chosen for i in range(1, len(keys))):
            continue  # a broader field ('owner' for 'owner.id') already brings it whole
        target = result
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = get_path(obj, path)
    return result


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)
