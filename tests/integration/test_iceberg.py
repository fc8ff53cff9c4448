"""The lake's Iceberg tables in the stack's Hive Metastore: Spark writes them without a
metastore lock, concurrently, and Trino reads them through its `iceberg` catalog and,
redirected, its `hive` catalog, at any snapshot, and never writes them."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from questlog import report
from questlog.settings import Settings
from questlog.stack.probes import QueryFailed
from tests.helpers import eventually, publish, unique
from tests.iceberg import (
    COMMITS,
    ROWS,
    WRITERS,
    assert_every_commit_landed_once,
    commit_concurrently,
)


@pytest.fixture
def table(stack: Settings, spark: SparkSession) -> Iterator[str]:
    name = unique("iceberg")
    yield name
    spark.sql(f"DROP TABLE IF EXISTS default.{name} PURGE")


def test_two_writers_commit_to_one_table_and_no_commit_is_lost_or_doubled(
    spark: SparkSession, table: str
) -> None:
    commit_concurrently(spark, f"default.{table}")
    assert_every_commit_landed_once(spark, f"default.{table}")
    (properties,) = spark.sql(f"SHOW TBLPROPERTIES default.{table} ('format-version')").collect()
    assert properties.value == "2"


def test_trino_reads_every_snapshot_through_both_catalogs(
    spark: SparkSession, table: str, trino: Any
) -> None:
    commit_concurrently(spark, f"default.{table}")
    total = len(WRITERS) * COMMITS * ROWS
    assert trino(f"SELECT count(*) FROM iceberg.default.{table}") == [[total]]
    # The seeds' `presto --catalog hive --schema default` queries keep working.
    assert trino(f"SELECT count(*) FROM hive.default.{table}") == [[total]]
    snapshots = trino(
        f'SELECT snapshot_id, committed_at FROM iceberg.default."{table}$snapshots" '
        "ORDER BY committed_at"
    )
    assert len(snapshots) == len(WRITERS) * COMMITS
    (first, first_at), (third, _) = snapshots[0], snapshots[2]
    at = f"TIMESTAMP '{first_at:%Y-%m-%d %H:%M:%S.%f} UTC'"
    for catalog in ("iceberg", "hive"):
        rows = f"SELECT count(*) FROM {catalog}.default.{table}"
        assert trino(f"{rows} FOR VERSION AS OF {first}") == [[ROWS]]
        assert trino(f"{rows} FOR VERSION AS OF {third}") == [[3 * ROWS]]
        assert trino(f"{rows} FOR TIMESTAMP AS OF {at}") == [[ROWS]]


@pytest.mark.parametrize("catalog", ["iceberg", "hive"])
def test_trino_refuses_to_write_or_drop_them(
    spark: SparkSession, table: str, trino: Any, catalog: str
) -> None:
    spark.sql(f"CREATE TABLE default.{table} (writer STRING, commit INT, n BIGINT) USING iceberg")
    spark.sql(f"INSERT INTO default.{table} VALUES ('spark', 0, 1)")
    name = f"{catalog}.default.{table}"
    for statement in (
        f"INSERT INTO {name} VALUES ('trino', 0, 1)",
        f"DELETE FROM {name}",
        f"ALTER TABLE {name} ADD COLUMN extra varchar",
        f"DROP TABLE {name}",
    ):
        with pytest.raises(QueryFailed, match="Access Denied"):
            trino(statement)
    assert trino(f"SELECT writer FROM {name}") == [["spark"]]


def test_the_report_prints_the_snapshot_of_each_table_it_read(
    stack: Settings, trino: Any, tmp_path: Path
) -> None:
    # A sword the stream lands first, so the table has a snapshot on a new stack too.
    marker, now = unique("snapshot"), datetime.now(UTC).isoformat()
    sword = {"event_id": marker, "user_id": marker, "occurred_at": now, "received_at": now}
    sword |= {
        "event_type": "purchase_sword",
        "sword_type": "katana",
        "sword_cost": 1,
        "strength": 1.0,
    }
    publish(stack.kafka.bootstrap, "events", [(marker, json.dumps(sword))])
    eventually(
        trino,
        f"SELECT count(*) FROM iceberg.default.sword_purchases WHERE user_id = '{marker}'",
        [[1]],
    )
    latest = (
        'SELECT snapshot_id, committed_at FROM iceberg.default."sword_purchases$snapshots" '
        "ORDER BY committed_at DESC LIMIT 1"
    )
    ((_, before),) = trino(latest)
    lines: list[str] = []
    report.run(stack.model_copy(update={"report_dir": tmp_path}), lines.append)
    ((_, after),) = trino(latest)
    (printed,) = [line for line in lines if line.strip().startswith("sword_purchases:")]
    snapshot = int(printed.split("snapshot ")[1].split(",")[0])
    ((committed,),) = trino(
        'SELECT committed_at FROM iceberg.default."sword_purchases$snapshots" '
        f"WHERE snapshot_id = {snapshot}"
    )
    assert before <= committed <= after  # the table's current snapshot when the report ran
    shown = {
        line.strip().split(":")[0] for line in lines if " snapshot " in line or "empty" in line
    }
    assert shown >= set(report.asked_tables())
