import json
from pathlib import Path
from typing import Any

import pytest
from questlog_catalog import (
    ENVELOPE_FIELDS,
    EVENTS_DIR,
    CatalogError,
    load_catalog,
    read_event_type,
)

SWORD = {
    "event_type": "purchase_sword",
    "user_id": "u",
    "sword_type": "katana",
    "sword_cost": 3,
    "strength": 1.5,
}


def test_every_type_names_its_own_table() -> None:
    catalog = load_catalog()
    assert catalog["purchase_sword"].table == "sword_purchases"
    assert catalog["join_guild"].table == "guild_joins"
    assert len({t.table for t in catalog.values()}) == len(catalog)
    assert all(not set(t.properties) & ENVELOPE_FIELDS for t in catalog.values())


@pytest.mark.parametrize(
    "event",
    [
        SWORD,
        {**SWORD, "sword_cost": -1},
        {**SWORD, "sword_cost": 2.0},
        {**SWORD, "sword_cost": True},
        {**SWORD, "strength": "1"},
        {**SWORD, "extra": 1},
        {**SWORD, "event_type": "join_guild"},
        {k: v for k, v in SWORD.items() if k != "user_id"},
        {**SWORD, "user_id": ""},
        {**SWORD, "occurred_at": "not a date"},  # formats are the caller's to check
        {**SWORD, "event_id": "x" * 129},
    ],
)
def test_fast_and_precise_validators_agree(event: dict[str, Any]) -> None:
    sword = load_catalog()["purchase_sword"]
    assert sword.is_valid(event) == sword.validator.is_valid(event)


def test_a_new_version_supersedes_the_old(tmp_path: Path) -> None:
    schema = json.loads((EVENTS_DIR / "join_guild.v1.json").read_text())
    (tmp_path / "join_guild.v1.json").write_text(json.dumps(schema))
    schema |= {
        "x-questlog-version": 2,
        "properties": {**schema["properties"], "rank": {"type": "integer"}},
    }
    (tmp_path / "join_guild.v2.json").write_text(json.dumps(schema))
    catalog = load_catalog(tmp_path)
    assert catalog["join_guild"].version == 2
    assert "rank" in catalog["join_guild"].properties


def test_a_file_whose_name_and_title_disagree_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "join_guild.v1.json"
    path.write_text(
        json.dumps(
            {"title": "other", "x-questlog-version": 1, "x-questlog-table": "t", "properties": {}}
        )
    )
    with pytest.raises(CatalogError, match="must match the file name"):
        read_event_type(path)
