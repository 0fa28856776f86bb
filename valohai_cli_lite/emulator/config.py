"""What the emulator is told to do (EmulatorConfig) and what it saw (RecordedRequest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from valohai_cli_lite.emulator.data import EmulatedUser, default_users

# "null": the detail's per-project counters are null, as in the sample in Valohai's docs;
# "filled": they carry the same numbers as the list entry.
DetailCounts = Literal["null", "filled"]
# "drf": Django REST Framework's {"count", "next", "previous", "results"} pages;
# "bare": {"results": [...every entry...]}, as a client's test double answers.
Envelope = Literal["drf", "bare"]

# Which of the two real execution shapes to serve: "older" (valohai-cli's fixtures: 15 keys,
# `outputs`, no creator), "2025" (44 keys, the full environment, creator_id/creator_name), or
# "mixed": both in one listing, alternating by counter, as a client must cope with.
ExecutionShape = Literal["older", "2025", "mixed"]

DETAIL_COUNTS_CHOICES: tuple[DetailCounts, ...] = ("null", "filled")
EXECUTION_SHAPE_CHOICES: tuple[ExecutionShape, ...] = ("older", "2025", "mixed")
ENVELOPE_CHOICES: tuple[Envelope, ...] = ("drf", "bare")
# Statuses that get-token may answer a 2FA/SSO refusal with; the real one is not known.
REFUSAL_STATUS_CHOICES = (400, 401, 403)


@dataclass
class EmulatorConfig:
    """How the emulator behaves. Read on every request, so tests may change it mid-run."""

    token: str = "emulator-token"  # noqa: S105 - the emulator's documented default
    projects: int = 25
    # How many executions every project has (its `execution_count` says so too); None: each
    # project has its own number, as its `execution_count` says.
    executions: int | None = None
    execution_shape: ExecutionShape = "mixed"
    # The page size when a request gives no `limit`; also the cap on `limit` unless
    # `max_limit` is set, as on a server that refuses to hand out everything at once.
    page_size: int = 100
    max_limit: int | None = None
    latency_ms: int = 0
    # Like an API gateway that allows this many requests in flight per client (per client
    # address): one more, arriving while that many are being served, is answered at once with
    # 429 and Retry-After: 1, without waiting out `latency_ms`. None: no limit.
    max_in_flight: int | None = None
    host: str = "127.0.0.1"
    port: int = 0
    users: list[EmulatedUser] = field(default_factory=default_users)
    # Whose profile `users/me` returns: the configured token belongs to this user.
    token_user: str = "demo"  # noqa: S105 - a user name, not a secret
    # Status codes to answer the next requests with, one popped per request before anything
    # else is looked at: 502/503/504 answer with HTML as a load balancer does, 429 with
    # Retry-After, other codes with a DRF-style JSON body, and 0 answers normally.
    # Two more faults may be queued the same way: "truncate" answers 200 with the JSON body cut
    # in half, "hang" never answers (until the emulator stops or HANG_SECONDS pass).
    fail_next: list[int | str] = field(default_factory=list)
    # Rewrite `next` links to point at this origin (e.g. "http://127.0.0.2:9"), as a hostile
    # or misconfigured server might: a careful client must not send its token there.
    foreign_next: str | None = None
    # Build `next`/`previous` with another name for this same server (127.0.0.1 <-> localhost,
    # same port), as a self-hosted install behind a proxy does when it gets its own host wrong.
    next_origin_alias: bool = False
    # Every list's envelope, and whether `limit`/`offset` are ignored (one page holding every
    # entry, `count` the total, `next`/`previous` null), as in the docs' sample response.
    envelope: Envelope = "drf"
    ignore_paging: bool = False
    # Ignore the execution list's project/status/creator/ordering filters as minihai does:
    # every request gets the first project's executions, newest first.
    ignore_filters: bool = False
    # What `GET projects/{id}/` puts in the per-project counters; see DetailCounts.
    detail_counts: DetailCounts = "null"
    # Serve generated projects (also those nested in executions) as older data has them:
    # `owner` a bare integer id, a relative `url`, empty `urls` (valohai-cli's test fixtures,
    # Valohai's minihai mock).
    legacy_data: bool = False
    # Serve `url` and `urls.*` relative to the host (`/p/demo/project-0001/`), as minihai's
    # `url` is, in projects, executions (every link in them) and environments; with
    # legacy_data, a project's `urls` stays empty.
    relative_urls: bool = False
    # The status get-token answers `{"code": "has_2fa" | "has_external_identity"}` with.
    refusal_status: int = 400
    # Serve HTTPS with this certificate chain and key (PEM files; the key may be in the
    # certificate file). Read at start().
    tls_cert: str | None = None
    tls_key: str | None = None
    # Hand-written projects served after the generated ones (duplicate names, hostile text...),
    # exactly as given in the list and as their own detail, whatever the modes above say.
    extra_projects: list[dict[str, Any]] = field(default_factory=list)
    verbose: bool = False
    # Keep every request in Emulator.requests (tests read them); off for the command line.
    record_requests: bool = True

    @property
    def project_count(self) -> int:
        return max(self.projects, 0) + len(self.extra_projects)

    @property
    def limit_cap(self) -> int:
        return self.page_size if self.max_limit is None else self.max_limit


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # keys lowercased
    body: bytes
