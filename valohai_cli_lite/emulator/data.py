"""The emulator's fake accounts and projects.

Projects are computed from their position in the list rather than stored, so a server with
10,000 projects costs nothing until a page is asked for, and every run serves the same data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

DEMO_USER_ID = 1337
ORG_OWNER = {"id": 42, "username": "acme-org"}

# Fields the detail object published in Valohai's docs carries as null, though the list
# entries have numbers in them (docs/emulator.md, "The detail object").
DETAIL_NULL_FIELDS = (
    "execution_count",
    "running_execution_count",
    "queued_execution_count",
    "enabled_endpoint_count",
    "last_execution_ctime",
)

# Index 0 is the newest project; each older one was created a little under 2.2 hours earlier,
# with an uneven microsecond part so that timestamps look like real ones.
_NEWEST_CTIME = datetime(2024, 6, 30, 12, 0, 0, 123456, tzinfo=timezone.utc)
_CTIME_STEP = timedelta(seconds=7919, microseconds=104729)

# The low 32 bits of a project id hold its index, so a detail lookup is a decode and a
# comparison instead of a table of every id.
_INDEX_BITS = 32
_INDEX_MASK = (1 << _INDEX_BITS) - 1

# Texts that output code must survive: CSV/TSV delimiters, quotes, newlines, non-ASCII,
# and terminal control sequences that must never reach a terminal raw.
_AWKWARD_DESCRIPTIONS = {
    1: 'Tricky, "quoted" text\nwith a second line, tab\there and ünïcødé — 日本語 ✓',
    2: "Control characters: \x1b[31mred via ESC\x1b[0m, a bell \x07 and a CR\r.",
}


@dataclass(frozen=True)
class EmulatedUser:
    """An account that `get-token` knows about."""

    username: str
    password: str | None
    id: int = DEMO_USER_ID
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    # When set, password login is refused with this top-level error code whatever the
    # password, as Valohai does for accounts with two-factor auth or single sign-on.
    login_refusal: str | None = None

    def profile(self) -> dict[str, Any]:
        """The body of `GET /api/v0/users/me/` for this user."""
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
        }


LOGIN_REFUSAL_MESSAGES = {
    "has_2fa": "This account has two-factor authentication enabled; use an API token.",
    "has_external_identity": (
        "This account signs in through an external identity provider; use an API token."
    ),
}


def default_users() -> list[EmulatedUser]:
    return [
        EmulatedUser(
            username="demo",
            password="demo-password",  # noqa: S106 - a published demo credential
            email="demo@example.com",
            first_name="Demo",
            last_name="User",
        ),
        EmulatedUser(
            username="twofa",
            password=None,
            id=1338,
            email="twofa@example.com",
            login_refusal="has_2fa",
        ),
        EmulatedUser(
            username="sso",
            password=None,
            id=1339,
            email="sso@example.com",
            login_refusal="has_external_identity",
        ),
    ]


def _iso(moment: datetime) -> str:
    # Django REST Framework's default rendering: microseconds and a literal Z.
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ctime(index: int) -> datetime:
    return _NEWEST_CTIME - _CTIME_STEP * index


def project_id(index: int) -> str:
    # Shaped like a UUIDv7 (time-ordered, as Valohai's ids are): creation milliseconds on top,
    # the index at the bottom, fixed-but-varied bits between.
    millis = int(_ctime(index).timestamp() * 1000) & ((1 << 48) - 1)
    noise = (index * 2654435761) & ((1 << 42) - 1)
    value = (
        (millis << 80)
        | (0x7 << 76)
        | ((noise & 0xFFF) << 64)
        | (0b10 << 62)
        | ((noise >> 12) << _INDEX_BITS)
        | (index & _INDEX_MASK)
    )
    return str(uuid.UUID(int=value))


def find_project_index(raw_id: str, project_count: int) -> int | None:
    """The index of the project with id `raw_id`, or None when there is no such project."""
    try:
        parsed = uuid.UUID(raw_id)
    except ValueError:
        return None
    index = parsed.int & _INDEX_MASK
    if index >= project_count or project_id(index) != str(parsed):
        return None
    return index


def _name(index: int) -> str:
    number = index + 1
    if index % 10 == 7:
        return f"image-classifier-{number:04d}"
    if index % 10 == 9:
        return f"nlp_experiments_{number:04d}"
    return f"project-{number:04d}"


def _description(index: int, name: str) -> str:
    if index in _AWKWARD_DESCRIPTIONS:
        return _AWKWARD_DESCRIPTIONS[index]
    if index % 3 == 0:
        return ""
    return f"Experiments for {name}"


def make_project(index: int, base_url: str) -> dict[str, Any]:
    """Project number `index` (0 = newest), with URLs under `base_url` (no trailing slash)."""
    ident = project_id(index)
    name = _name(index)
    owner = dict(ORG_OWNER) if index % 5 == 4 else {"id": DEMO_USER_ID, "username": "demo"}
    ctime = _ctime(index)
    # Some projects never ran anything, so `last_execution_ctime` is null for them.
    execution_count = 0 if index % 6 == 5 else (index * 37) % 500 + 1
    display = f"{base_url}/p/{owner['username']}/{name}/"
    return {
        "id": ident,
        "name": name,
        "description": _description(index, name),
        "owner": owner,
        "ctime": _iso(ctime),
        "mtime": _iso(ctime + timedelta(minutes=index % 90, microseconds=23)),
        "url": f"{base_url}/api/v0/projects/{ident}/",
        "urls": {
            "display": display,
            "display_repository": f"{display}settings/repository/",
        },
        "execution_count": execution_count,
        "running_execution_count": index % 3 if execution_count and index % 4 == 0 else 0,
        "queued_execution_count": 1 if execution_count and index % 7 == 0 else 0,
        "last_execution_ctime": (
            _iso(ctime + timedelta(hours=1 + index % 24)) if execution_count else None
        ),
        "enabled_endpoint_count": 0,
        "read_only": index % 20 == 19,
        "tags": ["demo"] if index % 4 == 1 else [],
        "yaml_path": "valohai.yaml",
    }


def _store_or_environment_id(kind: str, number: int) -> str:
    # Environments and data stores are referred to by UUID; these are fixed made-up ones.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"emulator:{kind}:{number}"))


def _execution_summary(project: dict[str, Any]) -> dict[str, int]:
    """Execution counts by status that add up to the project's `execution_count`."""
    total = project["execution_count"]
    queued = project["queued_execution_count"]
    started = project["running_execution_count"]
    finished = total - queued - started
    error = finished // 10
    stopped = finished // 25
    return {
        "count": total,
        "queued_count": queued,
        "started_count": started,
        "complete_count": finished - error - stopped,
        "error_count": error,
        "stopped_count": stopped,
        "created_count": 0,
        "stopping_count": 0,
        "stopping_hard_count": 0,
    }


def make_project_detail(
    index: int, base_url: str, *, filled_counts: bool = False
) -> dict[str, Any]:
    """Project number `index` as `GET /api/v0/projects/{id}/` answers it.

    The list entry's fields plus what the detail object in Valohai's docs adds. Like that
    published sample, the per-project counters are null unless `filled_counts` is set; the
    numbers are in `execution_summary` either way.
    """
    project = make_project(index, base_url)
    summary = _execution_summary(project)
    if not filled_counts:
        project.update(dict.fromkeys(DETAIL_NULL_FIELDS))
    owner = project["owner"]["username"]
    # The published sample has an empty repository URL; projects set up with a repository
    # have one (the emulator's guess at its form).
    repository_url = "" if index % 3 == 2 else f"https://github.com/{owner}/{project['name']}.git"
    store = _store_or_environment_id("store", index % 2) if index % 4 != 3 else None
    project.update(
        {
            "execution_summary": summary,
            "repository": {"ref": "master, main" if index % 2 else "main", "url": repository_url},
            "environment_variables": {
                "DATASET_VERSION": {"value": f"v{index % 5 + 1}", "secret": False},
                "API_KEY": {"value": None, "secret": True},  # secret values are never sent
            },
            "default_environment": (
                _store_or_environment_id("environment", index % 3) if index % 2 else None
            ),
            "default_store": store,
            "upload_store_id": store,
        }
    )
    return project


def relative_links(project: dict[str, Any], base_url: str) -> dict[str, Any]:
    """`project` with `url` and every `urls` entry relative to the host (`/p/demo/x/`), as a
    server that builds links without knowing its own address may send them."""

    def relative(link: Any) -> Any:
        return link.removeprefix(base_url) if isinstance(link, str) else link

    urls = project.get("urls")
    return {
        **project,
        "url": relative(project.get("url")),
        "urls": {k: relative(v) for k, v in urls.items()} if isinstance(urls, dict) else urls,
    }


def legacy_shape(project: dict[str, Any]) -> dict[str, Any]:
    """`project` as older data has it: owner a bare id, a relative `url`, empty `urls`.

    That is how valohai-cli's test fixtures and Valohai's minihai mock serve projects.
    """
    owner = project["owner"]
    return {
        **project,
        "owner": owner["id"] if isinstance(owner, dict) else owner,
        "url": f"/api/v0/projects/{project['id']}/",
        "urls": {},
    }
