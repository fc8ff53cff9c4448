"""The peer ``make bench`` measures the stream against, Apache Iceberg's Kafka Connect sink
(``bench.sink``), lands a small backlog whole and typed, so that the comparison cannot
measure a sink that lands nothing, or strings where the stream lands dates."""

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from questlog_spark.tables import ensure_tables

from bench import spark as bench_spark
from bench.backlog import fill_topic
from bench.peer import TABLES, Engine, Target, land
from bench.sink import install_sink
from questlog.settings import Settings

EVENTS = 300


def test_the_kafka_connect_sink_lands_a_backlog_in_the_typed_tables(
    stack: Settings,
    spark: SparkSession,
    trino: Callable[[str], list[list[Any]]],
    tmp_path: Path,
) -> None:
    install_sink(stack)
    topic = f"test.sink.{uuid.uuid4().hex[:8]}"
    expected = fill_topic(stack, topic, EVENTS)
    target = Target(f"sink_{uuid.uuid4().hex[:10]}", tmp_path / "lake")
    ensure_tables(spark, target.settings, say=lambda _: None)
    try:
        sink = Engine(stack, "sink", topic, target, commit_seconds=2)
        # land() stops unless every table holds its type's count, no more and no less.
        landing = land(stack, sink, expected, 180)
        assert landing.rows == EVENTS and landing.cpu_seconds > 0
        # What Trino reads: each type's rows, its event_date the UTC day it occurred on.
        counted = {
            kind: trino(
                f"SELECT count(*), count_if(event_date = CAST(occurred_at AS date)) "
                f"FROM iceberg.{target.database}.{table}"
            )[0]
            for kind, table in TABLES.items()
        }
        assert counted == {kind: [expected[kind]] * 2 for kind in TABLES}
        swords = trino(
            f"SELECT count(*) FROM iceberg.{target.database}.sword_purchases "
            "WHERE sword_cost > 0 AND occurred_at > TIMESTAMP '2026-01-01 00:00 UTC'"
        )
        assert swords == [[expected["purchase_sword"]]]
    finally:
        bench_spark.drop_tables(spark, target.database)
