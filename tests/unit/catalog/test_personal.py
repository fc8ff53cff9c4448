"""Personal data as the catalog marks it: hashed to a keyed token or dropped, in records and
in dead letters; marks the catalog cannot honour are refused when it loads."""

import json
from pathlib import Path
from typing import Any

import pytest
from questlog_catalog import EVENTS_DIR, CatalogError, load_catalog, read_event_type
from questlog_catalog.personal import PersonalData

SIGN_UP = {
    "event_type": "sign_up",
    "user_id": "player-1",
    "email": "ada@example.com",
    "phone": "+44 20 7946 0958",
    "platform": "pc",
}


def test_a_hashed_field_keeps_a_keyed_token_and_a_dropped_one_is_gone() -> None:
    catalog = load_catalog()
    marked = catalog["sign_up"].personal
    personal = PersonalData("a secret", catalog)
    kept = personal.protect(SIGN_UP, marked)
    assert "phone" not in kept and kept["platform"] == "pc" and kept["user_id"] == "player-1"
    assert len(kept["email"]) == 64 and "ada" not in kept["email"]
    assert personal.protect(SIGN_UP, marked)["email"] == kept["email"], "the same token"
    assert personal.protect({**SIGN_UP, "email": "bob@example.com"}, marked) != kept
    other_key = PersonalData("another secret", catalog).protect(SIGN_UP, marked)
    assert other_key["email"] != kept["email"]
    assert SIGN_UP["email"] == "ada@example.com", "the event given is left as it was"
    assert "email" not in PersonalData("", catalog).protect(SIGN_UP, marked), "no key: dropped"


def test_dead_letters_are_protected_by_their_type_or_by_every_type_when_unknown() -> None:
    catalog = load_catalog()
    personal = PersonalData("a secret", catalog)
    for raw in (
        {**SIGN_UP, "platform": "fridge"},  # invalid, of a known type
        {**SIGN_UP, "event_type": "sign_in"},  # of no known type
        {**SIGN_UP, "event_type": ["sign_up"]},  # not even a type name
    ):
        kept = personal.protect_raw(raw, catalog)
        assert "ada@example.com" not in json.dumps(kept) and "phone" not in kept
    assert personal.protect_raw([SIGN_UP["email"]], catalog) == [SIGN_UP["email"]]


@pytest.mark.parametrize(
    ("marks", "message"),
    [
        ({"email": "encrypt"}, "neither 'hash' nor 'drop'"),
        ({"user_id": "drop"}, "can only be hashed"),
        ({"address": "drop"}, "neither user_id nor one of the type's properties"),
        ({"age": "hash"}, "only strings can be hashed"),
    ],
)
def test_marks_the_catalog_cannot_honour_are_refused(
    tmp_path: Path, marks: dict[str, str], message: str
) -> None:
    schema: dict[str, Any] = json.loads((EVENTS_DIR / "sign_up.v1.json").read_text())
    schema["properties"]["age"] = {"type": "integer"}
    schema["x-questlog-personal"] = marks
    path = tmp_path / "sign_up.v1.json"
    path.write_text(json.dumps(schema))
    with pytest.raises(CatalogError, match=message):
        read_event_type(path)


def test_a_catalog_that_hashes_user_id_needs_a_key(tmp_path: Path) -> None:
    schema: dict[str, Any] = json.loads((EVENTS_DIR / "sign_up.v1.json").read_text())
    schema["x-questlog-personal"]["user_id"] = "hash"
    (tmp_path / "sign_up.v1.json").write_text(json.dumps(schema))
    catalog = load_catalog(tmp_path)
    with pytest.raises(ValueError, match="QUESTLOG__PERSONAL_DATA_KEY"):
        PersonalData("", catalog)
    kept = PersonalData("a secret", catalog).protect(SIGN_UP, catalog["sign_up"].personal)
    assert len(kept["user_id"]) == 64
