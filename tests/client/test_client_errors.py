"""client/errors.py and hints.py, unit: answers become typed errors; advice is added above."""

from __future__ import annotations

import httpx
import pytest
import respx
from conftest import TEST_TOKEN, project_pages

from valohai_cli_lite.client import ClientSettings, ValohaiClient
from valohai_cli_lite.client.errors import (
    error_code_from_body,
    error_message_from_body,
    parse_retry_after,
)
from valohai_cli_lite.errors import ApiError, AuthError, NetworkError, PermissionDenied, VhLiteError
from valohai_cli_lite.hints import explain

HOST = "https://valohai.test"
PROJECTS = f"{HOST}/api/v0/projects/"
NO_WAIT = ClientSettings(sleep=lambda _seconds: None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"detail": "Invalid token."}, "Invalid token."),
        ({"non_field_errors": ["Bad creds."]}, "Bad creds."),
        ({"non_field_errors": [{"message": "Bad creds.", "code": "x"}]}, "Bad creds."),
        ({"username": [{"message": "Required.", "code": "required"}]}, "username: Required."),
        ({"code": "has_2fa", "message": "Use a token."}, "Use a token."),
        ("just text", None),
    ],
)
def test_error_message_from_body(body: object, message: str | None) -> None:
    assert error_message_from_body(body) == message


def test_error_code_from_body() -> None:
    assert error_code_from_body({"code": "has_2fa"}) == "has_2fa"
    assert error_code_from_body({"non_field_errors": [{"code": "has_external_identity"}]}) == (
        "has_external_identity"
    )
    assert error_code_from_body({"detail": "x"}) is None


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00", now=1445412470.0) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@respx.mock
@pytest.mark.parametrize(
    ("response", "error", "text", "hint"),
    [
        (httpx.Response(401, json={"detail": "Invalid token."}), AuthError, "401 Unauthorized",
         "log in again"),
        (httpx.Response(403, json={"detail": "Nope."}), PermissionDenied,
         "permission denied: Nope. \\(403\\)", None),
        (httpx.Response(403, json={"detail": "Authentication credentials were not provided."}),
         AuthError, "credentials were not provided", None),
        (httpx.Response(404, json={"detail": "Not found."}), ApiError, "404 Not Found",
         "check the host URL, including any path prefix"),
        (httpx.Response(502, html="<h1>Bad</h1>"), ApiError, "502 Bad Gateway",
         "the server or a proxy in front of it failed; try again later"),
        (httpx.Response(500, html="<h1>Oops</h1>"), ApiError, "500 Internal Server Error",
         "the server or a proxy in front of it failed; try again later"),
        (httpx.Response(429, json={}), ApiError, "429",
         "the server is rate-limiting; try again later"),
        (httpx.Response(200, text="{trunc"), ApiError, "not valid JSON",
         "is the host a Valohai installation?"),
        (httpx.Response(200, json={"results": "nope"}), ApiError, "not a paginated list", None),
    ],
)  # fmt: skip
def test_error_mapping_and_hints(
    response: httpx.Response, error: type[VhLiteError], text: str, hint: str | None
) -> None:
    respx.get(PROJECTS).mock(return_value=response)
    with ValohaiClient(HOST, TEST_TOKEN, settings=NO_WAIT) as client:
        with pytest.raises(error, match=text) as info:
            list(project_pages(client))
    assert "<h1>" not in str(info.value)
    assert info.value.hint is None  # the client states facts; advice is added above it
    explain(info.value, rejected_hint="log in again")
    assert info.value.hint == hint


def test_hints_for_network_errors_and_existing_hints() -> None:
    timed_out = explain(NetworkError("x did not answer", timed_out=True))
    assert timed_out.hint == "check the host and your network, or raise --timeout"
    assert explain(NetworkError("refused")).hint == "check the host URL and your network connection"
    waited = explain(ApiError("429", status=429, retry_after=12))
    assert waited.hint == "the server asks to wait 12 s before trying again"
    assert explain(ApiError("x", status=404, hint="kept")).hint == "kept"
    assert explain(VhLiteError("other")).hint is None
