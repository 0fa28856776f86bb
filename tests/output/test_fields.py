"""kinds/fields.py, unit: parsing --fields, dotted paths, selecting and checking fields,
the text of a cell."""

from __future__ import annotations

import pytest

from valohai_cli_lite.errors import UsageError
from valohai_cli_lite.kinds.fields import (
    cell_text,
    get_path,
    parse_fields,
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


def test_select_fields_keeps_nesting() -> None:
    assert select_fields(OBJ, ["id", "owner.username"]) == {"id": "x", "owner": {"username": "me"}}
    assert select_fields(OBJ, ["owner", "owner.id"]) == {"owner": OBJ["owner"]}
    assert select_fields(OBJ, ["owner.id", "owner"]) == {"owner": OBJ["owner"]}
    assert select_fields({}, ["urls.display"]) == {"urls": {"display": None}}
    # A path below a field chosen whole adds nothing to it, and the data stays as it came.
    assert select_fields(OBJ, ["owner", "owner.email"]) == {"owner": {"id": 1, "username": "me"}}
    assert OBJ["owner"] == {"id": 1, "username": "me"}


def test_fields_are_checked_against_the_known_ones_and_what_is_below_them() -> None:
    known = ["id", "name", "owner", "owner.username", "execution_summary"]
    validate_fields(["id", "owner.username", "owner.email", "execution_summary.error_count"],
                    known)  # fmt: skip
    with pytest.raises(UsageError, match="unknown field: owners"):
        validate_fields(["owners"], known)  # not below `owner`: no dot
    with pytest.raises(UsageError) as info:
        validate_fields(["nme", "id", "bogus"], known)
    assert info.value.message == "unknown fields: nme, bogus; did you mean name?"
    assert info.value.hint is not None and "owner.username" in info.value.hint
    with pytest.raises(UsageError, match=r"unknown field: ownr\.username; did you mean"):
        validate_fields(["ownr.username"], known)


def test_cell_text() -> None:
    assert cell_text(None) == ""
    assert cell_text(True) == "true"
    assert cell_text(3) == "3"
    assert cell_text({"a": [1, "ü"]}) == '{"a":[1,"ü"]}'
