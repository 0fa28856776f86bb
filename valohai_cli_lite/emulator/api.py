"""The emulated endpoints: what the API answers to one request, apart from any HTTP plumbing."""

from __future__ import annotations

import functools
import json
from typing import Any
from urllib.parse import parse_qs

from valohai_cli_lite.client.hosts import API_PREFIX
from valohai_cli_lite.emulator.config import EmulatorConfig, RecordedRequest
from valohai_cli_lite.emulator.data import (
    LOGIN_REFUSAL_MESSAGES,
    find_project_index,
    legacy_shape,
    make_project,
    make_project_detail,
    relative_links,
)
from valohai_cli_lite.emulator.pagination import paginate
from valohai_cli_lite.emulator.replies import (
    Reply,
    encode_json,
    json_reply,
    method_not_allowed,
    not_found,
)

# --- projects ------------------------------------------------------------------------------


# Generating a project costs ~10 us and encoding it as much again; a benchmark listing 100,000
# projects 8 pages at a time would otherwise measure the emulator's CPU as much as the
# client's. So each generated project is kept as the JSON text the list sends (~700 bytes;
# the cap holds 100,000 of them for one base URL and shape, ~90 MB), and a page is those
# texts joined.
@functools.lru_cache(maxsize=131_072)
def _encoded_project(index: int, base_url: str, relative_urls: bool, legacy_data: bool) -> bytes:
    project = make_project(index, base_url)
    return encode_json(_shape(project, base_url, relative_urls, legacy_data))


def encoded_listed_project(config: EmulatorConfig, index: int, base_url: str) -> bytes:
    """Entry `index` of the project list as JSON: generated ones first, then `extra_projects`."""
    generated = max(config.projects, 0)
    if index >= generated:
        return encode_json(config.extra_projects[index - generated])
    return _encoded_project(index, base_url, config.relative_urls, config.legacy_data)


def _shape(
    project: dict[str, Any], base_url: str, relative_urls: bool, legacy_data: bool
) -> dict[str, Any]:
    """A generated project in the shape the config asks for (relative links, older data)."""
    if relative_urls:
        project = relative_links(project, base_url)
    return legacy_shape(project) if legacy_data else project


def project_detail(config: EmulatorConfig, raw_id: str, base_url: str) -> Any | None:
    """What `GET projects/{raw_id}/` answers, or None when there is no such project."""
    index = find_project_index(raw_id, max(config.projects, 0))
    if index is not None:
        filled = config.detail_counts == "filled"
        detail = make_project_detail(index, base_url, filled_counts=filled)
        return _shape(detail, base_url, config.relative_urls, config.legacy_data)
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
        # The page with the entries' indices as its results, then the entries' JSON spliced
        # in: the same bytes as encoding the whole page, at a fraction of the cost.
        page = paginate(
            config, config.project_count, lambda index: index, link_base, request.path,
            request.query,
        )  # fmt: skip
        indices: list[int] = page["results"]
        head = encode_json({**page, "results": []})
        assert head.endswith(b"[]}"), "results must be the envelope's last key"
        entries = b",".join(encoded_listed_project(config, index, base_url) for index in indices)
        return Reply(200, head[:-2] + entries + b"]}")
    detail = project_detail(config, project_ref, base_url)
    return not_found() if detail is None else json_reply(200, detail)


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


def _field_error(message: str, code: str) -> list[dict[str, str]]:
    return [{"message": message, "code": code}]


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
    if parts and parts[0] == "projects" and len(parts) <= 2:
        project_ref = parts[1] if len(parts) == 2 else None
        return projects(request, config, project_ref, base_url, link_base)
    return not_found()
