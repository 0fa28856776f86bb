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
    raise_for_status,
)
from valohai_cli_lite.errors import (
    EXIT_AUTH,
    EXIT_ERROR,
    ApiError,
    AuthError,
    NetworkError,
    PermissionDenied,
    VhLiteError,
)
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
        ({"non_field_errors": ["A.", {"message": "B.", "code": "x"}]}, "A.; B."),
        ({"username": ["This field is required."]}, "username: This field is required."),
        ({"username": ["This field is required."], "password": ["Too short.", "Too common."]},
         "username: This field is required.; password: Too short.; password: Too common."),
        ({"code": "invalid", "detail": "Bad request."}, "Bad request."),
        # FastAPI (minihai): an error object in `detail`, and validation errors naming the
        # field where it was, without FastAPI's own "body"/"query" steps.
        ({"detail": {"error": "Invalid Minihai password"}}, "Invalid Minihai password"),
        ({"detail": [
            {"loc": ["body", "body", "commit"], "msg": "field required",
             "type": "value_error.missing"},
            {"loc": ["body", "body", "project"], "msg": "field required",
             "type": "value_error.missing"},
        ]}, "commit: field required; project: field required"),
        ({"detail": [{"loc": ["query", "limit"], "msg": "not an integer"}]},
         "limit: not an integer"),
        ({"detail": [{"loc": ["body"], "msg": "invalid JSON"}]}, "invalid JSON"),
        ({"detail": "Same.", "extra": "ignored"}, "Same."),
        ("just text", None),
        (42, None),
        (None, None),
        ({}, None),
        ({"detail": ""}, None),
        ([], None),
    ],
)  # fmt: skip
def test_error_message_from_body(body: object, message: str | None) -> None:
    assert error_message_from_body(body) == message


def test_the_servers_words_are_one_sanitised_line() -> None:
    hostile = {"detail": "first line\nsecond\r\nthird\tcolumn \x1b[2J\x1b]0;title\x07 end"}
    words = error_message_from_body(hostile)
    assert words == "first line second third column ?[2J?]0;title? end"
    nested = {"name": ["bad\nname"], "detail_list": [{"message": "x\x00y"}]}
    assert error_message_from_body(nested) == "name: bad name; detail_list: x?y"


def test_the_servers_words_are_cut_at_300_characters() -> None:
    words = error_message_from_body({"detail": "word " * 200})
    assert words is not None
    assert len(words) == 300 and words.endswith("word…")
    assert words.startswith("word word")
    exactly = "x" * 300
    assert error_message_from_body({"detail": exactly}) == exactly  # not cut: it fits
    longer = error_message_from_body({"detail": "y" * 301})
    assert longer == "y" * 299 + "…"
    many = {f"field{i}": ["This field is required."] for i in range(40)}
    listed = error_message_from_body(many)
    assert listed is not None and len(listed) == 300 and listed.endswith("…")
    assert "\n" not in listed


def _answer(status: int, body: object) -> httpx.Response:
    request = httpx.Request("GET", PROJECTS)
    return httpx.Response(status, json=body, request=request)


@pytest.mark.parametrize(
    "words",
    [
        "You do not have permission to perform this action.",
        "Only the owner may delete a project.",
    ],
)
def test_a_403_for_a_valid_token_is_permission_denied(words: str) -> None:
    with pytest.raises(PermissionDenied) as info:
        raise_for_status(_answer(403, {"detail": words}))
    error = info.value
    assert error.exit_code == EXIT_ERROR
    assert error.message == f"permission denied: {words} (403)"
    assert error.words == words and error.status == 403
    assert not isinstance(error, AuthError)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, {"detail": "Authentication credentials were not provided."}),
        (403, {"detail": "Invalid token."}),
        (403, {"detail": "Invalid signature."}),
        (401, {"detail": "Invalid token."}),
        (401, {"detail": "You do not have permission to perform this action."}),
        (401, {}),
        (401, None),
    ],
)
def test_a_401_or_a_403_about_credentials_is_an_auth_error(status: int, body: object) -> None:
    with pytest.raises(AuthError) as info:
        raise_for_status(_answer(status, body))
    assert info.value.exit_code == EXIT_AUTH
    assert info.value.status == status
    assert info.value.message.startswith(f"the server answered {status} ")


def test_raise_for_status_states_the_servers_words_and_code() -> None:
    raise_for_status(_answer(200, {"detail": "fine"}))  # a success raises nothing
    with pytest.raises(ApiError) as info:
        raise_for_status(_answer(400, {"non_field_errors": [{"message": "Nope.", "code": "c1"}]}))
    assert info.value.message == "the server answered 400 Bad Request: Nope."
    assert info.value.code == "c1" and info.value.words == "Nope."
    with pytest.raises(ApiError) as info:
        raise_for_status(_answer(422, {"detail": [{"loc": ["body", "commit"],
                                                   "msg": "field required"}]}))  # fmt: skip
    assert info.value.message == (
        "the server answered 422 Unprocessable Entity: commit: field required"
    )
    with pytest.raises(ApiError) as info:
        raise_for_status(_answer(404, {"detail": "Not found."}))
    assert info.value.message == (
        "the server answered 404 Not Found: Not found. (GET /api/v0/projects/)"
    )
    html = httpx.Response(500, html="<h1>\nOops</h1>", request=httpx.Request("GET", PROJECTS))
    with pytest.raises(ApiError) as info:
        raise_for_status(html)
    assert info.value.message == "the server answered 500 Internal Server Error"
    assert info.value.words is None


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
