"""The emulator's accounts: token checks, `users/me` and password login (`get-token`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulator_support import TOKEN, call, post_form, post_json, serving

from valohai_cli_lite.emulator.data import project_id
from valohai_cli_lite.emulator.server import Emulator


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with serving() as running:
        yield running


@pytest.mark.parametrize("path", ["users/me/", "projects/", f"projects/{project_id(0)}/"])
@pytest.mark.parametrize(
    ("token", "detail"),
    [
        (None, "Authentication credentials were not provided."),
        ("wrong-token", "Invalid token."),
    ],
)
def test_requests_without_the_token_are_401(
    emu: Emulator, path: str, token: str | None, detail: str
) -> None:
    answer = call(f"{emu.base_url}/api/v0/{path}", token=token)

    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == "Token"
    assert answer.json() == {"detail": detail}


def test_token_changes_take_effect_immediately(emu: Emulator) -> None:
    emu.config.token = "rotated"

    assert call(f"{emu.base_url}/api/v0/users/me/").status == 401
    assert call(f"{emu.base_url}/api/v0/users/me/", token="rotated").status == 200


def test_users_me(emu: Emulator) -> None:
    answer = call(f"{emu.base_url}/api/v0/users/me/")

    assert answer.status == 200
    assert answer.json() == {
        "id": 1337,
        "username": "demo",
        "email": "demo@example.com",
        "first_name": "Demo",
        "last_name": "User",
    }


def test_get_token_with_a_form(emu: Emulator) -> None:
    answer = post_form(emu.base_url, {"username": "demo", "password": "demo-password"})

    assert answer.status == 200
    assert answer.json() == {"token": TOKEN}


def test_get_token_with_json(emu: Emulator) -> None:
    answer = post_json(emu.base_url, {"username": "demo", "password": "demo-password"})

    assert answer.status == 200
    assert answer.json() == {"token": TOKEN}


@pytest.mark.parametrize(
    ("username", "code"), [("twofa", "has_2fa"), ("sso", "has_external_identity")]
)
def test_get_token_refuses_accounts_that_need_a_token(
    emu: Emulator, username: str, code: str
) -> None:
    answer = post_form(emu.base_url, {"username": username, "password": "anything"})

    assert answer.status == 400
    body = answer.json()
    assert body["code"] == code
    assert "token" in body["message"]


@pytest.mark.parametrize("status", [400, 401, 403])
@pytest.mark.parametrize("username", ["twofa", "sso"])
def test_refusal_status_sets_the_status_of_the_2fa_and_sso_answer(
    emu: Emulator, status: int, username: str
) -> None:
    emu.config.refusal_status = status

    answer = post_form(emu.base_url, {"username": username, "password": "anything"})

    assert answer.status == status
    assert answer.json()["code"] in ("has_2fa", "has_external_identity")
    # DRF never sends a 401 without saying how to authenticate.
    assert answer.headers.get("WWW-Authenticate") == ("Token" if status == 401 else None)
    # Other login failures keep their own status.
    wrong = post_form(emu.base_url, {"username": "demo", "password": "wrong"})
    assert wrong.status == 400


@pytest.mark.parametrize(
    "fields",
    [
        {"username": "demo", "password": "wrong"},
        {"username": "demo", "password": "demo-password "},
        {"username": "nobody", "password": "demo-password"},
    ],
)
def test_get_token_rejects_wrong_credentials(emu: Emulator, fields: dict[str, str]) -> None:
    answer = post_form(emu.base_url, fields)

    assert answer.status == 400
    assert answer.json() == {
        "non_field_errors": [
            {"message": "Unable to log in with provided credentials.", "code": "authorization"}
        ]
    }


def test_get_token_names_missing_and_blank_fields(emu: Emulator) -> None:
    missing = post_json(emu.base_url, {})
    blank = post_form(emu.base_url, {"username": "", "password": "x"})

    required = [{"message": "This field is required.", "code": "required"}]
    assert missing.status == 400
    assert missing.json() == {"username": required, "password": required}
    assert blank.status == 400
    assert blank.json() == {
        "username": [{"message": "This field may not be blank.", "code": "blank"}]
    }


def test_get_token_only_accepts_post(emu: Emulator) -> None:
    answer = call(f"{emu.base_url}/api/v0/get-token/", token=None)

    assert answer.status == 405
    assert answer.json() == {"detail": 'Method "GET" not allowed.'}
