"""Trino's access rules on the stack's Trino: an analyst (any user but the service user)
reads the event tables and others, and cannot write, drop or alter anything."""

from typing import Any

import pytest

from questlog.settings import Settings
from questlog.stack.probes import QueryFailed, trino_query
from tests.helpers import unique


def test_an_analyst_reads_and_cannot_write_drop_or_alter(stack: Settings, trino: Any) -> None:
    def analyst(sql: str) -> list[list[object]]:
        return trino_query(stack.host, stack.trino.port, sql, timeout=60, user="analyst")

    table = f"hive.default.{unique('analysed')}"
    trino(f"CREATE TABLE {table} AS SELECT * FROM (VALUES (1), (2)) t(n)")  # the service user
    try:
        assert analyst(f"SELECT sum(n) FROM {table}") == [[3]]
        assert analyst("SELECT count(*) FROM iceberg.default.guild_joins")[0][0] is not None
        for statement in (
            f"INSERT INTO {table} VALUES (3)",
            f"DELETE FROM {table}",
            f"ALTER TABLE {table} ADD COLUMN extra varchar",
            f"DROP TABLE {table}",
            f"CREATE TABLE {table}_copy AS SELECT * FROM {table}",
            "DROP TABLE iceberg.default.guild_joins",
        ):
            with pytest.raises(QueryFailed, match="Access Denied"):
                analyst(statement)
        assert trino(f"SELECT sum(n) FROM {table}") == [[3]], "nothing changed"
    finally:
        trino(f"DROP TABLE {table}")
