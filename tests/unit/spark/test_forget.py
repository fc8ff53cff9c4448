"""Which rows ``questlog forget`` deletes: the user's id in each event table, its token where
the catalog hashes user_id (with the key, else it stops), and the dead letters' JSON."""

import json
from pathlib import Path

import pytest
from questlog_catalog import EVENTS_DIR, personal_token
from questlog_settings import SparkSettings
from questlog_spark.forget import DEAD_LETTER_USER, matches

LAKE = {"root": "file:///lake"}


def test_the_user_is_matched_in_every_table_and_the_dead_letters() -> None:
    found = matches("player-1", SparkSettings(lake=LAKE))
    assert found.pop("dead_letters") == (DEAD_LETTER_USER, "player-1")
    assert "guild_joins" in found and set(found.values()) == {("user_id", "player-1")}


def test_where_user_id_is_hashed_its_token_is_matched_with_the_key(tmp_path: Path) -> None:
    schema = json.loads((EVENTS_DIR / "sign_up.v1.json").read_text())
    schema["x-questlog-personal"]["user_id"] = "hash"
    (tmp_path / "sign_up.v1.json").write_text(json.dumps(schema))
    (tmp_path / "join_guild.v1.json").write_text((EVENTS_DIR / "join_guild.v1.json").read_text())
    with pytest.raises(SystemExit, match="sign_ups holds hashed user ids"):
        matches("player-1", SparkSettings(lake={**LAKE, "catalog_dir": tmp_path}))
    found = matches(
        "player-1", SparkSettings(personal_data_key="k", lake={**LAKE, "catalog_dir": tmp_path})
    )
    assert found["sign_ups"] == ("user_id", personal_token(b"k", "player-1"))
    assert found["guild_joins"] == ("user_id", "player-1")
