"""The emulated endpoints: what the API answers to one request, apart from any HTTP plumbing."""

from __future__ import annotations

import functools
import json
from typing import Any
from urllib.parse import parse_qs

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
from valohai_cli_lite.emulator.replies import Reply, json_reply, method_not_allowed, not_found
from valohai_cli_lite.hosts import API_PREFIX

# --- projects ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=20_000)
def _generated_project(index: int, base_url: str) -> dict[str, Any]:
    # Generating a project costs ~40 us; a benchmark of 10,000 projects at 8 requests at a
    # time would otherwise measure the emulator's CPU as much as the client's. Only the
    # serialiser reads these dicts, so sharing them is safe.
    return make_project(index, base_url)


def listed_project(config: EmulatorConfig, index: int, base_url: str) -> Any:
    """Entry `index` of the project list: generated ones first, then `extra_projects`."""
    generated = max(config.projects, 0)
    if index >= generated:
        return config.extra_projects[index - generated]
    return _shaped(config, _generated_project(index, base_url), base_url)


def _shaped(config: EmulatorConfig, project: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A generated project in the shape the config asks for (older data, relative links)."""
    if config.relative_urls:
        project = relative_links(project, base_url)
    return legacy_shape(project) if config.legacy_data else project


def project_detail(config: EmulatorConfig, raw_id: str, base_url: str) -> Any | None:
    """What `GET projects/{raw_id}/` answers, or None when there is no such project."""
    index = find_project_index(raw_id, max(config.projects, 0))
    if index is not None:
        filled = config.detail_counts == "filled"
        return _shaped(config, make_project_detail(index, base_url, filled_counts=filled), base_url)
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
        page = paginate(
            config,
            config.project_count,
            lambda index: listed_project(config, index, base_url),
            link_base,
            request.path,
            request.query,
        )
        return json_reply(200, page)
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
