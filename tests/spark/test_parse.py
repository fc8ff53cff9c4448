"""Parsing Kafka records into typed table rows and dead letters (local Spark, no stack)."""

import json
import random
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.testing import assertDataFrameEqual
from questlog_catalog import EVENTS_DIR, load_catalog
from questlog_catalog.records import RequestContext, build_record
from questlog_ingest.game import ROUTES
from questlog_spark.parse import (
    LATE,
    REASON,
    TABLE,
    EventParser,
    dead_letter_rows,
    deduplicated,
    with_dedup_key,
)
from questlog_spark.schemas import DEAD_LETTER_TABLE, PARTITION_COLUMN, event_columns

CATALOG = load_catalog()
RECEIVED = datetime(2026, 11, 25, 3, 0, 0, 123000, tzinfo=UTC)
CONTEXT = RequestContext(RECEIVED, "game.example", "ab/2.3")


def kafka_records(spark: SparkSession, values: list[str]) -> DataFrame:
    rows = [
        ("events", 0, i, RECEIVED.replace(tzinfo=None), v.encode()) for i, v in enumerate(values)
    ]
    schema = "topic string, partition int, offset long, timestamp timestamp, value binary"
    return with_dedup_key(spark.createDataFrame(rows, schema))


def record(event_type: str, **fields: Any) -> dict[str, Any]:
    """What the ingest API publishes for a valid event of ``event_type``."""
    attributes = next(r.attributes for r in ROUTES if r.event_type == event_type)
    raw = {"event_type": event_type, "user_id": "player-1", **attributes(random.Random(1))}
    return {**build_record(raw, CATALOG, CONTEXT), **fields}


def parse(spark: SparkSession, values: list[str], lateness: str = "1 hour") -> DataFrame:
    return EventParser(CATALOG, lateness).parse(kafka_records(spark, values))


@pytest.mark.parametrize("event_type", sorted({r.event_type for r in ROUTES}))
def test_a_valid_event_lands_typed_in_its_table(spark: SparkSession, event_type: str) -> None:
    sent = record(event_type)
    parsed = parse(spark, [json.dumps(sent)])
    (row,) = parsed.select(TABLE, REASON).collect()
    assert (row[TABLE], row[REASON]) == (CATALOG[event_type].table, None)

    columns = event_columns(CATALOG[event_type])
    timestamps = {"occurred_at", "received_at"}
    expected = {
        name: RECEIVED.replace(tzinfo=None) if name in timestamps else sent[name]
        for name in columns.fieldNames()
    }
    expected[PARTITION_COLUMN] = date(2026, 11, 25)
    rows = EventParser(CATALOG, "1 hour").table_rows(parsed, CATALOG[event_type].table)
    assertDataFrameEqual(rows, [Row(**expected)])
    assert dead_letter_rows(parsed).count() == 0


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not json", "value is not a JSON object"),
        ("[1, 2]", "value is not a JSON object"),
        ('{"user_id": "u"}', "event_type: missing"),
        (
            '{"event_type": "buy_dragon", "user_id": "u"}',
            "event_type: unknown event type buy_dragon",
        ),
        (
            json.dumps(record("purchase_sword", sword_cost="cheap")),
            "sword_cost: expected bigint, got cheap",
        ),
        (
            json.dumps(record("purchase_sword", sword_cost=2.5)),
            "sword_cost: expected bigint, got 2.5",
        ),
        (
            json.dumps(record("join_guild", occurred_at="yesterday")),
            "occurred_at: expected timestamp, got yesterday",
        ),
        (json.dumps(record("join_guild", guild=None)), "guild: missing"),
        (
            json.dumps({k: v for k, v in record("enrol_pilot").items() if k != "event_id"}),
            "event_id: missing",
        ),
    ],
)
def test_a_bad_record_is_a_dead_letter_with_its_reason(
    spark: SparkSession, value: str, reason: str
) -> None:
    parsed = parse(spark, [value])
    assert [row[TABLE] for row in parsed.select(TABLE).collect()] == [DEAD_LETTER_TABLE]
    (letter,) = dead_letter_rows(parsed).collect()
    assert letter["reason"] == reason
    assert (letter["value"], letter["offset"], letter["topic"]) == (value, 0, "events")
    assert letter[PARTITION_COLUMN] == date(2026, 11, 25)


def test_a_late_event_lands_in_the_date_it_happened(spark: SparkSession) -> None:
    values = [
        json.dumps(record("declare_war", event_id="old", occurred_at="2026-11-20T10:00:00Z")),
        json.dumps(record("declare_war", event_id="recent", occurred_at="2026-11-25T02:30:00Z")),
    ]
    parsed = parse(spark, values, lateness="1 hour")
    wars = EventParser(CATALOG, "1 hour").table_rows(parsed, CATALOG["declare_war"].table)
    rows = {r["event_id"]: r for r in wars.collect()}
    assert rows["old"][PARTITION_COLUMN] == date(2026, 11, 20)
    assert rows["recent"][PARTITION_COLUMN] == date(2026, 11, 25)
    assert sorted(parsed.where(LATE).select("offset").collect()) == [Row(offset=0)]


def test_repeated_event_ids_are_dropped_across_batches_and_records_without_one_are_kept(
    spark: SparkSession, tmp_path: Path
) -> None:
    sword, peace = (json.dumps(record(t, event_id=t)) for t in ("purchase_sword", "declare_peace"))
    first = kafka_records(spark, [sword, sword, "not json", "not json"])
    first.write.parquet(str(tmp_path / "in" / "1"))

    def run_batch() -> list[str]:
        kept: list[str] = []
        source = spark.readStream.schema(first.schema).parquet(str(tmp_path / "in" / "*"))
        query = (
            deduplicated(source, "10 minutes")
            .writeStream.foreachBatch(
                lambda batch, _: kept.extend(row["dedup_key"] for row in batch.collect())
            )
            .option("checkpointLocation", str(tmp_path / "checkpoint"))
            .trigger(availableNow=True)
            .start()
        )
        query.awaitTermination()
        return sorted(kept)

    assert run_batch() == ["events:0:2", "events:0:3", "purchase_sword"]
    # A later batch: the sword is a repeat of the first batch's, the peace is new.
    kafka_records(spark, [sword, peace]).write.parquet(str(tmp_path / "in" / "2"))
    assert run_batch() == ["declare_peace"]


def test_a_type_added_to_the_catalog_gets_parsed_with_no_other_change(
    spark: SparkSession, tmp_path: Path
) -> None:
    shutil.copytree(EVENTS_DIR, tmp_path, dirs_exist_ok=True)
    (tmp_path / "tame_dragon.v1.json").write_text(
        json.dumps(
            {
                "title": "tame_dragon",
                "x-questlog-table": "dragon_tamings",
                "x-questlog-version": 1,
                "type": "object",
                "properties": {"dragon": {"type": "string"}, "heads": {"type": "integer"}},
                "required": ["dragon"],
            }
        )
    )
    catalog = load_catalog(tmp_path)
    sent = {**record("declare_peace"), "event_type": "tame_dragon", "dragon": "Smaug", "heads": 3}
    parser = EventParser(catalog, "1 hour")
    parsed = parser.parse(kafka_records(spark, [json.dumps(sent)]))
    (row,) = parser.table_rows(parsed, "dragon_tamings").collect()
    assert (row["dragon"], row["heads"], row["user_id"]) == ("Smaug", 3, "player-1")
