"""``questlog forget USER`` on the stack: the user's rows go from every event table and the
dead letters (Iceberg row-level deletes, while the stream goes on), others' rows stay, and
the erasure is in the audit table, which does not name the user."""

import json
import subprocess
import sys

import httpx

from questlog.settings import Settings
from questlog.traffic import key_headers
from tests.helpers import Trino, erasures_of, eventually, forget_events, publish, unique


def test_forget_erases_a_users_rows_everywhere_and_records_it(
    stack: Settings, trino: Trino
) -> None:
    user, other = unique("forgotten"), unique("remembered")
    events = forget_events(user, other)
    response = httpx.post(
        f"{stack.api.url}/v1/events", json={"events": events}, headers=key_headers()
    )
    assert response.status_code == 202, response.text
    # A record the stream cannot parse (no event_id): a dead letter, with the user in it.
    publish(stack.kafka.bootstrap, "events", [(user, json.dumps({"user_id": user}))])
    rows = {
        "guild_joins": f"SELECT count(*) FROM iceberg.default.guild_joins WHERE user_id = '{user}'",
        "sword_purchases": f"SELECT count(*) FROM iceberg.default.sword_purchases "
        f"WHERE user_id = '{user}'",
        "dead_letters": "SELECT count(*) FROM iceberg.default.dead_letters "
        f"WHERE json_extract_scalar(value, '$.user_id') = '{user}'",
    }
    for sql in rows.values():
        eventually(trino, sql, [[1]])

    done = subprocess.run(
        [sys.executable, "-m", "questlog.cli", "forget", user],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "erased 3 rows of the user" in done.stdout, done.stdout
    for sql in rows.values():
        assert trino(sql) == [[0]], sql
    kept = f"SELECT count(*) FROM iceberg.default.guild_joins WHERE user_id = '{other}'"
    assert trino(kept) == [[1]]
    assert trino(erasures_of(user)) == [
        ["dead_letters", 1],
        ["guild_joins", 1],
        ["sword_purchases", 1],
    ]
    assert trino(
        f"SELECT count(*) FROM iceberg.default.erasures WHERE subject_sha256 = '{user}'"
    ) == [[0]]
