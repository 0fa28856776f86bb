from __future__ import annotations

import pytest

from valohai_cli_lite.errors import UsageError
from valohai_cli_lite.fields import (
    cell_text,
    get_path,
    parse_fields,
    paths_in,
    select_fields,
    validate_fields,
)

OBJ = {"id": "x", "owner": {"id": 1, "username": "me"}, "tags": ["a"], "urls": {}, "n": None}


def test_parse_fields() -> None:
    assert parse_fields("id, name,owner.username,id") == ["id", "name", "owner.username"]
    with pytest.raises(UsageError):
        parse_fields("id,,name")


def test_get_path() -> None:
    assert get_path(OBJ, "owner.username") == "me"
    assert get_path(OBJ, "owner.missing") is None
    assert get_path(OBJ, "id.deeper") is None
    assert get_path(None, "id") is None


def test_paths_in() -> None:
    assert set(paths_in(OBJ)) == {"id", "owner", "owner.id", "owner.username", "tags", "urls", "n"}


def test_select_fields_keeps_nesting() -> None:
    assert select_fields(OBJ, ["id", "owner.username"]) == {"id": "x", "owner": {"username": "me"}}
    assert select_fields(OBJ, ["owner", "owner.id"]) == {"owner": OBJ["owner"]}
    assert select_fields(OBJ, ["owner.id", "owner"]) == {"owner": OBJ["owner"]}
    assert select_fields({}, ["urls.display"]) == {"urls": {"display": None}}


def test_validate_fields_lists_valid_ones() -> None:
    validate_fields(["id", "owner.username", "extra"], ["id"], [OBJ, {"extra": 1}])
    with pytest.raises(UsageError) as info:
        validate_fields(["nope", "id"], ["id", "name"], [OBJ])
    assert "unknown field: nope" in info.value.message
    assert "owner.username" in info.value.message


def test_cell_text() -> None:
    assert cell_text(None) == ""
    assert cell_text(True) == "true"
    assert cell_text(3) == "3"
    assert cell_text({"a": [1, "ü"]}) == '{"a":[1,"ü"]}'
