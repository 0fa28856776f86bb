"""The emulator's fake accounts and projects, and how many executions each project has.

Projects are computed from their position in the list rather than stored, so a server with
10,000 projects costs nothing until a page is asked for, and every run serves the same data.
Executions are computed the same way from (project index, counter); their objects are built in
executions.py, but their statuses and times live here, because a project's counters must add
up to exactly the executions served.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

DEMO_USER_ID = 1337
ORG_OWNER = {"id": 42, "username": "acme-org"}
# Who starts executions: the demo user and a colleague (who has no login of their own).
EXECUTION_CREATORS = (
    {"id": DEMO_USER_ID, "username": "demo"},
    {"id": 1340, "username": "colleague"},
)

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

# Execution number `counter` of a project was created this long after the project, plus up to
# `_EXECUTION_JITTER_US` so that no two gaps look alike (and the order stays strict).
_EXECUTION_STEP = timedelta(minutes=3)
_EXECUTION_JITTER_US = 170_000_000

UNFINISHED_STATUSES = ("created", "queued", "started", "stopping")
FINISHED_STATUSES = ("complete", "error", "crashed", "stopped")
# Finished executions take their status from this cycle of 50 (41 complete, 5 error,
# 2 crashed, 2 stopped), entered at a different slot per project (_cycle_slot); a project's
# counts by status are then arithmetic, not a scan of its executions.
_FINISHED_CYCLE = tuple(
    "error" if slot in (3, 17, 29, 38, 44)
    else "crashed" if slot in (11, 41)
    else "stopped" if slot in (23, 47)
    else "complete"
    for slot in range(50)
)  # fmt: skip

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


def iso_time(moment: datetime) -> str:
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


def execution_total(index: int, executions: int | None = None) -> int:
    """How many executions project `index` has: `executions` when set, else its own number
    (some projects never ran anything)."""
    if executions is not None:
        return max(executions, 0)
    return 0 if index % 6 == 5 else (index * 37) % 500 + 1


def unfinished_counts(index: int, total: int) -> dict[str, int]:
    """How many of project `index`'s `total` executions are in each unfinished status.

    They are its newest ones, newest first in the order of UNFINISHED_STATUSES: an execution
    is created, waits in the queue, runs, and may be stopping before it finishes.
    """
    wanted = (
        # Most projects have some running and queued; project 0 (given five executions) has
        # every unfinished status.
        # Filled in this order when a project has fewer executions than that.
        ("started", (1, 2, 0, 1)[index % 4]),
        ("queued", (2, 0, 1)[index % 3]),
        ("created", 1 if index % 2 == 0 else 0),
        ("stopping", 1 if index % 5 == 0 else 0),
    )
    counts: dict[str, int] = {}
    room = total
    for status, count in wanted:
        counts[status] = min(count, room)
        room -= counts[status]
    return {status: counts[status] for status in UNFINISHED_STATUSES}


def _unfinished_by_counter(index: int, total: int) -> dict[int, str]:
    """The statuses of project `index`'s unfinished executions, by counter: its newest."""
    statuses: dict[int, str] = {}
    counter = total
    for status, count in unfinished_counts(index, total).items():
        for _ in range(count):
            statuses[counter] = status
            counter -= 1
    return statuses


def _cycle_slot(index: int, counter: int) -> int:
    # 7 is coprime to the cycle's length, so every run of 50 counters visits every slot once.
    return (counter * 7 + index) % len(_FINISHED_CYCLE)


def _creator_slot(index: int, counter: int) -> int:
    """Which of EXECUTION_CREATORS started the execution: every third is the colleague's."""
    return 1 if (counter + index) % 3 == 0 else 0


def execution_status(index: int, counter: int, total: int) -> str:
    """The status of execution `counter` (1..total) of project `index`."""
    unfinished = _unfinished_by_counter(index, total)
    return unfinished.get(counter) or _FINISHED_CYCLE[_cycle_slot(index, counter)]


def execution_status_counts(index: int, total: int) -> dict[str, int]:
    """How many of project `index`'s `total` executions have each status (every status named,
    zeros included); the same as counting execution_status() over them, without the scan."""
    unfinished = unfinished_counts(index, total)
    finished = total - sum(unfinished.values())
    cycle = len(_FINISHED_CYCLE)
    counts = dict.fromkeys(FINISHED_STATUSES, 0)
    for status in _FINISHED_CYCLE:  # whole cycles visit every slot once
        counts[status] += finished // cycle
    for counter in range(finished - finished % cycle + 1, finished + 1):
        counts[_FINISHED_CYCLE[_cycle_slot(index, counter)]] += 1
    return {**unfinished, **counts}


def execution_creator(index: int, counter: int) -> dict[str, Any]:
    """Who started execution `counter` of project `index`. Older-shape executions do not show
    it, but filtering by creator still sees it, as a server filters on what it stores."""
    return dict(EXECUTION_CREATORS[_creator_slot(index, counter)])


def execution_counters(
    index: int,
    total: int,
    *,
    statuses: frozenset[str] | None = None,
    creator_ids: frozenset[str] | None = None,
    newest_first: bool = True,
) -> Sequence[int]:
    """The counters of project `index`'s executions with one of `statuses`, started by one of
    `creator_ids` (ids as text, as a query string has them); None: any.

    Without a filter this is a range, so a page of it is a slice however many there are.
    """
    order = range(total, 0, -1) if newest_first else range(1, total + 1)
    if statuses is None and creator_ids is None:
        return order
    unfinished = _unfinished_by_counter(index, total)

    def wanted(counter: int) -> bool:
        if creator_ids is not None:
            creator = EXECUTION_CREATORS[_creator_slot(index, counter)]
            if str(creator["id"]) not in creator_ids:
                return False
        if statuses is None:
            return True
        status = unfinished.get(counter) or _FINISHED_CYCLE[_cycle_slot(index, counter)]
        return status in statuses

    return [counter for counter in order if wanted(counter)]


def execution_ctime(index: int, counter: int) -> datetime:
    """When execution `counter` of project `index` was created: after the project, later for
    higher counters, whatever the project's total."""
    jitter = timedelta(microseconds=(counter * 48_271_211 + index * 104_729) % _EXECUTION_JITTER_US)
    return _ctime(index) + _EXECUTION_STEP * counter + jitter


def make_project(index: int, base_url: str, *, executions: int | None = None) -> dict[str, Any]:
    """Project number `index` (0 = newest), with URLs under `base_url` (no trailing slash).

    `executions`: how many executions every project has (EmulatorConfig.executions); None for
    each project's own number.
    """
    ident = project_id(index)
    name = _name(index)
    owner = dict(ORG_OWNER) if index % 5 == 4 else {"id": DEMO_USER_ID, "username": "demo"}
    ctime = _ctime(index)
    total = execution_total(index, executions)
    unfinished = unfinished_counts(index, total)
    display = f"{base_url}/p/{owner['username']}/{name}/"
    return {
        "id": ident,
        "name": name,
        "description": _description(index, name),
        "owner": owner,
        "ctime": iso_time(ctime),
        "mtime": iso_time(ctime + timedelta(minutes=index % 90, microseconds=23)),
        "url": f"{base_url}/api/v0/projects/{ident}/",
        "urls": {
            "display": display,
            "display_repository": f"{display}settings/repository/",
        },
        "execution_count": total,
        "running_execution_count": unfinished["started"],
        "queued_execution_count": unfinished["queued"],
        # The newest execution's ctime; null for a project that never ran anything.
        "last_execution_ctime": iso_time(execution_ctime(index, total)) if total else None,
        "enabled_endpoint_count": 0,
        "read_only": index % 20 == 19,
        "tags": ["demo"] if index % 4 == 1 else [],
        "yaml_path": "valohai.yaml",
    }


def store_or_environment_id(kind: str, number: int) -> str:
    """The UUID of environment or data store `number`: fixed made-up ones, so a project's
    `default_environment` is one that `environments/` serves."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"emulator:{kind}:{number}"))


def _execution_summary(index: int, total: int) -> dict[str, int]:
    """The detail's execution counts by status: the executions the emulator serves, counted.

    The published summary has no key for `crashed`; crashed executions are counted as errors.
    """
    counts = execution_status_counts(index, total)
    return {
        "count": total,
        "queued_count": counts["queued"],
        "started_count": counts["started"],
        "complete_count": counts["complete"],
        "error_count": counts["error"] + counts["crashed"],
        "stopped_count": counts["stopped"],
        "created_count": counts["created"],
        "stopping_count": counts["stopping"],
        "stopping_hard_count": 0,
    }


def project_environment_variables(index: int) -> dict[str, dict[str, Any]]:
    """The project's variables as name -> {value, secret}; secret values are never sent."""
    return {
        "DATASET_VERSION": {"value": f"v{index % 5 + 1}", "secret": False},
        "API_KEY": {"value": None, "secret": True},
    }


def make_project_detail(
    index: int, base_url: str, *, filled_counts: bool = False, executions: int | None = None
) -> dict[str, Any]:
    """Project number `index` as `GET /api/v0/projects/{id}/` answers it.

    The list entry's fields plus what the detail object in Valohai's docs adds. Like that
    published sample, the per-project counters are null unless `filled_counts` is set; the
    numbers are in `execution_summary` either way.
    """
    project = make_project(index, base_url, executions=executions)
    summary = _execution_summary(index, project["execution_count"])
    if not filled_counts:
        project.update(dict.fromkeys(DETAIL_NULL_FIELDS))
    owner = project["owner"]["username"]
    # The published sample has an empty repository URL; projects set up with a repository
    # have one (the emulator's guess at its form).
    repository_url = "" if index % 3 == 2 else f"https://github.com/{owner}/{project['name']}.git"
    store = store_or_environment_id("store", index % 2) if index % 4 != 3 else None
    project.update(
        {
            "execution_summary": summary,
            "repository": {"ref": "master, main" if index % 2 else "main", "url": repository_url},
            "environment_variables": project_environment_variables(index),
            "default_environment": (
                store_or_environment_id("environment", index % 3) if index % 2 else None
            ),
            "default_store": store,
            "upload_store_id": store,
        }
    )
    return project


def relative_links(record: dict[str, Any], base_url: str) -> dict[str, Any]:
    """`record` with `url` and every `urls` entry (those it has) relative to the host
    (`/p/demo/x/`), as a server that builds links without knowing its own address may send
    them."""

    def relative(link: Any) -> Any:
        return link.removeprefix(base_url) if isinstance(link, str) else link

    relinked = dict(record)
    if "url" in record:
        relinked["url"] = relative(record["url"])
    urls = record.get("urls")
    if isinstance(urls, dict):
        relinked["urls"] = {k: relative(v) for k, v in urls.items()}
    return relinked


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


def project_as_served(
    project: dict[str, Any], base_url: str, *, relative_urls: bool, legacy_data: bool
) -> dict[str, Any]:
    """A generated project (list entry or detail) in the shape the modes ask for: links
    relative to the host (`relative_urls`), older data's owner id and links (`legacy_data`)."""
    if relative_urls:
        project = relative_links(project, base_url)
    return legacy_shape(project) if legacy_data else project
