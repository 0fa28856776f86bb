"""The emulated endpoints: what the API answers to one request, apart from any HTTP plumbing."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qs, unquote

from valohai_cli_lite.client.hosts import API_PREFIX
from valohai_cli_lite.emulator.config import EmulatorConfig, ExecutionShape, RecordedRequest
from valohai_cli_lite.emulator.data import (
    FINISHED_STATUSES,
    LOGIN_REFUSAL_MESSAGES,
    UNFINISHED_STATUSES,
    execution_counters,
    execution_total,
    find_project_index,
    make_project,
    make_project_detail,
    project_as_served,
)
from valohai_cli_lite.emulator.executions import (
    ENVIRONMENT_COUNT,
    find_environment,
    find_execution,
    make_environment,
    make_execution,
)
from valohai_cli_lite.emulator.pagination import paginate
from valohai_cli_lite.emulator.replies import (
    Reply,
    encode_json,
    json_reply,
    method_not_allowed,
    not_found,
)

# --- pages ---------------------------------------------------------------------------------


def _page_of_encoded(
    request: RecordedRequest,
    config: EmulatorConfig,
    count: int,
    encoded_entry: Callable[[int], bytes],
    link_base: str,
) -> Reply:
    """The list page `request` asks for, entry i being the JSON text encoded_entry(i).

    The page is made with the entries' positions as its results, then their JSON is spliced
    in: the same bytes as encoding the whole page, at a fraction of the cost when the entries'
    texts are cached.
    """
    page = paginate(
        config, count, lambda position: position, link_base, request.path, request.query
    )
    positions: list[int] = page["results"]
    head = encode_json({**page, "results": []})
    assert head.endswith(b"[]}"), "results must be the envelope's last key"
    entries = b",".join(encoded_entry(position) for position in positions)
    return Reply(200, head[:-2] + entries + b"]}")


def _field_error(message: str, code: str) -> list[dict[str, str]]:
    return [{"message": message, "code": code}]


# --- projects ------------------------------------------------------------------------------


# Generating a project costs ~10 us and encoding it as much again; a benchmark listing 100,000
# projects 8 pages at a time would otherwise measure the emulator's CPU as much as the
# client's. So each generated project is kept as the JSON text the list sends (~700 bytes;
# the cap holds 100,000 of them for one base URL and shape, ~90 MB), and a page is those
# texts joined.
@functools.lru_cache(maxsize=131_072)
def _encoded_project(
    index: int, base_url: str, relative_urls: bool, legacy_data: bool, executions: int | None
) -> bytes:
    project = make_project(index, base_url, executions=executions)
    served = project_as_served(
        project, base_url, relative_urls=relative_urls, legacy_data=legacy_data
    )
    return encode_json(served)


def encoded_listed_project(config: EmulatorConfig, index: int, base_url: str) -> bytes:
    """Entry `index` of the project list as JSON: generated ones first, then `extra_projects`."""
    generated = max(config.projects, 0)
    if index >= generated:
        return encode_json(config.extra_projects[index - generated])
    return _encoded_project(
        index, base_url, config.relative_urls, config.legacy_data, config.executions
    )


def project_detail(config: EmulatorConfig, raw_id: str, base_url: str) -> Any | None:
    """What `GET projects/{raw_id}/` answers, or None when there is no such project."""
    index = find_project_index(raw_id, max(config.projects, 0))
    if index is not None:
        filled = config.detail_counts == "filled"
        detail = make_project_detail(
            index, base_url, filled_counts=filled, executions=config.executions
        )
        return project_as_served(
            detail, base_url, relative_urls=config.relative_urls, legacy_data=config.legacy_data
        )
    # Tests may slip entries that are not objects into the list; they have no detail.
    return next(
        (p for p in config.extra_projects if isinstance(p, dict) and p.get("id") == raw_id),
        None,
    )


def projects(
    request: RecordedRequest,
    config: EmulatorConfig,
    project_ref: str | None,
    base_url: str,
    link_base: str,
) -> Reply:
    """The project list, or with `project_ref` (the id in the path) one project."""
    if request.method != "GET":
        return method_not_allowed(request.method, "GET")
    if project_ref is None:
        return _page_of_encoded(
            request,
            config,
            config.project_count,
            lambda index: encoded_listed_project(config, index, base_url),
            link_base,
        )
    detail = project_detail(config, project_ref, base_url)
    return not_found() if detail is None else json_reply(200, detail)


# --- executions ----------------------------------------------------------------------------

# `status=incomplete` is what the official client sends for "any unfinished status".
_STATUS_GROUPS = {
    **{status: frozenset({status}) for status in UNFINISHED_STATUSES + FINISHED_STATUSES},
    "incomplete": frozenset(UNFINISHED_STATUSES),
}
# Orderings the list honours; they agree, as a higher counter is always a later ctime.
_ORDERINGS = {"counter": False, "ctime": False, "-counter": True, "-ctime": True}


# As with projects, a page is cached JSON texts joined: building and encoding an execution
# costs several times what a project does (a 2025-shape one carries its whole environment,
# ~2.7 kB of JSON), and a client walking 100,000 executions should measure itself, not the
# emulator. The cap holds 100,000 of them, ~250 MB, only if a client asks for that many.
@functools.lru_cache(maxsize=131_072)
def _encoded_execution(
    index: int,
    counter: int,
    base_url: str,
    executions: int | None,
    shape: ExecutionShape,
    relative_urls: bool,
    legacy_data: bool,
) -> bytes:
    execution = make_execution(
        index,
        counter,
        base_url,
        executions=executions,
        shape=shape,
        relative_urls=relative_urls,
        legacy_data=legacy_data,
    )
    return encode_json(execution)


def _encoded_listed_execution(
    config: EmulatorConfig, index: int, counter: int, base_url: str
) -> bytes:
    return _encoded_execution(
        index,
        counter,
        base_url,
        config.executions,
        config.execution_shape,
        config.relative_urls,
        config.legacy_data,
    )


def _listed_values(query: dict[str, list[str]], key: str) -> list[str]:
    # A blank value (`status=`) filters nothing, as in django-filter.
    return [value for value in query.get(key, []) if value.strip()]


def _execution_selection(
    config: EmulatorConfig, query: dict[str, list[str]]
) -> tuple[int, Sequence[int]] | Reply:
    """The project index and the counters, in order, that `executions/?query` lists; or the
    400 for a query the list refuses."""
    generated = max(config.projects, 0)
    if config.ignore_filters:
        # As minihai: filters are not looked at, and one project's executions are served.
        total = execution_total(0, config.executions) if generated else 0
        return 0, execution_counters(0, total)
    project_refs = _listed_values(query, "project")
    if not project_refs:
        return json_reply(400, {"project": _field_error("This field is required.", "required")})
    statuses: set[str] = set()
    for value in _listed_values(query, "status"):
        if value not in _STATUS_GROUPS:
            message = f"Select a valid choice. {value} is not one of the available choices."
            return json_reply(400, {"status": _field_error(message, "invalid_choice")})
        statuses |= _STATUS_GROUPS[value]
    creators = _listed_values(query, "creator")
    # DRF's OrderingFilter skips fields it does not know; the first known one decides.
    terms = ",".join(query.get("ordering", [])).split(",")
    newest_first = next((_ORDERINGS[t.strip()] for t in terms if t.strip() in _ORDERINGS), True)
    index = find_project_index(project_refs[-1], generated)
    if index is None:  # an unknown project, or a hand-written one: nothing ran there
        return 0, ()
    counters = execution_counters(
        index,
        execution_total(index, config.executions),
        statuses=frozenset(statuses) if statuses else None,
        creator_ids=frozenset(creators) if creators else None,
        newest_first=newest_first,
    )
    return index, counters


def _find_execution_ref(config: EmulatorConfig, ref: str) -> tuple[int, int] | None:
    """(project index, counter) for `{project_id}:{counter}` (or `:latest`) or an execution id."""
    generated = max(config.projects, 0)
    if ":" not in ref:
        return find_execution(ref, generated, config.executions)
    project_ref, _, counter_text = ref.partition(":")
    index = find_project_index(project_ref, generated)
    if index is None:
        return None
    total = execution_total(index, config.executions)
    if counter_text == "latest":
        counter = total
    elif counter_text.isascii() and counter_text.isdigit():
        counter = int(counter_text)
    else:
        return None
    return (index, counter) if 1 <= counter <= total else None


def executions(
    request: RecordedRequest,
    config: EmulatorConfig,
    execution_ref: str | None,
    base_url: str,
    link_base: str,
) -> Reply:
    """The execution list (filtered as the query says), or with `execution_ref` one execution."""
    if request.method != "GET":
        return method_not_allowed(request.method, "GET")
    if execution_ref is None:
        selection = _execution_selection(config, request.query)
        if isinstance(selection, Reply):
            return selection
        index, counters = selection
        return _page_of_encoded(
            request,
            config,
            len(counters),
            lambda position: _encoded_listed_execution(config, index, counters[position], base_url),
            link_base,
        )
    found = _find_execution_ref(config, unquote(execution_ref))
    if found is None:
        return not_found()
    index, counter = found
    return Reply(200, _encoded_listed_execution(config, index, counter, base_url))


# --- environments --------------------------------------------------------------------------


def environments(
    request: RecordedRequest,
    config: EmulatorConfig,
    environment_ref: str | None,
    base_url: str,
    link_base: str,
) -> Reply:
    """The environment list, or with `environment_ref` (an id) one environment."""
    if request.method != "GET":
        return method_not_allowed(request.method, "GET")
    links = "" if config.relative_urls else base_url
    # `include=unfinished_job_count` is how the official client asks for the queue lengths.
    included = {
        part.strip() for value in request.query.get("include", []) for part in value.split(",")
    }
    with_queue = "unfinished_job_count" in included

    def encoded(number: int) -> bytes:
        return encode_json(make_environment(number, links, unfinished_job_count=with_queue))

    if environment_ref is None:
        return _page_of_encoded(request, config, ENVIRONMENT_COUNT, encoded, link_base)
    number = find_environment(environment_ref)
    return not_found() if number is None else Reply(200, encoded(number))


# --- accounts ------------------------------------------------------------------------------


def _authentication_failure(request: RecordedRequest, config: EmulatorConfig) -> Reply | None:
    """None when the request carries the configured token; otherwise DRF's 401 answer."""
    # DRF's TokenAuthentication: the keyword is case-insensitive, the token is not.
    parts = request.headers.get("authorization", "").split()
    detail: str | None = None
    if not parts or parts[0].lower() != "token":
        detail = "Authentication credentials were not provided."
    elif len(parts) == 1:
        detail = "Invalid token header. No credentials provided."
    elif len(parts) > 2:
        detail = "Invalid token header. Token string should not contain spaces."
    elif parts[1] != config.token:
        detail = "Invalid token."
    if detail is None:
        return None
    return json_reply(401, {"detail": detail}, {"WWW-Authenticate": "Token"})


def _parse_login_form(request: RecordedRequest) -> dict[str, Any] | Reply:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not request.body:
        return {}
    if content_type == "application/json":
        try:
            data = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return json_reply(400, {"detail": f"JSON parse error - {exc}"})
        if not isinstance(data, dict):
            kind = type(data).__name__
            message = f"Invalid data. Expected a dictionary, but got {kind}."
            return json_reply(400, {"non_field_errors": _field_error(message, "invalid")})
        return data
    if content_type == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return json_reply(400, {"detail": "Form data is not valid UTF-8."})
        return {key: values[-1] for key, values in form.items()}
    return json_reply(415, {"detail": f'Unsupported media type "{content_type}" in request.'})


def get_token(request: RecordedRequest, config: EmulatorConfig) -> Reply:
    if request.method != "POST":
        return method_not_allowed(request.method, "POST, OPTIONS")
    data = _parse_login_form(request)
    if isinstance(data, Reply):
        return data

    values: dict[str, str] = {}
    errors: dict[str, list[dict[str, str]]] = {}
    for name in ("username", "password"):
        raw = data.get(name)
        if raw is None:
            errors[name] = _field_error("This field is required.", "required")
        elif isinstance(raw, bool) or not isinstance(raw, str | int | float):
            errors[name] = _field_error("Not a valid string.", "invalid")
        else:
            # DRF trims the username but takes the password exactly as sent.
            text = str(raw).strip() if name == "username" else str(raw)
            if not text:
                errors[name] = _field_error("This field may not be blank.", "blank")
            values[name] = text
    if errors:
        return json_reply(400, errors)

    user = next((u for u in config.users if u.username == values["username"]), None)
    if user is not None and user.login_refusal is not None:
        message = LOGIN_REFUSAL_MESSAGES.get(user.login_refusal, "Use an API token instead.")
        status = config.refusal_status
        # DRF only sends a 401 with WWW-Authenticate (without one it turns 401 into 403).
        headers = {"WWW-Authenticate": "Token"} if status == 401 else None
        return json_reply(status, {"code": user.login_refusal, "message": message}, headers)
    if user is None or user.password is None or user.password != values["password"]:
        error = _field_error("Unable to log in with provided credentials.", "authorization")
        return json_reply(400, {"non_field_errors": error})
    return json_reply(200, {"token": config.token})


def users_me(request: RecordedRequest, config: EmulatorConfig) -> Reply:
    if request.method != "GET":
        return method_not_allowed(request.method, "GET")
    user = next((u for u in config.users if u.username == config.token_user), None)
    if user is None:
        return not_found()
    return json_reply(200, user.profile())


# --- routing -------------------------------------------------------------------------------


def answer(
    request: RecordedRequest, config: EmulatorConfig, base_url: str, link_base: str
) -> Reply:
    """The reply to one request.

    `base_url` is scheme and host as the client addressed us, for the URLs inside objects;
    `link_base` the same or another name for this server, for `next`/`previous`.
    """
    if not request.path.startswith(API_PREFIX):
        return not_found()
    # The real server wants a trailing slash; accepting both costs nothing here.
    parts = [part for part in request.path[len(API_PREFIX) :].split("/") if part]

    if parts == ["get-token"]:
        return get_token(request, config)

    failure = _authentication_failure(request, config)
    if failure is not None:
        return failure

    if parts == ["users", "me"]:
        return users_me(request, config)
    if parts and parts[0] in _COLLECTIONS and len(parts) <= 2:
        ref = parts[1] if len(parts) == 2 else None
        return _COLLECTIONS[parts[0]](request, config, ref, base_url, link_base)
    return not_found()


# A collection's endpoint: (request, config, ref or None for the list, base_url, link_base).
Collection = Callable[[RecordedRequest, EmulatorConfig, str | None, str, str], Reply]
# What `GET /api/v0/{name}/` and `/api/v0/{name}/{ref}/` answer.
_COLLECTIONS: dict[str, Collection] = {
    "projects": projects,
    "executions": executions,
    "environments": environments,
}
